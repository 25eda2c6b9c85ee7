//! Wake-ups of responses from pool threads, in batches.
//!
//! Waking a task from outside its runtime costs a syscall (tokio writes to
//! the runtime's eventfd), and a pool thread that runs one small app after
//! another would pay it for every response. So while one such wake-up is
//! on its way, the next ones wait here, and the response woken first wakes
//! them when it runs: from the runtime thread, where a wake-up is a push on
//! a queue. The watchdog wakes any that wait a whole tick (the first task's
//! runtime may be busy, or that task gone).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// Wake-ups left for the first response to run.
static WAITING: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
/// A wake-up is on its way, whose task will wake the waiting ones.
static ON_ITS_WAY: AtomicBool = AtomicBool::new(false);
/// Wake-ups sent on their way so far: a batch that waits a whole tick
/// leaves it unchanged.
static SENT: AtomicU64 = AtomicU64::new(0);

fn waiting() -> MutexGuard<'static, Vec<Waker>> {
    // Only pushes and takes run under the lock.
    WAITING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wakes a response's task, or leaves it to the task a wake-up is on its
/// way to.
pub(super) fn wake(waker: Waker) {
    // Elsewhere (a write handle moved to a thread of the app's own) the
    // watchdog might not be ticking to rescue a batch.
    if !super::pool::in_job() {
        waker.wake();
        return;
    }
    let mut waiting = waiting();
    if ON_ITS_WAY.load(Ordering::Relaxed) {
        waiting.push(waker);
        return;
    }
    ON_ITS_WAY.store(true, Ordering::Release);
    SENT.fetch_add(1, Ordering::Relaxed);
    drop(waiting);
    waker.wake();
}

/// From a response's task: wakes the ones waiting. Cheap when none are.
pub(super) fn flush() {
    // The task a wake-up was on its way to sees the flag: the wake-up
    // ordered it.
    if !ON_ITS_WAY.load(Ordering::Acquire) {
        return;
    }
    let waiting = {
        let mut waiting = waiting();
        ON_ITS_WAY.store(false, Ordering::Relaxed);
        std::mem::take(&mut *waiting)
    };
    // Outside the lock: a waker may run anything, even poll its task.
    waiting.into_iter().for_each(Waker::wake);
}

/// From the watchdog, each tick: wakes a batch that waited since the last
/// tick (`seen` is what `SENT` was then).
pub(super) fn rescue(seen: &mut u64) {
    let sent = SENT.load(Ordering::Relaxed);
    if ON_ITS_WAY.load(Ordering::Acquire) && sent == *seen {
        flush();
    }
    *seen = sent;
}

/// Whether wake-ups wait: the watchdog stays awake for them.
pub(super) fn pending() -> bool {
    ON_ITS_WAY.load(Ordering::Acquire)
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
    fn outside_a_job_a_wake_up_goes_at_once() {
        let count = Arc::new(Count::default());
        wake(Waker::from(count.clone()));
        assert_eq!(woken(&count), 1);
    }

    #[test]
    fn in_a_job_later_wake_ups_wait_for_a_flush_or_the_watchdog() {
        let (first, second) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let mut seen = SENT.load(Ordering::Relaxed);
        super::super::pool::as_job(|| {
            wake(Waker::from(first.clone()));
            wake(Waker::from(second.clone()));
        });
        // Unless a batch of another test was on its way, the first went at
        // once; the second goes with the first flush, or the watchdog's
        // rescue a tick later.
        if woken(&first) == 0 {
            flush();
            assert_eq!(woken(&first), 1);
        }
        rescue(&mut seen);
        rescue(&mut seen);
        assert_eq!(woken(&second), 1);
    }
}
