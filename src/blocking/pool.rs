//! The threads blocking apps run on: a pool of our own that wakes a thread
//! only when no thread is awake to take the job.
//!
//! tokio's `spawn_blocking` wakes a thread for every call (a condvar
//! notify and a futex wake on the runtime thread, a condvar wait on the
//! pool's), which cost the runtime thread half its time serving small
//! requests. Here a worker that finishes a job looks at the queue again,
//! and searches a little (yielding its CPU, so that the runtime thread can
//! queue more) before it parks; a job queued while a worker is awake is
//! left for that worker. Jobs queued behind busy workers run as soon as
//! one finishes; the [watchdog](super::watchdog) adds workers when none
//! is taken for a tick, so a slow app holds up no other request.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use tokio::runtime::Handle;

/// At most this many workers, like tokio's blocking pool; beyond, jobs
/// wait for a worker to finish.
const MAX_THREADS: usize = 512;

/// A worker parked this long without a job exits.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// How many times a worker that found the queue empty yields its CPU and
/// looks again before it parks. Under load the runtime thread queues the
/// next job meanwhile, and no one pays for a wake-up.
const SEARCH_ROUNDS: usize = 4;

/// What profilers and `/proc` call the workers.
const THREAD_NAME: &str = "gateway-pool";

/// The process's pool: its workers serve every runtime, each job entering
/// the runtime it came from.
static POOL: Pool = Pool::new();

/// Runs `task` on a worker of the pool, inside the current runtime (so
/// that it may `Handle::current().block_on(..)`).
///
/// # Panics
///
/// Outside a tokio runtime.
pub(super) fn spawn(task: impl FnOnce() + Send + 'static) {
    POOL.submit(Job {
        handle: Handle::current(),
        task: Box::new(task),
    });
}

thread_local! {
    /// Set while this thread runs a job of the pool.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is a worker running a job (so the watchdog ticks).
pub(super) fn in_job() -> bool {
    IN_JOB.get()
}

/// Runs `job` flagged as a job of the pool.
pub(super) fn as_job(job: impl FnOnce()) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_JOB.set(false);
        }
    }
    IN_JOB.set(true);
    let _reset = Reset;
    job();
}

/// Runs `wait`, a wait in gateway's own code (for the client to take a
/// chunk, for the request body), counting this worker as blocked: while
/// every worker in a job is blocked, a job queued wakes another at once
/// instead of waiting for the watchdog. Streaming apps wait like this all
/// the time, and a tick is long next to a megabyte sent.
pub(super) fn while_blocked<R>(wait: impl FnOnce() -> R) -> R {
    struct Unblock;
    impl Drop for Unblock {
        fn drop(&mut self) {
            POOL.lock().blocked -= 1;
        }
    }
    if !in_job() {
        return wait();
    }
    let mut st = POOL.lock();
    st.blocked += 1;
    // Jobs queued already would wait for this one.
    let add = if st.running == st.blocked && st.queue.len() > st.coming() {
        st.add_worker()
    } else {
        AddWorker::None
    };
    drop(st);
    POOL.act(add);
    let _unblock = Unblock;
    wait()
}

pub(super) struct Pool {
    state: Mutex<State>,
    /// Parked workers wait here.
    work: Condvar,
    /// The watchdog waits here between ticks, and while it is parked.
    pub(super) watch: Condvar,
}

pub(super) struct State {
    queue: VecDeque<Job>,
    /// Jobs taken off the queue so far: the watchdog's sign of progress.
    pub(super) taken: u64,
    /// Workers alive, starting ones included.
    threads: usize,
    /// Spawned, not yet looking at the queue.
    starting: usize,
    /// Waiting on `work`.
    parked: usize,
    /// Parked workers notified and not yet up.
    wakeups: usize,
    /// Awake, looking for a job.
    searching: usize,
    /// Running a job.
    pub(super) running: usize,
    /// Running a job and waiting in gateway's code (`while_blocked`).
    blocked: usize,
    pub(super) watchdog: Watchdog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watchdog {
    Absent,
    /// Waiting for a worker to start a job.
    Parked,
    Ticking,
}

struct Job {
    handle: Handle,
    task: Box<dyn FnOnce() + Send>,
}

/// What to do, once the lock is released, to get one more worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddWorker {
    Notify,
    Spawn,
    /// At the thread limit: the job waits.
    None,
}

impl Pool {
    const fn new() -> Self {
        Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                taken: 0,
                threads: 0,
                starting: 0,
                parked: 0,
                wakeups: 0,
                searching: 0,
                running: 0,
                blocked: 0,
                watchdog: Watchdog::Absent,
            }),
            work: Condvar::new(),
            watch: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught, so the
        // state is always whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn submit(&'static self, job: Job) {
        let mut st = self.lock();
        st.queue.push_back(job);
        // An awake worker takes it when it next looks; the watchdog steps
        // in if every awake worker is stuck in a slow app.
        let unblocked = st.running.saturating_sub(st.blocked);
        if st.searching + unblocked + st.wakeups + st.starting > 0 {
            return;
        }
        let add = st.add_worker();
        drop(st);
        self.act(add);
    }

    /// Gets one more worker: a parked one, else a new one.
    pub(super) fn act(&'static self, add: AddWorker) {
        match add {
            AddWorker::Notify => self.work.notify_one(),
            AddWorker::Spawn => self.spawn_worker(),
            AddWorker::None => {}
        }
    }

    fn spawn_worker(&'static self) {
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || self.work());
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a blocking-pool thread; a job goes to tokio's pool");
            let mut st = self.lock();
            st.threads -= 1;
            st.starting -= 1;
            // Someone must run the job this worker was meant for.
            let job = st.queue.pop_front();
            drop(st);
            if let Some(Job { handle, task }) = job {
                // Not flagged as our job: the watchdog does not watch it.
                drop(handle.spawn_blocking(task));
            }
        }
    }

    /// A worker's life: jobs while there are any, a short search, then
    /// parked until notified or until it has been idle for `KEEP_ALIVE`.
    fn work(&'static self) {
        let mut st = self.lock();
        st.starting -= 1;
        loop {
            if let Some(job) = st.queue.pop_front() {
                st.taken += 1;
                st.running += 1;
                let watchdog = st.arm_watchdog();
                drop(st);
                super::watchdog::arm(self, watchdog);
                job.run();
                st = self.lock();
                st.running -= 1;
                continue;
            }
            // One searcher is enough to take the next job without a wake.
            if st.searching == 0 {
                st.searching += 1;
                for _ in 0..SEARCH_ROUNDS {
                    drop(st);
                    thread::yield_now();
                    st = self.lock();
                    if !st.queue.is_empty() {
                        break;
                    }
                }
                st.searching -= 1;
                if !st.queue.is_empty() {
                    continue;
                }
            }
            st.parked += 1;
            loop {
                let (guard, waited) = self
                    .work
                    .wait_timeout(st, KEEP_ALIVE)
                    .unwrap_or_else(PoisonError::into_inner);
                st = guard;
                if st.wakeups > 0 {
                    st.wakeups -= 1;
                    break;
                }
                if waited.timed_out() {
                    st.parked -= 1;
                    st.threads -= 1;
                    return;
                }
            }
            st.parked -= 1;
        }
    }
}

impl State {
    /// Picks the way to get one more worker, and counts it as coming.
    pub(super) fn add_worker(&mut self) -> AddWorker {
        if self.parked > self.wakeups {
            self.wakeups += 1;
            AddWorker::Notify
        } else if self.threads < MAX_THREADS {
            self.threads += 1;
            self.starting += 1;
            AddWorker::Spawn
        } else {
            AddWorker::None
        }
    }

    /// Workers that will look at the queue without being woken.
    pub(super) fn coming(&self) -> usize {
        self.searching + self.wakeups + self.starting
    }

    pub(super) fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn threads(&self) -> usize {
        self.threads
    }

    /// A job starts: the watchdog must tick while any runs. Returns what
    /// it was doing, so that it can be woken or started.
    fn arm_watchdog(&mut self) -> Watchdog {
        std::mem::replace(&mut self.watchdog, Watchdog::Ticking)
    }
}

impl Job {
    fn run(self) {
        let _runtime = self.handle.enter();
        // The blocking adapter catches the app's panics; this only keeps
        // the worker alive should anything else panic.
        if catch_unwind(AssertUnwindSafe(|| as_job(self.task))).is_err() {
            tracing::error!("a blocking-pool job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc, Barrier};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    }

    #[test]
    fn jobs_that_wait_on_each_other_each_get_a_thread() {
        // Each job blocks until all have started: with a job queued behind
        // a blocked one, none would return.
        let rt = runtime();
        let _entered = rt.enter();
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let (tx, rx) = mpsc::channel();
        for _ in 0..n {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            spawn(move || {
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
        spawn(move || {
            let inside = Handle::try_current().map(|h| h.block_on(async { 7 }));
            tx.send(inside.ok()).expect("the test waits");
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(Some(7)));
    }
}
