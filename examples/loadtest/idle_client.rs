//! The hidden idle-client mode: one share of the idle-WebSocket workload's
//! clients, in a child process of its own, so that each process stays
//! within its descriptor limit however many connections the run holds.
//!
//! ```text
//! loadtest --idle-client ADDR PATH COUNT FIRST
//! ```
//!
//! It opens `COUNT` WebSockets to `ADDR` (numbered from `FIRST`, which
//! spreads their source addresses), checks an echo on each, and keeps
//! reading every one, so that the server's keepalive pings get their pongs
//! as from a live browser tab. Then it prints `open COUNT` (or
//! `error ...`). When its stdin closes, it prints `closed K`, how many of
//! them the server closed meanwhile, and exits.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use gateway::{BoxError, Bytes};
use tokio::task::JoinHandle;

use crate::child;
use crate::timeouts::within;
use crate::ws_client;

pub(crate) const FLAG: &str = "--idle-client";

/// Connections opened at once: enough to be quick, few enough not to
/// overflow the listen backlog.
const CONCURRENCY: usize = 64;

/// The longest the child holds its connections if its parent never says
/// to stop.
const HOLD_LIMIT: Duration = Duration::from_secs(600);

/// Runs the child; `args` are the ones after [`FLAG`].
pub(crate) fn main(args: &[String]) -> ExitCode {
    child::run(
        parse(args)
            .map(|(addr, path, count, first)| async move { run(addr, &path, count, first).await }),
    )
}

fn parse(args: &[String]) -> Result<(SocketAddr, String, usize, usize), BoxError> {
    let [addr, path, count, first] = args else {
        return Err(format!("usage: loadtest {FLAG} ADDR PATH COUNT FIRST").into());
    };
    Ok((addr.parse()?, path.clone(), count.parse()?, first.parse()?))
}

async fn run(addr: SocketAddr, path: &str, count: usize, first: usize) -> Result<(), BoxError> {
    crate::workloads::check_descriptors(count)?;
    let check = Bytes::from_static(b"idle check");
    let readers: Vec<JoinHandle<()>> = within(
        Duration::from_secs(30) + Duration::from_millis(5) * count as u32,
        "opening the idle WebSockets",
        futures_util::stream::iter(first..first + count)
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
    child::say(format_args!("open {count}"))?;
    child::until_told_to_finish(HOLD_LIMIT).await;
    let closed = readers.iter().filter(|r| r.is_finished()).count();
    for reader in &readers {
        reader.abort();
    }
    child::say(format_args!("closed {closed}"))?;
    Ok(())
}
