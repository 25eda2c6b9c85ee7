//! Knowing, without polling it, whether the WebSocket stream can have
//! anything new to read.
//!
//! The driver's loop turns several times per message (a read, the
//! handler's reply, the write), and polling tungstenite's stream on each
//! turn is not free even when the socket has nothing: before every read
//! attempt tungstenite zero-fills its whole read buffer. The stream is
//! therefore polled with a waker of its own, which notes that it fired
//! before waking the task, and the loop polls the stream only when it
//! has: after it yielded a message (more may be buffered) or after
//! whatever it waited on (the socket, readable or writable) woke it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The stream's waker and whether it fired.
#[derive(Debug)]
pub(crate) struct ReadWake {
    flag: Arc<Flag>,
    waker: Waker,
}

#[derive(Debug)]
struct Flag {
    /// Set when the stream may have something: at the start, after it
    /// yielded, and when its waker fired.
    ready: AtomicBool,
    /// The task to wake.
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl ReadWake {
    pub(crate) fn new() -> Self {
        let flag = Arc::new(Flag {
            ready: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        ReadWake {
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// Polls `read` with the stream's own waker, if it can find anything;
    /// `Pending` at once if not.
    ///
    /// (Deciding this inside the poll, not in a `select!` precondition:
    /// those are evaluated once per `select!`, not once per poll.)
    pub(crate) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        read: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.flag.task.register(cx.waker());
        // Cleared before the read: a wake-up from here on counts.
        if !self.flag.ready.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = read(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            self.flag.ready.store(true, Ordering::Release);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read that waits: counts itself and keeps the waker it was given.
    #[derive(Default)]
    struct Waits {
        reads: usize,
        waker: Option<Waker>,
    }

    impl Waits {
        fn read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            self.reads += 1;
            self.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn reads_only_after_a_message_or_a_wake_up() {
        let read_wake = ReadWake::new();
        let task = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&task);
        let mut waits = Waits::default();

        // Read at the start; then, with nothing woken, not again.
        assert!(read_wake.poll(&mut cx, |cx| waits.read(cx)).is_pending());
        assert!(read_wake.poll(&mut cx, |cx| waits.read(cx)).is_pending());
        assert_eq!(waits.reads, 1);

        // What the read waited on fired: read again.
        waits.waker.take().unwrap().wake();
        assert!(read_wake.poll(&mut cx, |cx| waits.read(cx)).is_pending());
        assert_eq!(waits.reads, 2);

        // After a message, read again at once (more may be buffered).
        waits.waker.take().unwrap().wake();
        assert!(read_wake.poll(&mut cx, |_| Poll::Ready(())).is_ready());
        assert!(read_wake.poll(&mut cx, |cx| waits.read(cx)).is_pending());
        assert_eq!(waits.reads, 3);
    }
}
