//! The state shared by `start_response`, the write handles and the driver
//! that turns a callback-style app into a response.
//!
//! Everything runs in the connection's task, so the lock is never contended
//! in the common case; it exists because write handles may be moved to other
//! tasks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use crate::error::{BoxError, Error, Kind};

#[derive(Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// How many chunks the transport took. Kept outside the lock so that a
    /// write can see its chunk was taken without locking (the hot path).
    taken: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The head set by `start_response`, not yet taken by the driver.
    head: Option<http::response::Parts>,
    /// `start_response` has been called at least once.
    started: bool,
    /// The head has gone to the transport; it can no longer be replaced.
    head_sent: bool,
    /// A chunk written and not yet taken by the transport.
    chunk: Option<Bytes>,
    /// Tickets: the number of chunks put in the slot (see `Shared::taken`).
    put: u64,
    /// Writes waiting for their chunk to be taken or for the slot to free.
    waiters: Vec<Waker>,
    /// The task driving the app, waiting for a chunk or the app's return.
    driver: Option<Waker>,
    /// Set once the response is over; later writes fail with this.
    closed: Option<Kind>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; the
        // state is still meaningful, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `start_response(status, headers)` and its `exc_info` variant.
    pub(crate) fn start(
        &self,
        head: http::response::Parts,
        error: Option<BoxError>,
    ) -> Result<(), Error> {
        let mut st = self.lock();
        match error {
            None if st.started => Err(Error::new(Kind::StartResponseTwice)),
            Some(error) if st.head_sent => Err(Error::with(Kind::HeadersAlreadySent, error)),
            error => {
                if let Some(error) = error {
                    tracing::warn!(error = %error, "start_response replaced the pending head after an error");
                }
                st.started = true;
                st.head = Some(head);
                Ok(())
            }
        }
    }

    pub(crate) fn is_started(&self) -> bool {
        self.lock().started
    }

    /// Marks the head as sent and hands it over.
    pub(crate) fn take_head(&self) -> Option<http::response::Parts> {
        let mut st = self.lock();
        st.head_sent = true;
        st.head.take()
    }

    /// One poll of a `write(chunk)`. `ticket` is 0 until the chunk is in the
    /// slot, then the number it was given.
    pub(crate) fn poll_write(
        &self,
        cx: &mut Context<'_>,
        chunk: &mut Option<Bytes>,
        ticket: &mut u64,
    ) -> Poll<Result<(), Error>> {
        if *ticket != 0 && self.taken.load(Ordering::Acquire) >= *ticket {
            return Poll::Ready(Ok(()));
        }
        let mut st = self.lock();
        if *ticket != 0 && self.taken.load(Ordering::Acquire) >= *ticket {
            return Poll::Ready(Ok(()));
        }
        if let Some(kind) = st.closed {
            return Poll::Ready(Err(Error::new(kind)));
        }
        if *ticket == 0 && st.chunk.is_none() {
            st.chunk = chunk.take();
            st.put += 1;
            *ticket = st.put;
            // A write from another task must wake the driver, which may be
            // waiting on something else entirely (spec 2.9).
            if let Some(driver) = &st.driver {
                if !driver.will_wake(cx.waker()) {
                    driver.wake_by_ref();
                }
            }
        }
        // The driver's own task polls the app again after each chunk, so it
        // needs no wake-up; only writes from elsewhere are registered.
        let is_driver = st.driver.as_ref().is_some_and(|d| d.will_wake(cx.waker()));
        if !is_driver && !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// A write future was dropped before its chunk was taken: the chunk is
    /// withdrawn, so a cancelled write sends nothing.
    pub(crate) fn withdraw(&self, ticket: u64) {
        let mut st = self.lock();
        if st.put == ticket && self.taken.load(Ordering::Acquire) < ticket {
            st.chunk = None;
            self.taken.store(ticket, Ordering::Release);
            // The slot is free again for whoever waits on it.
            st.waiters.drain(..).for_each(Waker::wake);
        }
    }

    /// Checks a zero-length write: it sends nothing but obeys the same rules.
    pub(crate) fn check_write(&self) -> Result<(), Error> {
        match self.lock().closed {
            Some(kind) => Err(Error::new(kind)),
            None => Ok(()),
        }
    }

    /// Takes the written chunk, if any, on behalf of the transport, and wakes
    /// the writes waiting on it. The task polling the driver (`cx`) is not
    /// woken: it polls the app again right after the chunk is sent.
    pub(crate) fn take_chunk(&self, cx: &Context<'_>) -> Option<Bytes> {
        let mut st = self.lock();
        // Remembered for writes from other tasks, which must wake the driver.
        if !st.driver.as_ref().is_some_and(|d| d.will_wake(cx.waker())) {
            st.driver = Some(cx.waker().clone());
        }
        let chunk = st.chunk.take()?;
        self.taken.store(st.put, Ordering::Release);
        st.head_sent = true;
        // Drained in place so the waiter list keeps its allocation.
        for w in st.waiters.drain(..) {
            if !w.will_wake(cx.waker()) {
                w.wake();
            }
        }
        Some(chunk)
    }

    /// Ends the response: later writes fail with `kind`, waiting ones wake.
    pub(crate) fn close(&self, kind: Kind) {
        let mut st = self.lock();
        if st.closed.is_none() {
            st.closed = Some(kind);
        }
        st.chunk = None;
        st.waiters.drain(..).for_each(Waker::wake);
    }
}

/// Closes the shared state when dropped: with `WriteAfterClose` when the
/// response finished, with `ClientGone` when it was dropped half-way.
pub(crate) struct CloseGuard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) finished: bool,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        let kind = if self.finished {
            Kind::WriteAfterClose
        } else {
            Kind::ClientGone
        };
        self.shared.close(kind);
    }
}
