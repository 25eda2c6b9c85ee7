//! The hidden idle-server mode: the loadtest re-invoked as a child process
//! that runs one column's server, so that the idle-WebSocket workload can
//! read a fresh server process's memory, untouched by earlier workloads
//! (the allocator keeps what they freed, and would hand it to the next
//! server instead of asking the system for more).
//!
//! ```text
//! loadtest --idle-server TARGET ADDR MAX_CONNECTIONS [CPU]
//! ```
//!
//! It listens on `ADDR` with `SO_REUSEPORT`, so that several of these
//! processes can share one port when one process may not hold every
//! connection. It prints `listening ADDR` (or `error ...`), serves until
//! its stdin closes (at most 10 minutes), then stops the server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use core_affinity::CoreId;
use gateway::BoxError;

use crate::child;
use crate::server_thread::Listen;
use crate::target::Target;

pub(crate) const FLAG: &str = "--idle-server";

/// The longest the child serves if its parent never says to stop.
const SERVE_LIMIT: Duration = Duration::from_secs(600);

/// Runs the child; `args` are the ones after [`FLAG`].
pub(crate) fn main(args: &[String]) -> ExitCode {
    child::run(
        parse(args)
            .map(|(target, addr, max_connections, core)| run(target, addr, max_connections, core)),
    )
}

type Args = (Target, SocketAddr, usize, Option<CoreId>);

fn parse(args: &[String]) -> Result<Args, BoxError> {
    let usage = || format!("usage: loadtest {FLAG} TARGET ADDR MAX_CONNECTIONS [CPU]");
    let [target, addr, max_connections, rest @ ..] = args else {
        return Err(usage().into());
    };
    let target = Target::from_name(target).ok_or_else(usage)?;
    let core = match rest {
        [] => None,
        [core] => Some(CoreId { id: core.parse()? }),
        _ => return Err(usage().into()),
    };
    Ok((target, addr.parse()?, max_connections.parse()?, core))
}

async fn run(
    target: Target,
    addr: SocketAddr,
    max_connections: usize,
    core: Option<CoreId>,
) -> Result<(), BoxError> {
    crate::workloads::check_descriptors(max_connections)?;
    let server = target.start(core, max_connections, Listen::Shared(addr))?;
    child::say(format_args!("listening {}", server.addr()))?;
    child::until_told_to_finish(SERVE_LIMIT).await;
    server.stop().await;
    Ok(())
}
