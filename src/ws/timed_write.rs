//! The timeout on the connection's writes: a peer that takes nothing of a
//! write for the ping timeout is dead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio_tungstenite::tungstenite::error::Error as WsError;

use crate::rt::Deadline;

/// Why the connection's loop stopped; logged at debug level.
#[derive(Debug)]
pub(super) enum End {
    Closed,
    PeerDead,
    CloseTimeout,
    WriteFailed,
    ReadFailed,
}

/// Runs one write; a write that cannot finish within the ping timeout means
/// the peer stopped reading: the connection is dropped as dead.
///
/// The timer is armed only once the write has to wait (an
/// [`rt::Deadline`]): most writes finish on their first poll, and arming
/// one (reading the clock, reaching the runtime's timer) for every message
/// showed in profiles.
pub(super) fn timed<F>(limit: Duration, write: F) -> Timed<F>
where
    F: Future<Output = Result<(), WsError>>,
{
    Timed {
        write,
        limit,
        deadline: Deadline::default(),
    }
}

/// The future [`timed`] returns (a struct: an `async` block would hold the
/// write twice).
#[pin_project::pin_project]
#[must_use = "futures do nothing unless polled"]
pub(super) struct Timed<F> {
    #[pin]
    write: F,
    limit: Duration,
    /// Armed when the write first has to wait.
    deadline: Deadline,
}

impl<F> Future for Timed<F>
where
    F: Future<Output = Result<(), WsError>>,
{
    type Output = Result<(), End>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(outcome) = this.write.poll(cx) {
            return Poll::Ready(outcome.map_err(|e| {
                tracing::debug!(error = %e, "websocket write failed");
                End::WriteFailed
            }));
        }
        match Pin::new(this.deadline).poll_wait(*this.limit, cx) {
            Poll::Ready(()) => Poll::Ready(Err(End::PeerDead)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_past_the_limit_means_a_dead_peer() {
        let limit = Duration::from_secs(20);
        let started = Instant::now();
        let stuck = timed(limit, std::future::pending());
        assert!(matches!(stuck.await, Err(End::PeerDead)));
        assert_eq!(started.elapsed(), limit);

        assert!(matches!(timed(limit, async { Ok(()) }).await, Ok(())));
        let failed = timed(limit, async { Err(WsError::ConnectionClosed) });
        assert!(matches!(failed.await, Err(End::WriteFailed)));
    }
}
