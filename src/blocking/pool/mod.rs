//! The threads blocking apps run on: a pool of our own that wakes a thread
//! only when no thread is awake to take the job.
//!
//! tokio's `spawn_blocking` wakes a thread for every call (a condvar
//! notify and a futex wake on the runtime thread, a condvar wait on the
//! pool's), a large part of the runtime thread's time when it serves small
//! requests. Here jobs queued behind busy workers run as soon as one
//! finishes, and a watchdog adds workers when none is taken for a tick, so
//! a slow app holds up no other request (see [`threads`]).
//!
//! The files import one way: `state` (what the pool knows and decides) and
//! `wake_batch` (batched wake-ups) under `threads` (the `Pool` and its
//! threads), under this front. The state lives in a [`Pool`] value; the
//! process has one, [`global`], whose workers serve every runtime.

mod state;
mod threads;
mod wake_batch;

use std::task::Waker;

use crate::rt::Wakeups;
pub(crate) use threads::Pool;

/// The process's pool.
static GLOBAL: Pool = Pool::new();

/// The process's pool, which [`blocking`](crate::blocking::blocking) apps
/// run on.
pub(crate) fn global() -> &'static Pool {
    &GLOBAL
}

impl Pool {
    /// Runs `task` on a worker of this pool, inside the current runtime (so
    /// that it may `Handle::current().block_on(..)`).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub(crate) fn spawn(&'static self, task: impl FnOnce() + Send + 'static) {
        self.submit(tokio::runtime::Handle::current(), Box::new(task));
    }
}

/// Runs `wait`, a wait in gateway's own code (for the client to take a
/// chunk, for the request body). On a pool's worker, the worker counts as
/// blocked meanwhile: while every worker in a job is blocked, a job queued
/// wakes another at once instead of waiting for the watchdog. Streaming
/// apps wait like this all the time, and a tick is long next to a megabyte
/// sent.
pub(crate) fn while_blocked<R>(wait: impl FnOnce() -> R) -> R {
    match Pool::current() {
        Some(pool) => pool.while_blocked(wait),
        None => wait(),
    }
}

/// The wake-ups of a queue whose sender runs on `pool`: batched from its
/// workers, flushed by the receiving task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolWakeups(pub(crate) &'static Pool);

impl Wakeups for PoolWakeups {
    fn wake(&self, receiver: Waker) {
        // Elsewhere (a write handle moved to a thread of the app's own)
        // the watchdog might not be ticking to rescue a batch.
        match Pool::current() {
            Some(pool) if std::ptr::eq(pool, self.0) => pool.wakes.wake(receiver),
            _ => receiver.wake(),
        }
    }

    fn before_receive(&self) {
        // This task may be the one other responses' wake-ups wait on; and
        // one gone before it ran must not keep the batch it was woken for.
        self.0.wakes.flush();
    }

    fn while_blocked<R>(&self, wait: impl FnOnce() -> R) -> R {
        while_blocked(wait)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc, Barrier};
    use std::time::Duration;

    use tokio::runtime::Handle;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    }

    /// A pool of the test's own, so that no other test's jobs or wake-ups
    /// mix with its.
    fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::new()))
    }

    #[test]
    fn jobs_that_wait_on_each_other_each_get_a_thread() {
        // Each job blocks until all have started: with a job queued behind
        // a blocked one, none would return.
        let rt = runtime();
        let _entered = rt.enter();
        let pool = pool();
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let (tx, rx) = mpsc::channel();
        for _ in 0..n {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            pool.spawn(move || {
                barrier.wait();
                tx.send(()).expect("the test waits");
            });
        }
        for _ in 0..n {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("every job ran, none behind a blocked one");
        }
    }

    #[test]
    fn a_job_runs_inside_the_runtime_that_submitted_it() {
        let rt = runtime();
        let _entered = rt.enter();
        let (tx, rx) = mpsc::channel();
        pool().spawn(move || {
            let inside = Handle::try_current().map(|h| h.block_on(async { 7 }));
            tx.send(inside.ok()).expect("the test waits");
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(Some(7)));
    }

    #[test]
    fn wake_ups_batch_only_on_the_queue_s_own_pool() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::Wake;

        #[derive(Default)]
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        let rt = runtime();
        let _entered = rt.enter();
        let (ours, other) = (pool(), pool());
        let (first, second, elsewhere) = (
            Arc::new(Count::default()),
            Arc::new(Count::default()),
            Arc::new(Count::default()),
        );
        let (tx, rx) = mpsc::channel();
        {
            let (first, second, elsewhere) = (first.clone(), second.clone(), elsewhere.clone());
            ours.spawn(move || {
                PoolWakeups(ours).wake(Waker::from(first));
                PoolWakeups(ours).wake(Waker::from(second));
                PoolWakeups(other).wake(Waker::from(elsewhere));
                tx.send(()).expect("the test waits");
            });
        }
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the job ran");
        let count = |c: &Count| c.0.load(Ordering::SeqCst);
        assert_eq!(count(&first), 1, "the first goes at once");
        assert_eq!(count(&elsewhere), 1, "another pool's queue: at once");
        // The second waits for the first task to flush, or for a tick of
        // the watchdog (which ticks while the pool has jobs).
        PoolWakeups(ours).before_receive();
        assert_eq!(count(&second), 1);
        // Outside any job, a wake-up goes at once.
        let outside = Arc::new(Count::default());
        PoolWakeups(ours).wake(Waker::from(outside.clone()));
        assert_eq!(count(&outside), 1);
    }
}
