//! Idle WebSockets: how much memory the server holds per open connection.
//!
//! The server runs in a child process (this same binary, in its hidden
//! idle-server mode), fresh for each column: its resident memory after N
//! WebSockets opened, less before, divided by N. The clients stay in this
//! process, so none of their memory counts. Kernel socket buffers are not
//! in RSS.

use std::process::Stdio;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use gateway::{BoxError, Bytes};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::{Measurement, Settings};
use crate::idle_server;
use crate::procfs;
use crate::target::Target;
use crate::timeouts::within;
use crate::ws_client;

/// Connections opened at once: enough to be quick, few enough not to
/// overflow the listen backlog.
const CONCURRENCY: usize = 64;

/// Fails with advice when `ulimit -n` cannot hold `n` connections (and a
/// margin for the rest of the process).
pub(crate) fn check_descriptors(n: usize) -> Result<(), BoxError> {
    let needed = n as u64 + 256;
    match procfs::open_files_limit() {
        Some(limit) if limit < needed => Err(format!(
            "{n} idle WebSockets need `ulimit -n` of at least {needed} in each of the two \
             processes; it is {limit}: raise it, or lower --idle"
        )
        .into()),
        _ => Ok(()),
    }
}

pub(super) async fn idle(target: Target, settings: &Settings) -> Result<Measurement, BoxError> {
    let n = settings.idle;
    // This process holds the clients' end of every connection.
    check_descriptors(n)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg(idle_server::FLAG)
        .arg(target.name())
        .arg((n + 256).to_string());
    if let Some(core) = settings.server_core {
        command.arg(core.id.to_string());
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true) // whatever goes wrong below, the child goes too
        .spawn()?;
    let result = measure(&mut child, target, n).await;
    // Closing its stdin tells the child to stop its server and exit.
    drop(child.stdin.take());
    match within(
        Duration::from_secs(30),
        "the idle server's exit",
        child.wait(),
    )
    .await
    {
        Ok(status) => {
            let status = status?;
            if result.is_ok() && !status.success() {
                return Err(format!("the idle server failed: {status}").into());
            }
        }
        Err(timed_out) => {
            let _ = child.kill().await;
            if result.is_ok() {
                return Err(timed_out.into());
            }
        }
    }
    result
}

async fn measure(child: &mut Child, target: Target, n: usize) -> Result<Measurement, BoxError> {
    let pid = child.id().ok_or("the idle server exited at once")?;
    let stdout = child.stdout.take().ok_or("the idle server has no stdout")?;
    let line = within(
        Duration::from_secs(30),
        "the idle server's start",
        BufReader::new(stdout).lines().next_line(),
    )
    .await??
    .ok_or("the idle server exited before it listened")?;
    let addr = match line.strip_prefix("listening ") {
        Some(addr) => addr.parse()?,
        None => return Err(format!("idle server: {line}").into()),
    };
    let rss =
        || procfs::rss_kib_of(pid).ok_or_else(|| format!("cannot read VmRSS of process {pid}"));
    // Let the server's start-up allocations settle first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss()?;

    let check = Bytes::from_static(b"idle check");
    let path = target.ws_path();
    // Each connection is read from the moment it is open, so that the
    // server's keepalive pings get their pongs, as from a live browser tab
    // (opening 100,000 takes longer than the server waits for a pong).
    let readers: Vec<JoinHandle<()>> = within(
        Duration::from_secs(30) + Duration::from_millis(5) * n as u32,
        "opening the idle WebSockets",
        futures_util::stream::iter(0..n)
            .map(|i| {
                let check = check.clone();
                async move {
                    let mut ws = ws_client::connect_idle(addr, path, i).await?;
                    // An echo proves the server's side is fully set up.
                    ws_client::verify_echo(&mut ws, &check).await?;
                    Ok::<_, BoxError>(tokio::spawn(async move {
                        while let Some(Ok(_)) = ws.next().await {}
                    }))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect(),
    )
    .await??;
    // Let the server finish setting up the last connections' tasks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss()?;
    let closed = readers.iter().filter(|r| r.is_finished()).count();
    for reader in &readers {
        reader.abort();
    }
    if closed > 0 {
        return Err(format!("{closed} of {n} idle WebSockets were closed by the server").into());
    }
    Ok(Measurement {
        ops: n as u64,
        kib_per_conn: Some(after.saturating_sub(before) as f64 / n as f64),
        server_rss_kib: Some(after),
        ..Measurement::default()
    })
}
