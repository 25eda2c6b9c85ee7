//! A timeout on waiting: the clock runs only while something waits, and
//! starts again on progress.
//!
//! Every timeout of the server has this shape: a read of a request body
//! that waits for bytes, a write that waits for the client to take some, an
//! HTTP/2 stream that waits for its window, a WebSocket write, a connection
//! that waits for its next request head. Most waits end long before their
//! limit, and most operations never wait at all, so the timer is armed only
//! when a wait begins: nothing is armed (no clock read, no timer-wheel
//! entry) while things go through.
//!
//! A [`Deadline`] keeps its `Sleep` once made and resets it for the next
//! wait, so a long transfer that waits often costs a reset per wait, not an
//! allocation. The `Sleep` lives in a [`Slot`]: [`Boxed`] (the default)
//! makes it on the first wait, so that an owner which never waits carries
//! no timer; [`Inline`] keeps it in the owner, for one that always waits
//! (a connection between requests) and is itself allocated anyway.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Where a [`Deadline`] keeps its `Sleep`, and whether it is armed.
pub(crate) trait Slot {
    /// A slot holding a sleep armed to end at `at`.
    fn made(at: Instant) -> Self;
    /// Whether the sleep is armed for the current wait.
    fn is_armed(&self) -> bool;
    /// Arms the sleep to end at `at`, making it if there is none yet.
    fn arm(self: Pin<&mut Self>, at: Instant);
    /// The wait ended: the sleep is not polled until armed again.
    fn disarm(self: Pin<&mut Self>);
    /// Polls the sleep; `Pending` if there is none.
    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
    /// Drops the sleep (its timer-wheel entry and, boxed, its memory).
    fn clear(self: Pin<&mut Self>);
}

/// A sleep and whether it is armed, together on the heap.
#[pin_project::pin_project]
#[derive(Debug)]
struct Timer {
    #[pin]
    sleep: Sleep,
    armed: bool,
}

/// The `Sleep` on the heap, made on the first wait and kept: the owner
/// grows by one pointer, and a wait after the first costs a reset, not an
/// allocation.
#[derive(Debug, Default)]
pub(crate) struct Boxed(Option<Pin<Box<Timer>>>);

impl Slot for Boxed {
    fn made(at: Instant) -> Self {
        Boxed(Some(Box::pin(Timer {
            sleep: tokio::time::sleep_until(at),
            armed: true,
        })))
    }

    fn is_armed(&self) -> bool {
        self.0.as_ref().is_some_and(|timer| timer.armed)
    }

    fn arm(self: Pin<&mut Self>, at: Instant) {
        let this = self.get_mut();
        match &mut this.0 {
            Some(timer) => {
                let timer = timer.as_mut().project();
                timer.sleep.reset(at);
                *timer.armed = true;
            }
            None => *this = Boxed::made(at),
        }
    }

    fn disarm(self: Pin<&mut Self>) {
        if let Some(timer) = &mut self.get_mut().0 {
            *timer.as_mut().project().armed = false;
        }
    }

    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().0 {
            Some(timer) => timer.as_mut().project().sleep.poll(cx),
            None => Poll::Pending,
        }
    }

    fn clear(self: Pin<&mut Self>) {
        self.get_mut().0 = None;
    }
}

/// The `Sleep` in the owner's own memory, there only while armed: for an
/// owner that waits most of its life and is itself on the heap anyway.
#[pin_project::pin_project]
#[derive(Debug, Default)]
pub(crate) struct Inline(#[pin] Option<Sleep>);

impl Slot for Inline {
    fn made(at: Instant) -> Self {
        Inline(Some(tokio::time::sleep_until(at)))
    }

    fn is_armed(&self) -> bool {
        self.0.is_some()
    }

    fn arm(self: Pin<&mut Self>, at: Instant) {
        let mut sleep = self.project().0;
        match sleep.as_mut().as_pin_mut() {
            Some(sleep) => sleep.reset(at),
            None => sleep.set(Some(tokio::time::sleep_until(at))),
        }
    }

    fn disarm(self: Pin<&mut Self>) {
        self.clear();
    }

    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().0.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Pending,
        }
    }

    fn clear(self: Pin<&mut Self>) {
        self.project().0.set(None);
    }
}

/// A timer armed when a wait begins, ready once that wait has lasted its
/// limit, and disarmed by progress.
///
/// The owner calls [`poll_wait`](Self::poll_wait) when what it polled is
/// not ready, and [`progress`](Self::progress) when it is.
#[pin_project::pin_project]
#[derive(Debug, Default)]
pub(crate) struct Deadline<S = Boxed> {
    #[pin]
    slot: S,
}

impl<S: Slot> Deadline<S> {
    /// A deadline armed to end at `at`: for an owner that waits from the
    /// start.
    pub(crate) fn armed_at(at: Instant) -> Self {
        Deadline { slot: S::made(at) }
    }

    /// Polls the timer for a wait that has not ended, arming it to `limit`
    /// from now if the wait just began. Ready once the wait has lasted
    /// `limit`; never, when `limit` from now is past what the clock can
    /// say.
    pub(crate) fn poll_wait(
        self: Pin<&mut Self>,
        limit: Duration,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut slot = self.project().slot;
        if !slot.is_armed() {
            let Some(at) = Instant::now().checked_add(limit) else {
                return Poll::Pending;
            };
            slot.as_mut().arm(at);
        }
        slot.poll_sleep(cx)
    }

    /// Arms the timer to end at `at`, or moves it there: for an owner that
    /// tells the end of its wait itself.
    pub(crate) fn arm_at(self: Pin<&mut Self>, at: Instant) {
        self.project().slot.arm(at);
    }

    /// The wait ended: the next one starts the clock anew.
    pub(crate) fn progress(self: Pin<&mut Self>) {
        self.project().slot.disarm();
    }

    /// Whether a wait is being timed.
    pub(crate) fn is_armed(&self) -> bool {
        self.slot.is_armed()
    }

    /// Disarms and drops the sleep: for an owner that will not wait again.
    pub(crate) fn release(self: Pin<&mut Self>) {
        self.project().slot.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    async fn wait_on<S: Slot + Unpin>(deadline: &mut Deadline<S>, limit: Duration) {
        poll_fn(|cx| Pin::new(&mut *deadline).poll_wait(limit, cx)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_after_its_limit_and_not_before() {
        let limit = Duration::from_secs(30);
        let mut deadline = Deadline::<Boxed>::default();
        assert!(!deadline.is_armed());
        let started = Instant::now();
        wait_on(&mut deadline, limit).await;
        assert_eq!(started.elapsed(), limit);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_restarts_the_clock_at_the_next_wait() {
        let limit = Duration::from_secs(30);
        let mut deadline = Deadline::<Boxed>::default();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        // A wait of 20 s, then progress.
        assert!(Pin::new(&mut deadline)
            .poll_wait(limit, &mut cx)
            .is_pending());
        tokio::time::advance(Duration::from_secs(20)).await;
        Pin::new(&mut deadline).progress();
        // 20 s without a wait never count.
        tokio::time::advance(Duration::from_secs(20)).await;
        let started = Instant::now();
        wait_on(&mut deadline, limit).await;
        assert_eq!(started.elapsed(), limit, "a whole limit from the new wait");
    }

    #[tokio::test(start_paused = true)]
    async fn an_inline_deadline_armed_from_the_start_and_moved() {
        let start = Instant::now();
        let mut deadline = Box::pin(Deadline::<Inline>::armed_at(start + Duration::from_secs(5)));
        assert!(deadline.is_armed());
        deadline.as_mut().arm_at(start + Duration::from_secs(8));
        // Armed: the limit given to `poll_wait` no longer matters.
        poll_fn(|cx| deadline.as_mut().poll_wait(Duration::ZERO, cx)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(8));
        deadline.as_mut().release();
        assert!(!deadline.is_armed());
    }

    #[test]
    fn a_limit_past_the_clock_never_ends_and_needs_no_runtime() {
        let mut deadline = Deadline::<Boxed>::default();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let forever = Duration::MAX;
        assert!(Pin::new(&mut deadline)
            .poll_wait(forever, &mut cx)
            .is_pending());
        assert!(!deadline.is_armed());
    }
}
