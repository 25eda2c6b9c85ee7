//! HTTP/2 streams whose window the client keeps closed (spec 6.5).
//!
//! hyper sends a response body on an HTTP/2 stream only as far as the
//! client's flow-control window (and a send buffer) allows, and while it
//! waits for the window it does not poll the body. A client that never
//! opens a stream's window would hold that stream, its buffered data and
//! whatever the app holds for as long as the connection lives, and the
//! connection stays busy with its other streams or pings: the write
//! timeout on the socket never sees a write wait.
//!
//! hyper runs every stream as a task of the executor it was given; this
//! one runs each in a [`Watched`] future. The response body records in the
//! task's [`Progress`] when hyper takes a chunk from it and when hyper
//! comes back for the next one. A stream that has waited for the window,
//! a chunk taken and no poll since, for the write timeout is dropped:
//! hyper resets it (`RST_STREAM`, `CANCEL`), the app's body is dropped, and
//! the connection's other streams go on. Time the app takes to produce a
//! chunk never counts, as on HTTP/1.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::rt::Deadline;

tokio::task_local! {
    /// The progress of the stream whose task is being polled.
    static PROGRESS: Arc<Progress>;
}

/// Set while hyper holds a chunk and has not polled the body since.
const WAITING: u64 = 1 << 63;

/// What a stream's body reports to its task: chunks taken, and whether
/// hyper is waiting to send the last one.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Chunks taken, with [`WAITING`]. Only the stream's own task touches
    /// it, so ordering does not matter.
    state: AtomicU64,
}

impl Progress {
    /// The progress of the HTTP/2 stream this task runs; `None` outside one
    /// (HTTP/1, tests).
    pub(crate) fn current() -> Option<Arc<Progress>> {
        PROGRESS.try_with(Arc::clone).ok()
    }

    /// hyper polled the body: it is not waiting on the client (now).
    pub(crate) fn polled(&self) {
        self.state.fetch_and(!WAITING, Ordering::Relaxed);
    }

    /// hyper took a chunk; until it polls again, it is sending it.
    pub(crate) fn taken(&self) {
        let taken = self.state.load(Ordering::Relaxed) & !WAITING;
        self.state.store((taken + 1) | WAITING, Ordering::Relaxed);
    }

    /// Chunks taken so far, when hyper is waiting to send the last one.
    fn waiting(&self) -> Option<u64> {
        let state = self.state.load(Ordering::Relaxed);
        (state & WAITING != 0).then_some(state & !WAITING)
    }
}

/// The executor hyper's HTTP/2 connections spawn their streams on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamExecutor {
    /// The write timeout.
    limit: Duration,
}

impl StreamExecutor {
    pub(crate) fn new(limit: Duration) -> Self {
        StreamExecutor { limit }
    }
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        tokio::spawn(Watched {
            stream,
            progress: Arc::default(),
            limit: self.limit,
            armed_for: None,
            deadline: Deadline::default(),
        });
    }
}

/// A stream's task, ended early if its client takes nothing for the
/// write timeout.
#[pin_project::pin_project]
struct Watched<F> {
    #[pin]
    stream: F,
    progress: Arc<Progress>,
    limit: Duration,
    /// The chunk count the deadline was set for.
    armed_for: Option<u64>,
    /// Runs while the stream waits on its client.
    deadline: Deadline,
}

impl<F: Future<Output = ()>> Future for Watched<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let stream = this.stream;
        if PROGRESS
            .sync_scope(this.progress.clone(), || stream.poll(cx))
            .is_ready()
        {
            return Poll::Ready(());
        }
        let Some(taken) = this.progress.waiting() else {
            // The app's turn (or nothing sent yet): not the client's fault.
            *this.armed_for = None;
            return Poll::Pending;
        };
        // Armed for this chunk: any chunk taken since starts the count again.
        if *this.armed_for != Some(taken) {
            *this.armed_for = Some(taken);
            Pin::new(&mut *this.deadline).progress();
        }
        if Pin::new(this.deadline)
            .poll_wait(*this.limit, cx)
            .is_ready()
        {
            tracing::debug!(
                limit = ?this.limit,
                "an HTTP/2 client took nothing of a response for the write timeout; resetting its stream"
            );
            // Dropping the stream's future resets the stream.
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn progress_counts_chunks_and_waits_until_polled() {
        let p = Progress::default();
        assert_eq!(p.waiting(), None);
        p.taken();
        assert_eq!(p.waiting(), Some(1));
        p.polled();
        assert_eq!(p.waiting(), None);
        p.taken();
        p.taken();
        assert_eq!(p.waiting(), Some(3), "a new chunk is a new count");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_waiting_on_its_client_ends_after_the_limit_and_not_before() {
        let limit = Duration::from_secs(60);
        // A stream that takes one chunk and then waits on its client
        // forever.
        let mut first = true;
        let stuck = std::future::poll_fn(move |_| {
            if std::mem::take(&mut first) {
                Progress::current()
                    .expect("inside the watched task")
                    .taken();
            }
            Poll::<()>::Pending
        });
        let started = Instant::now();
        let watched = Watched {
            stream: stuck,
            progress: Arc::default(),
            limit,
            armed_for: None,
            deadline: Deadline::default(),
        };
        watched.await;
        assert_eq!(started.elapsed(), limit);

        // One that waits on its app instead is never ended.
        let slow_app = std::future::poll_fn(|_| {
            Progress::current()
                .expect("inside the watched task")
                .polled();
            Poll::<()>::Pending
        });
        let watched = Watched {
            stream: slow_app,
            progress: Arc::default(),
            limit,
            armed_for: None,
            deadline: Deadline::default(),
        };
        let outcome = tokio::time::timeout(10 * limit, watched).await;
        assert!(outcome.is_err(), "a slow app is not a stalled client");
    }
}
