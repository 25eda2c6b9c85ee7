//! Two wakers that note which of them fired before waking one task: what
//! [`poll_gates`](super::poll_gates) and [`join_pair`](super::join_pair)
//! are built on.
//!
//! A waker is an allocation, so there are only two: the shared state is
//! itself the first one, and the second is a pointer to it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The bit the first waker sets.
pub(crate) const FIRST: u8 = 1;
/// The bit the second waker sets.
pub(crate) const SECOND: u8 = 2;
/// While set, firing notes its bit without waking the task: its owner is
/// polling and looks at the bits before it stops.
pub(crate) const QUIET: u8 = 0x80;

/// The bits and the task to wake.
#[derive(Debug)]
pub(crate) struct WakeFlags {
    bits: AtomicU8,
    task: AtomicWaker,
}

/// The second waker.
struct Second(Arc<WakeFlags>);

impl WakeFlags {
    /// Flags starting as `bits`, and their two wakers.
    pub(crate) fn new(bits: u8) -> (Arc<WakeFlags>, [Waker; 2]) {
        let flags = Arc::new(WakeFlags {
            bits: AtomicU8::new(bits),
            task: AtomicWaker::new(),
        });
        let wakers = [
            Waker::from(flags.clone()),
            Waker::from(Arc::new(Second(flags.clone()))),
        ];
        (flags, wakers)
    }

    /// The bits, for their owner's own protocol.
    pub(crate) fn bits(&self) -> &AtomicU8 {
        &self.bits
    }

    /// The task that a waker firing wakes: the caller's, from now on.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        self.task.register(cx.waker());
    }

    fn fire(&self, bit: u8) {
        let before = self.bits.fetch_or(bit, Ordering::AcqRel);
        if before & QUIET == 0 {
            self.task.wake();
        }
    }
}

impl Wake for WakeFlags {
    fn wake(self: Arc<Self>) {
        self.fire(FIRST);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fire(FIRST);
    }
}

impl Wake for Second {
    fn wake(self: Arc<Self>) {
        self.0.fire(SECOND);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fire(SECOND);
    }
}

/// A task waker for tests, counting its wake-ups.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct WakeCount(std::sync::atomic::AtomicUsize);

#[cfg(test)]
impl WakeCount {
    pub(crate) fn new() -> (Arc<WakeCount>, Waker) {
        let count = Arc::new(WakeCount::default());
        (count.clone(), Waker::from(count))
    }

    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_waker_sets_its_bit_and_wakes_the_task_unless_quiet() {
        let (flags, [first, second]) = WakeFlags::new(0);
        let (task, task_waker) = WakeCount::new();
        let cx = Context::from_waker(&task_waker);

        flags.register(&cx);
        second.wake_by_ref();
        assert_eq!(flags.bits().load(Ordering::SeqCst), SECOND);
        assert_eq!(task.count(), 1);

        flags.register(&cx);
        flags.bits().store(QUIET, Ordering::SeqCst);
        first.wake_by_ref();
        assert_eq!(flags.bits().load(Ordering::SeqCst), QUIET | FIRST);
        assert_eq!(task.count(), 1, "quiet: noted, not woken");
    }
}
