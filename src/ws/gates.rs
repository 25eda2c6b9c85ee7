//! Knowing, without polling them, which of the connection loop's event
//! sources can have anything new.
//!
//! The loop turns several times per message (a read, the handler's reply,
//! the write), and polling every source on every turn is not free even
//! when it has nothing: before every read attempt tungstenite zero-fills its
//! whole read buffer, and a timer or the shutdown signal registers its
//! waker anew each time. These sources are therefore polled with wakers of
//! their own, which note which source fired before waking the task, and the
//! loop polls a source only when it has: at the start, after it yielded
//! (more may be waiting), or after what it waited on woke it. The task's
//! waker is registered once per turn, for all of them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::flags::{Flags, FIRST, SECOND};

/// A source polled through [`Gates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The WebSocket stream: readable bytes, or room to write that a
    /// pending read was waiting on.
    Read,
    /// The keepalive timer.
    Tick,
    /// The server's shutdown signal.
    Shutdown,
}

/// The stream fired.
const READ: u8 = FIRST;
/// The timer or the shutdown signal fired. They share a waker: each
/// fires about once a minute, and a waker is an allocation per connection.
const RARE: u8 = SECOND;

impl Source {
    const fn bit(self) -> u8 {
        match self {
            Source::Read => READ,
            Source::Tick | Source::Shutdown => RARE,
        }
    }
}

/// The sources' wakers and which of them fired.
#[derive(Debug)]
pub(crate) struct Gates {
    flags: Arc<Flags>,
    read: Waker,
    rare: Waker,
}

impl Gates {
    /// Every source counts as fired: each is polled once to begin with.
    pub(crate) fn new() -> Self {
        let (flags, [read, rare]) = Flags::new(READ | RARE);
        Gates { flags, read, rare }
    }

    /// Starts a turn of the loop: registers the task's waker and takes
    /// what fired since the last turn. Hand the result back with
    /// [`end_turn`](Self::end_turn).
    pub(crate) fn begin_turn(&self, cx: &Context<'_>) -> Fired {
        self.flags.register(cx);
        // Cleared before the sources are polled: a wake-up from here on
        // counts for the next turn.
        Fired {
            fired: self.flags.bits().swap(0, Ordering::AcqRel),
            polled: 0,
            again: 0,
        }
    }

    /// Ends a turn: sources that fired but were not polled, or that
    /// yielded (and may have more), are polled on the next.
    pub(crate) fn end_turn(&self, turn: Fired) {
        let next = (turn.fired & !turn.polled) | turn.again;
        if next != 0 {
            self.flags.bits().fetch_or(next, Ordering::AcqRel);
        }
    }

    /// Polls `source` with its own waker, if it fired; `None` if it did
    /// not fire or is not ready.
    pub(crate) fn poll<T>(
        &self,
        source: Source,
        turn: &mut Fired,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Option<T> {
        let bit = source.bit();
        if turn.fired & bit == 0 {
            return None;
        }
        turn.polled |= bit;
        let waker = if bit == READ { &self.read } else { &self.rare };
        match poll(&mut Context::from_waker(waker)) {
            Poll::Ready(value) => {
                turn.again |= bit;
                Some(value)
            }
            Poll::Pending => None,
        }
    }
}

/// The sources that fired, during one turn.
#[derive(Debug)]
#[must_use = "hand it back to `Gates::end_turn`"]
pub(crate) struct Fired {
    fired: u8,
    polled: u8,
    again: u8,
}

#[cfg(test)]
mod tests {
    use super::super::flags::WakeCount;
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
        gates: &Gates,
        source: Source,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<()>,
    ) -> bool {
        let mut fired = gates.begin_turn(&Context::from_waker(Waker::noop()));
        let polled = gates.poll(source, &mut fired, poll).is_some();
        gates.end_turn(fired);
        polled
    }

    #[test]
    fn a_source_is_polled_only_at_the_start_after_it_yielded_or_after_its_wake_up() {
        let gates = Gates::new();
        let mut read = Waits::default();
        let mut tick = Waits::default();

        // Polled at the start; then, with nothing woken, not again.
        turn(&gates, Source::Read, |cx| read.poll(cx));
        turn(&gates, Source::Read, |cx| read.poll(cx));
        assert_eq!(read.polls, 1);

        // Another source's wake-up does not count for this one.
        turn(&gates, Source::Tick, |cx| tick.poll(cx));
        tick.waker.take().unwrap().wake();
        turn(&gates, Source::Read, |cx| read.poll(cx));
        assert_eq!(read.polls, 1);
        turn(&gates, Source::Tick, |cx| tick.poll(cx));
        assert_eq!(tick.polls, 2);

        // What it waited on fired: polled again.
        read.waker.take().unwrap().wake();
        turn(&gates, Source::Read, |cx| read.poll(cx));
        assert_eq!(read.polls, 2);

        // After it yielded, polled again at once (more may be waiting).
        read.waker.take().unwrap().wake();
        assert!(turn(&gates, Source::Read, |_| Poll::Ready(())));
        turn(&gates, Source::Read, |cx| read.poll(cx));
        assert_eq!(read.polls, 3);
    }

    #[test]
    fn the_timer_and_the_shutdown_signal_share_a_waker_and_are_polled_together() {
        let gates = Gates::new();
        let mut tick = Waits::default();
        let mut shutdown = Waits::default();
        let both = |tick: &mut Waits, shutdown: &mut Waits| {
            let mut turn = gates.begin_turn(&Context::from_waker(Waker::noop()));
            gates.poll(Source::Shutdown, &mut turn, |cx| shutdown.poll(cx));
            gates.poll(Source::Tick, &mut turn, |cx| tick.poll(cx));
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
        let gates = Gates::new();
        let mut read = Waits::default();
        turn(&gates, Source::Read, |cx| read.poll(cx));
        read.waker.take().unwrap().wake();
        // A turn that does not poll the read (the handler is behind, say).
        let fired = gates.begin_turn(&Context::from_waker(Waker::noop()));
        gates.end_turn(fired);
        turn(&gates, Source::Read, |cx| read.poll(cx));
        assert_eq!(read.polls, 2, "the wake-up was lost");
    }

    #[test]
    fn a_source_waking_wakes_the_task() {
        let gates = Gates::new();
        let (task, task_waker) = WakeCount::new();
        let mut read = Waits::default();
        let mut fired = gates.begin_turn(&Context::from_waker(&task_waker));
        gates.poll(Source::Read, &mut fired, |cx| read.poll(cx));
        gates.end_turn(fired);
        read.waker.take().unwrap().wake();
        assert_eq!(task.count(), 1);
    }
}
