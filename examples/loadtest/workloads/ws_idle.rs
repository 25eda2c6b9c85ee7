//! Idle WebSockets: how much memory the server holds per open connection.
//!
//! The server runs in a child process (this same binary, in its hidden
//! idle-server mode), fresh for each column: its resident memory after N
//! WebSockets opened and held, less before, divided by N. The clients run
//! in child processes of their own (the idle-client mode), so none of
//! their memory counts. Kernel socket buffers are not in RSS.
//!
//! Each connection takes a descriptor in a server process and in a client
//! process. When one process may not hold them all (`ulimit -n`), the run
//! is spread over several server processes sharing one port with
//! `SO_REUSEPORT`, as many client processes, and the figures are their sums.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use gateway::BoxError;

use super::{Measurement, Settings};
use crate::child::Child;
use crate::idle_client;
use crate::idle_server;
use crate::procfs;
use crate::target::Target;

/// Descriptors a process keeps for everything but the connections.
const RESERVE: usize = 256;

/// The most server processes (and client processes) a run spreads over.
const MAX_PROCESSES: usize = 32;

/// Fails with advice when `ulimit -n` cannot hold `n` connections (and a
/// margin for the rest of the process).
pub(crate) fn check_descriptors(n: usize) -> Result<(), BoxError> {
    let needed = (n + RESERVE) as u64;
    match procfs::open_files_limit() {
        Some(limit) if limit < needed => Err(format!(
            "{n} connections in one process need `ulimit -n` of at least {needed}; it is \
             {limit}: raise it, or lower --idle"
        )
        .into()),
        _ => Ok(()),
    }
}

/// How the connections are spread over processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// Server processes, and as many client processes.
    processes: usize,
    /// The connection limit each server is given.
    max_per_server: usize,
}

impl Plan {
    /// As few processes as `limit` (descriptors per process, if known)
    /// allows for `n` connections. The kernel's spread over the servers is
    /// uneven by a few percent, so each is planned three-quarters full.
    fn new(n: usize, limit: Option<u64>) -> Plan {
        let Some(limit) = limit else {
            return Plan {
                processes: 1,
                max_per_server: n + RESERVE,
            };
        };
        let room = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(RESERVE)
            .max(1);
        let planned = (room / 4 * 3).max(1);
        Plan {
            processes: n.div_ceil(planned).max(1),
            max_per_server: room,
        }
    }

    /// Each client process's share of `n`: (first connection, count).
    fn shares(self, n: usize) -> impl Iterator<Item = (usize, usize)> {
        let (each, extra) = (n / self.processes, n % self.processes);
        (0..self.processes).map(move |i| {
            let first = i * each + i.min(extra);
            (first, each + usize::from(i < extra))
        })
    }
}

pub(super) async fn idle(target: Target, settings: &Settings) -> Result<Measurement, BoxError> {
    let n = settings.idle;
    let limit = procfs::open_files_limit();
    let plan = Plan::new(n, limit);
    if plan.processes > MAX_PROCESSES {
        return Err(format!(
            "{n} idle WebSockets under `ulimit -n` {} would take {} server processes and as \
             many clients (at most {MAX_PROCESSES}): raise `ulimit -n`, or lower --idle",
            limit.unwrap_or(0),
            plan.processes
        )
        .into());
    }
    let mut servers = Vec::with_capacity(plan.processes);
    // The first server picks the port; the others join it.
    let mut addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    for _ in 0..plan.processes {
        let mut args = vec![
            idle_server::FLAG.to_owned(),
            target.name().to_owned(),
            addr.to_string(),
            plan.max_per_server.to_string(),
        ];
        if let Some(core) = settings.server_core {
            args.push(core.id.to_string());
        }
        let mut server = Child::spawn(&args)?;
        let listening = server
            .expect(
                "listening ",
                Duration::from_secs(30),
                "the idle server's start",
            )
            .await?;
        addr = listening.parse()?;
        servers.push(server);
    }
    let result = measure(&servers, target, addr, plan, settings).await;
    for server in &mut servers {
        server.finish();
    }
    for server in servers {
        let exited = server.wait("the idle server").await;
        if result.is_ok() {
            exited?;
        }
    }
    result
}

async fn measure(
    servers: &[Child],
    target: Target,
    addr: SocketAddr,
    plan: Plan,
    settings: &Settings,
) -> Result<Measurement, BoxError> {
    let n = settings.idle;
    let rss = || -> Result<u64, BoxError> {
        servers
            .iter()
            .map(|s| {
                procfs::rss_kib_of(s.pid())
                    .ok_or_else(|| format!("cannot read VmRSS of process {}", s.pid()).into())
            })
            .sum()
    };
    // Let the servers' start-up allocations settle first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss()?;

    let clients = plan
        .shares(n)
        .map(|(first, count)| {
            Child::spawn(&[
                idle_client::FLAG.to_owned(),
                addr.to_string(),
                target.ws_path().to_owned(),
                count.to_string(),
                first.to_string(),
            ])
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut clients = clients;
    // The clients open theirs at the same time; each has its own deadline
    // and says why it gave up.
    let open_limit = Duration::from_secs(60) + Duration::from_millis(5) * n as u32;
    for client in &mut clients {
        client
            .expect("open ", open_limit, "opening the idle WebSockets")
            .await?;
    }
    // Hold them for the workload's time (and let the servers finish setting
    // up the last connections' tasks).
    tokio::time::sleep(settings.window.max(Duration::from_millis(500))).await;
    let after = rss()?;
    let mut closed = 0;
    for client in &mut clients {
        client.finish();
    }
    for client in &mut clients {
        closed += client
            .expect(
                "closed ",
                Duration::from_secs(30),
                "the idle clients' count",
            )
            .await?
            .parse::<usize>()?;
    }
    for client in clients {
        client.wait("an idle client").await?;
    }
    if closed > 0 {
        return Err(format!("{closed} of {n} idle WebSockets were closed by the server").into());
    }
    Ok(Measurement {
        ops: n as u64,
        kib_per_conn: Some(after.saturating_sub(before) as f64 / n as f64),
        server_rss_kib: Some(after),
        server_processes: Some(plan.processes),
        ..Measurement::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_when_the_limit_allows() {
        let plan = Plan::new(2000, Some(20_000));
        assert_eq!(plan.processes, 1);
        assert_eq!(plan.max_per_server, 19_744);
        assert_eq!(plan.shares(2000).collect::<Vec<_>>(), [(0, 2000)]);
    }

    #[test]
    fn a_hundred_thousand_under_twenty_thousand_descriptors() {
        let plan = Plan::new(100_000, Some(20_000));
        assert_eq!(plan.processes, 7);
        let shares: Vec<_> = plan.shares(100_000).collect();
        assert_eq!(shares.iter().map(|s| s.1).sum::<usize>(), 100_000);
        // Contiguous, and each within a client's limit.
        for pair in shares.windows(2) {
            assert_eq!(pair[0].0 + pair[0].1, pair[1].0);
        }
        assert!(shares.iter().all(|s| s.1 + RESERVE <= 20_000));
    }

    #[test]
    fn no_limit_known_means_one_process() {
        let plan = Plan::new(5, None);
        assert_eq!(plan.processes, 1);
        assert_eq!(plan.max_per_server, 5 + RESERVE);
    }
}
