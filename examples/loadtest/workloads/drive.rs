//! The measuring loop shared by the timed workloads: one task per
//! connection, each repeating its operation until the window closes.

use std::future::Future;
use std::time::{Duration, Instant};

use gateway::BoxError;
use tokio::task::JoinSet;

use super::{Measurement, Settings};
use crate::latency::Latencies;
use crate::server_thread::ServerThread;
use crate::timeouts::{within, IO_TIMEOUT};

/// The most operations one run may make, whatever the window: a bound on
/// the loop and on the memory its latency samples take.
const MAX_OPS: u64 = 20_000_000;

/// One worker's repeated operation (a request, an echo, a handshake).
pub(crate) trait Op: Send + 'static {
    /// Does it once; the payload bytes received.
    fn once(&mut self) -> impl Future<Output = Result<u64, BoxError>> + Send;
}

/// Runs every worker for the window, reading the server's and the client's
/// CPU time around it.
/// The first failure fails the run.
pub(crate) async fn drive<O: Op>(
    workers: Vec<O>,
    settings: &Settings,
    server: &ServerThread,
) -> Result<Measurement, BoxError> {
    let (window, client_tid) = (settings.window, settings.client_tid);
    // Counted mode: the count, not the window, ends the run (each
    // operation still has its timeout).
    let (cap, window) = match settings.ops {
        Some(ops) => (ops.min(MAX_OPS), Duration::from_secs(24 * 3600)),
        None => (MAX_OPS / workers.len().max(1) as u64, window),
    };
    let client_cpu = || {
        client_tid
            .and_then(crate::procfs::thread_cpu_time)
            .unwrap_or_default()
    };
    let cpu_before = (server.cpu_time(), client_cpu());
    let start = Instant::now();
    let deadline = start + window;
    let mut tasks = JoinSet::new();
    for mut worker in workers {
        tasks.spawn(async move {
            let mut latencies = Latencies::default();
            let (mut ops, mut bytes) = (0u64, 0u64);
            while ops < cap && Instant::now() < deadline {
                let t = Instant::now();
                bytes += within(IO_TIMEOUT, "operation", worker.once()).await??;
                latencies.record(t.elapsed());
                ops += 1;
            }
            Ok::<_, BoxError>((ops, bytes, latencies))
        });
    }
    let mut total = Measurement::default();
    let mut latencies = Latencies::default();
    // Every task is bounded by the deadline plus one operation's timeout.
    while let Some(joined) = tasks.join_next().await {
        let (ops, bytes, l) = joined??; // dropping `tasks` aborts the rest
        total.ops += ops;
        total.bytes += bytes;
        latencies.append(l);
    }
    total.elapsed = start.elapsed();
    total.server_cpu = server.cpu_time().saturating_sub(cpu_before.0);
    total.client_cpu = client_cpu().saturating_sub(cpu_before.1);
    total.p99 = latencies.percentile(99.0);
    Ok(total)
}
