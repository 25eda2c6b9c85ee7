//! Bounds on every wait, so a broken server fails its workload with an
//! error line instead of hanging the run.

use std::fmt;
use std::future::Future;
use std::time::Duration;

/// The longest any single connect, request or echo may take.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A wait that ran out.
#[derive(Debug)]
pub(crate) struct TimedOut {
    what: &'static str,
    after: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} timed out after {:?}", self.what, self.after)
    }
}

impl std::error::Error for TimedOut {}

/// `fut`, or [`TimedOut`] naming `what` after `limit`.
pub(crate) async fn within<F: Future>(
    limit: Duration,
    what: &'static str,
    fut: F,
) -> Result<F::Output, TimedOut> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| TimedOut { what, after: limit })
}
