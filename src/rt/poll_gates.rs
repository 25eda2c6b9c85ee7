//! Knowing, without polling them, which of a loop's event sources can have
//! anything new.
//!
//! A loop that turns several times per event (the WebSocket connection's:
//! a read, the handler's reply, the write) pays for polling a source even
//! when it has nothing: tungstenite zero-fills its whole read buffer before
//! every read attempt, and a timer or a shutdown signal registers its waker
//! anew each time. Such sources are polled here with wakers of their own,
//! which note which source fired before waking the task, and the loop polls
//! a source only when it has: at the start, after it yielded (more may be
//! waiting), or after what it waited on woke it. The task's waker is
//! registered once per turn, for all of them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::wake_flags::{WakeFlags, FIRST, SECOND};

/// Which waker a source is polled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The source that is often ready (a stream), with a waker of its own.
    Busy,
    /// Sources rarely ready (a timer, a shutdown signal). They share one
    /// waker, so a wake-up of one lets each of them be polled: each fires
    /// seldom, and a waker is an allocation.
    Rare,
}

impl Gate {
    const fn bit(self) -> u8 {
        match self {
            Gate::Busy => FIRST,
            Gate::Rare => SECOND,
        }
    }
}

/// The sources' wakers and which of them fired.
#[derive(Debug)]
pub(crate) struct PollGates {
    flags: Arc<WakeFlags>,
    busy: Waker,
    rare: Waker,
}

impl PollGates {
    /// Every source counts as fired: each is polled once to begin with.
    pub(crate) fn new() -> Self {
        let (flags, [busy, rare]) = WakeFlags::new(FIRST | SECOND);
        PollGates { flags, busy, rare }
    }

    /// Starts a turn of the loop: registers the task's waker and takes
    /// what fired since the last turn. Hand the result back with
    /// [`end_turn`](Self::end_turn).
    pub(crate) fn begin_turn(&self, cx: &Context<'_>) -> Turn {
        self.flags.register(cx);
        // Cleared before the sources are polled: a wake-up from here on
        // counts for the next turn.
        Turn {
            fired: self.flags.bits().swap(0, Ordering::AcqRel),
            polled: 0,
            again: 0,
        }
    }

    /// Ends a turn: sources that fired but were not polled, or that
    /// yielded (and may have more), are polled on the next.
    pub(crate) fn end_turn(&self, turn: Turn) {
        let next = (turn.fired & !turn.polled) | turn.again;
        if next != 0 {
            self.flags.bits().fetch_or(next, Ordering::AcqRel);
        }
    }

    /// Polls a source with its gate's waker, if that fired; `None` if it
    /// did not fire or the source is not ready.
    pub(crate) fn poll<T>(
        &self,
        gate: Gate,
        turn: &mut Turn,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Option<T> {
        let bit = gate.bit();
        if turn.fired & bit == 0 {
            return None;
        }
        turn.polled |= bit;
        let waker = match gate {
            Gate::Busy => &self.busy,
            Gate::Rare => &self.rare,
        };
        match poll(&mut Context::from_waker(waker)) {
            Poll::Ready(value) => {
                turn.again |= bit;
                Some(value)
            }
            Poll::Pending => None,
        }
    }
}

/// The gates that fired, during one turn.
#[derive(Debug)]
#[must_use = "hand it back to `PollGates::end_turn`"]
pub(crate) struct Turn {
    fired: u8,
    polled: u8,
    again: u8,
}

#[cfg(test)]
mod tests {
    use super::super::wake_flags::WakeCount;
    use super::*;

    /// A source that waits: counts its polls and keeps the waker it was
    /// given.
    #[derive(Default)]
    struct Waits {
        polls: usize,
        waker: Option<Waker>,
    }

    impl Waits {
        fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            self.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn turn(
        gates: &PollGates,
        gate: Gate,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<()>,
    ) -> bool {
        let mut fired = gates.begin_turn(&Context::from_waker(Waker::noop()));
        let polled = gates.poll(gate, &mut fired, poll).is_some();
        gates.end_turn(fired);
        polled
    }

    #[test]
    fn a_source_is_polled_only_at_the_start_after_it_yielded_or_after_its_wake_up() {
        let gates = PollGates::new();
        let mut read = Waits::default();
        let mut tick = Waits::default();

        // Polled at the start; then, with nothing woken, not again.
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        assert_eq!(read.polls, 1);

        // Another source's wake-up does not count for this one.
        turn(&gates, Gate::Rare, |cx| tick.poll(cx));
        tick.waker.take().unwrap().wake();
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        assert_eq!(read.polls, 1);
        turn(&gates, Gate::Rare, |cx| tick.poll(cx));
        assert_eq!(tick.polls, 2);

        // What it waited on fired: polled again.
        read.waker.take().unwrap().wake();
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        assert_eq!(read.polls, 2);

        // After it yielded, polled again at once (more may be waiting).
        read.waker.take().unwrap().wake();
        assert!(turn(&gates, Gate::Busy, |_| Poll::Ready(())));
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        assert_eq!(read.polls, 3);
    }

    #[test]
    fn the_timer_and_the_shutdown_signal_share_a_waker_and_are_polled_together() {
        let gates = PollGates::new();
        let mut tick = Waits::default();
        let mut shutdown = Waits::default();
        let both = |tick: &mut Waits, shutdown: &mut Waits| {
            let mut turn = gates.begin_turn(&Context::from_waker(Waker::noop()));
            gates.poll(Gate::Rare, &mut turn, |cx| shutdown.poll(cx));
            gates.poll(Gate::Rare, &mut turn, |cx| tick.poll(cx));
            gates.end_turn(turn);
        };
        both(&mut tick, &mut shutdown);
        both(&mut tick, &mut shutdown);
        assert_eq!((tick.polls, shutdown.polls), (1, 1));
        shutdown.waker.take().unwrap().wake();
        both(&mut tick, &mut shutdown);
        assert_eq!((tick.polls, shutdown.polls), (2, 2));
    }

    #[test]
    fn a_wake_up_not_acted_on_in_its_turn_waits_for_the_next() {
        let gates = PollGates::new();
        let mut read = Waits::default();
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        read.waker.take().unwrap().wake();
        // A turn that does not poll the read (the handler is behind, say).
        let fired = gates.begin_turn(&Context::from_waker(Waker::noop()));
        gates.end_turn(fired);
        turn(&gates, Gate::Busy, |cx| read.poll(cx));
        assert_eq!(read.polls, 2, "the wake-up was lost");
    }

    #[test]
    fn a_source_waking_wakes_the_task() {
        let gates = PollGates::new();
        let (task, task_waker) = WakeCount::new();
        let mut read = Waits::default();
        let mut fired = gates.begin_turn(&Context::from_waker(&task_waker));
        gates.poll(Gate::Busy, &mut fired, |cx| read.poll(cx));
        gates.end_turn(fired);
        read.waker.take().unwrap().wake();
        assert_eq!(task.count(), 1);
    }
}
