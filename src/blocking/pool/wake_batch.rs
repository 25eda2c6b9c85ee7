//! Wake-ups of responses from pool threads, in batches.
//!
//! Waking a task from outside its runtime costs a syscall (tokio writes to
//! the runtime's eventfd), and a pool thread that runs one small app after
//! another would pay it for every response. So while one such wake-up is
//! on its way, the next ones wait here, and the response woken first wakes
//! them when it runs: from the runtime thread, where a wake-up is a push on
//! a queue. The pool's watchdog wakes any that wait a whole tick (the first
//! task's runtime may be busy, or that task gone).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// One pool's batch of wake-ups.
#[derive(Debug)]
pub(super) struct WakeBatch {
    /// Wake-ups left for the first response to run.
    waiting: Mutex<Vec<Waker>>,
    /// A wake-up is on its way, whose task will wake the waiting ones.
    on_its_way: AtomicBool,
    /// Wake-ups sent on their way so far: a batch that waits a whole tick
    /// leaves it unchanged.
    sent: AtomicU64,
}

impl WakeBatch {
    pub(super) const fn new() -> Self {
        WakeBatch {
            waiting: Mutex::new(Vec::new()),
            on_its_way: AtomicBool::new(false),
            sent: AtomicU64::new(0),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, Vec<Waker>> {
        // Only pushes and takes run under the lock.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From a pool thread: wakes a response's task, or leaves it to the
    /// task a wake-up is on its way to.
    pub(super) fn wake(&self, waker: Waker) {
        let mut waiting = self.waiting();
        if self.on_its_way.load(Ordering::Relaxed) {
            waiting.push(waker);
            return;
        }
        self.on_its_way.store(true, Ordering::Release);
        self.sent.fetch_add(1, Ordering::Relaxed);
        drop(waiting);
        waker.wake();
    }

    /// From a response's task: wakes the ones waiting. Cheap when none are.
    pub(super) fn flush(&self) {
        // The task a wake-up was on its way to sees the flag: the wake-up
        // ordered it.
        if !self.on_its_way.load(Ordering::Acquire) {
            return;
        }
        let waiting = {
            let mut waiting = self.waiting();
            self.on_its_way.store(false, Ordering::Relaxed);
            std::mem::take(&mut *waiting)
        };
        // Outside the lock: a waker may run anything, even poll its task.
        waiting.into_iter().for_each(Waker::wake);
    }

    /// From the watchdog, each tick: wakes a batch that waited since the
    /// last tick (`seen` is what `sent` was then).
    pub(super) fn rescue(&self, seen: &mut u64) {
        let sent = self.sent.load(Ordering::Relaxed);
        if self.on_its_way.load(Ordering::Acquire) && sent == *seen {
            self.flush();
        }
        *seen = sent;
    }

    /// Whether wake-ups wait: the watchdog stays awake for them.
    pub(super) fn pending(&self) -> bool {
        self.on_its_way.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn woken(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    #[test]
    fn later_wake_ups_wait_for_a_flush_or_the_watchdog() {
        let batch = WakeBatch::new();
        let (first, second, third) = (
            Arc::new(Count::default()),
            Arc::new(Count::default()),
            Arc::new(Count::default()),
        );
        let mut seen = 0;
        batch.wake(Waker::from(first.clone()));
        batch.wake(Waker::from(second.clone()));
        assert_eq!((woken(&first), woken(&second)), (1, 0), "the first goes");
        // The first task runs and flushes: the second goes.
        batch.flush();
        assert_eq!(woken(&second), 1);

        // A batch whose first task never runs: the watchdog's rescue wakes
        // it at the first tick that sees no new wake-up sent.
        batch.wake(Waker::from(first.clone()));
        batch.wake(Waker::from(third.clone()));
        batch.rescue(&mut seen);
        assert_eq!(woken(&third), 0, "a wake-up went out since the last tick");
        batch.rescue(&mut seen);
        assert_eq!(woken(&third), 1);
        assert!(!batch.pending());
    }
}
