//! A pool's threads: workers that run jobs, and the watchdog that keeps a
//! slow app from holding up the jobs queued behind it.
//!
//! A worker that finishes a job looks at the queue again, and searches a
//! little (yielding its CPU, so that the runtime thread can queue more)
//! before it parks; a job queued while a worker is awake is left for that
//! worker. Jobs queued while every worker is busy wait for one to finish:
//! with small apps that is soon, and cheaper than a wake-up per job. A
//! worker in a slow app (one that sleeps, or waits on a database) would
//! hold them up, so while any job runs the watchdog looks every tick, and
//! when no job was taken for a whole tick although some wait, adds workers
//! for them (like Go's sysmon retaking a processor from a blocked thread).
//! It also wakes responses whose [batched wake-up](super::wake_batch)
//! waited a whole tick for the task it was left to.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::state::{AddWorker, Job, State, Watchdog};
use super::wake_batch::WakeBatch;

/// A worker parked this long without a job exits; so does a parked
/// watchdog, once no worker is left.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// How many times a worker that found the queue empty yields its CPU and
/// looks again before it parks. Under load the runtime thread queues the
/// next job meanwhile, and no one pays for a wake-up.
const SEARCH_ROUNDS: usize = 4;

/// How long queued jobs may wait without any being taken before workers
/// are added: the most a slow app delays another request, give or take a
/// tick.
const TICK: Duration = Duration::from_millis(2);

/// Ticks with no job running or queued before the watchdog parks; a busy
/// pool keeps it ticking rather than waking it for every job.
const IDLE_TICKS: u32 = 25;

/// What profilers and `/proc` call the threads.
const WORKER_NAME: &str = "gateway-pool";
const WATCHDOG_NAME: &str = "gateway-pool-wd";

/// A pool of threads for blocking jobs, each job entering the runtime it
/// came from. Its threads hold it by `&'static`: a pool lives as long as
/// the process.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Parked workers wait here.
    work: Condvar,
    /// The watchdog waits here between ticks, and while it is parked.
    watch: Condvar,
    /// Wake-ups of responses from this pool's workers.
    pub(super) wakes: WakeBatch,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

thread_local! {
    /// The pool whose job this thread is running, if any.
    static CURRENT: Cell<Option<&'static Pool>> = const { Cell::new(None) };
}

impl Pool {
    pub(crate) const fn new() -> Self {
        Pool {
            state: Mutex::new(State::new()),
            work: Condvar::new(),
            watch: Condvar::new(),
            wakes: WakeBatch::new(),
        }
    }

    /// The pool whose job this thread is running, if any.
    pub(super) fn current() -> Option<&'static Pool> {
        CURRENT.get()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught, so the
        // state is always whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `task` on a worker, inside the runtime of `handle`.
    pub(super) fn submit(
        &'static self,
        handle: tokio::runtime::Handle,
        task: Box<dyn FnOnce() + Send>,
    ) {
        let add = self.lock().submit(Job { handle, task });
        self.act(add);
    }

    /// Runs `wait`, a wait of this pool's job in gateway's own code,
    /// counting its worker as blocked (see [`State::block`]).
    pub(super) fn while_blocked<R>(&'static self, wait: impl FnOnce() -> R) -> R {
        struct Unblock(&'static Pool);
        impl Drop for Unblock {
            fn drop(&mut self) {
                self.0.lock().blocked -= 1;
            }
        }
        let add = self.lock().block();
        self.act(add);
        let _unblock = Unblock(self);
        wait()
    }

    /// Gets one more worker: a parked one, else a new one.
    fn act(&'static self, add: AddWorker) {
        match add {
            AddWorker::Notify => self.work.notify_one(),
            AddWorker::Spawn => self.spawn_worker(),
            AddWorker::None => {}
        }
    }

    fn spawn_worker(&'static self) {
        let spawned = thread::Builder::new()
            .name(WORKER_NAME.to_owned())
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
                // Not run as our job: the watchdog does not watch it.
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
            if let Some((job, watchdog)) = st.take_job() {
                drop(st);
                self.arm_watchdog(watchdog);
                self.run(job);
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

    /// Runs a job as this pool's, in its runtime.
    fn run(&'static self, job: Job) {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.set(None);
            }
        }
        let _runtime = job.handle.enter();
        CURRENT.set(Some(self));
        let _reset = Reset;
        // The blocking adapter catches the app's panics; this only keeps
        // the worker alive should anything else panic.
        if catch_unwind(AssertUnwindSafe(job.task)).is_err() {
            tracing::error!("a blocking-pool job panicked");
        }
    }

    /// A job started while the watchdog was `was`: wakes or starts it (the
    /// state already says `Ticking`).
    fn arm_watchdog(&'static self, was: Watchdog) {
        match was {
            Watchdog::Ticking => {}
            Watchdog::Parked => self.watch.notify_one(),
            Watchdog::Absent => {
                let spawned = thread::Builder::new()
                    .name(WATCHDOG_NAME.to_owned())
                    .spawn(move || self.watch());
                if let Err(error) = spawned {
                    // The next job to start tries again.
                    tracing::error!(%error, "cannot start the blocking pool's watchdog");
                    self.lock().watchdog = Watchdog::Absent;
                }
            }
        }
    }

    /// The watchdog's life: a tick while jobs run or wait, parked while
    /// none do, gone once no worker is left either.
    fn watch(&'static self) {
        let mut st = self.lock();
        let mut last_taken = st.taken;
        let mut idle = 0;
        let mut wakes_seen = 0;
        loop {
            if st.running == 0 && st.queue.is_empty() && !self.wakes.pending() {
                idle += 1;
            } else {
                idle = 0;
            }
            if idle > IDLE_TICKS {
                st.watchdog = Watchdog::Parked;
                while st.watchdog == Watchdog::Parked {
                    let (guard, waited) = self
                        .watch
                        .wait_timeout(st, KEEP_ALIVE)
                        .unwrap_or_else(PoisonError::into_inner);
                    st = guard;
                    if waited.timed_out() && st.watchdog == Watchdog::Parked && st.threads == 0 {
                        st.watchdog = Watchdog::Absent;
                        return;
                    }
                }
                idle = 0;
                last_taken = st.taken;
            }
            let tick = Instant::now();
            st = self
                .watch
                .wait_timeout(st, TICK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            // Wakers may run anything: not under the lock.
            drop(st);
            self.wakes.rescue(&mut wakes_seen);
            st = self.lock();
            let progress = st.taken != last_taken;
            last_taken = st.taken;
            // A late tick means the CPU was too busy to tell a slow app
            // from a starved one.
            if progress || tick.elapsed() > 2 * TICK {
                continue;
            }
            let (notify, spawn) = st.rescue_stuck();
            if notify + spawn == 0 {
                continue;
            }
            drop(st);
            tracing::debug!(
                notify,
                spawn,
                "blocking pool: no job taken for a tick, adding workers"
            );
            for _ in 0..notify {
                self.act(AddWorker::Notify);
            }
            for _ in 0..spawn {
                self.act(AddWorker::Spawn);
            }
            st = self.lock();
        }
    }
}
