//! Two futures run to completion in one task (a WebSocket connection's
//! loop and its handler), each polled only when it was woken.
//!
//! A plain `join` polls both halves on every wake-up of the task, and when
//! one half wakes the other during a poll (the loop hands the handler a
//! message; the handler queues its reply), the task goes back through the
//! scheduler to be polled again. Here each half has a waker of its own that
//! notes it fired: a half is polled only when it did, and a wake-up that
//! comes while the pair is being polled is served in the same poll instead
//! of waking the task again: an echo costs one poll of the task, not two.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::wake_flags::{WakeFlags, FIRST, QUIET, SECOND};

/// The pair is being polled: a half that fires now is seen before the poll
/// ends, without waking the task.
const POLLING: u8 = QUIET;

/// Rounds of polling in one poll of the task before it yields: a half
/// that wakes itself at once (a tokio resource whose cooperative budget
/// ran out does) must not keep the task from others.
const MAX_ROUNDS: usize = 8;

/// Runs `first` and `second` in the caller's task until both are done.
pub(crate) fn join_pair<A, B>(first: A, second: B) -> JoinPair<A, B>
where
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    // Both are polled to begin with.
    let (flags, [first_waker, second_waker]) = WakeFlags::new(FIRST | SECOND);
    JoinPair {
        first,
        second,
        flags,
        first_waker,
        second_waker,
        done: 0,
    }
}

/// The future [`join_pair`] returns.
#[pin_project::pin_project]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct JoinPair<A, B> {
    #[pin]
    first: A,
    #[pin]
    second: B,
    /// `FIRST`, `SECOND`: fired since last polled; `POLLING`.
    flags: Arc<WakeFlags>,
    first_waker: Waker,
    second_waker: Waker,
    /// `FIRST` and `SECOND` once they completed.
    done: u8,
}

impl<A, B> Future for JoinPair<A, B>
where
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let flags = &**this.flags;
        flags.register(cx);
        let state = flags.bits();
        state.fetch_or(POLLING, Ordering::AcqRel);
        for _ in 0..MAX_ROUNDS {
            // Take what fired, still polling.
            let fired = state.fetch_and(POLLING, Ordering::AcqRel) & !POLLING;
            if fired == 0 {
                // Stop polling, unless a half fired since: it did not wake
                // the task, so it is served now.
                match state.compare_exchange(POLLING, 0, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return Poll::Pending,
                    Err(_) => continue,
                }
            }
            let fired = fired & !*this.done;
            if fired & FIRST != 0 {
                let mut cx = Context::from_waker(this.first_waker);
                if this.first.as_mut().poll(&mut cx).is_ready() {
                    *this.done |= FIRST;
                }
            }
            if fired & SECOND != 0 {
                let mut cx = Context::from_waker(this.second_waker);
                if this.second.as_mut().poll(&mut cx).is_ready() {
                    *this.done |= SECOND;
                }
            }
            if *this.done == FIRST | SECOND {
                state.fetch_and(!POLLING, Ordering::AcqRel);
                return Poll::Ready(());
            }
        }
        // Still busy after a few rounds: yield, and come back for what
        // fired (it stays noted, but woke nobody).
        let left = state.fetch_and(!POLLING, Ordering::AcqRel);
        if left & !POLLING != 0 {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::super::wake_flags::WakeCount;
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A half that waits until told, counting its polls, and keeps the
    /// waker it was polled with.
    #[derive(Default)]
    struct Gate {
        open: Cell<bool>,
        polls: Cell<usize>,
        waker: std::cell::RefCell<Option<Waker>>,
    }

    fn wait(gate: Rc<Gate>) -> impl Future<Output = ()> {
        std::future::poll_fn(move |cx| {
            gate.polls.set(gate.polls.get() + 1);
            if gate.open.get() {
                return Poll::Ready(());
            }
            *gate.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn open(gate: &Gate) {
        gate.open.set(true);
        if let Some(w) = gate.waker.borrow_mut().take() {
            w.wake();
        }
    }

    #[test]
    fn polls_only_the_half_that_fired_and_ends_when_both_are_done() {
        let (a, b) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
        let (task, waker) = WakeCount::new();
        let mut cx = Context::from_waker(&waker);
        let mut both = Box::pin(join_pair(wait(a.clone()), wait(b.clone())));

        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!((a.polls.get(), b.polls.get()), (1, 1));
        // A poll with nothing fired polls neither.
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!((a.polls.get(), b.polls.get()), (1, 1));

        open(&a);
        assert_eq!(task.count(), 1, "the task was woken");
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!((a.polls.get(), b.polls.get()), (2, 1));

        open(&b);
        assert!(both.as_mut().poll(&mut cx).is_ready());
        assert_eq!(
            (a.polls.get(), b.polls.get()),
            (2, 2),
            "a done half is not polled"
        );
    }

    #[test]
    fn a_half_woken_during_the_poll_is_served_in_it_without_waking_the_task() {
        // The first half wakes the second (as the loop hands the handler a
        // message); the second then finishes.
        let b = Rc::new(Gate::default());
        let first = {
            let b = b.clone();
            let mut step = 0;
            std::future::poll_fn(move |_cx| {
                step += 1;
                if step == 2 {
                    open(&b);
                    return Poll::Ready(());
                }
                // The first poll: wake ourselves, as a ready queue would.
                _cx.waker().wake_by_ref();
                Poll::Pending
            })
        };
        let (task, waker) = WakeCount::new();
        let mut cx = Context::from_waker(&waker);
        let mut both = Box::pin(join_pair(first, wait(b.clone())));
        assert!(both.as_mut().poll(&mut cx).is_ready(), "all in one poll");
        assert_eq!(task.count(), 0, "the task was never woken");
    }

    #[test]
    fn a_half_that_keeps_waking_itself_makes_the_task_yield() {
        let spins = Rc::new(Cell::new(0));
        let first = {
            let spins = spins.clone();
            std::future::poll_fn(move |cx| {
                spins.set(spins.get() + 1);
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            })
        };
        let (task, waker) = WakeCount::new();
        let mut cx = Context::from_waker(&waker);
        let mut both = Box::pin(join_pair(first, std::future::ready(())));
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!(spins.get(), MAX_ROUNDS);
        assert_eq!(task.count(), 1, "it asked to be polled again");
        assert!(both.as_mut().poll(&mut cx).is_pending());
        assert_eq!(spins.get(), 2 * MAX_ROUNDS);
    }
}
