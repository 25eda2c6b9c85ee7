//! What the pool knows, and what it decides from it: the queue of jobs,
//! how many workers do what, and when to get another. Plain data under the
//! pool's lock; the threads act on the decisions outside it.

use std::collections::VecDeque;

use tokio::runtime::Handle;

/// At most this many workers, like tokio's blocking pool; beyond, jobs
/// wait for a worker to finish.
const MAX_THREADS: usize = 512;

/// A job: a task, and the runtime it enters.
pub(super) struct Job {
    pub(super) handle: Handle,
    pub(super) task: Box<dyn FnOnce() + Send>,
}

pub(super) struct State {
    pub(super) queue: VecDeque<Job>,
    /// Jobs taken off the queue so far: the watchdog's sign of progress.
    pub(super) taken: u64,
    /// Workers alive, starting ones included.
    pub(super) threads: usize,
    /// Spawned, not yet looking at the queue.
    pub(super) starting: usize,
    /// Waiting for work.
    pub(super) parked: usize,
    /// Parked workers notified and not yet up.
    pub(super) wakeups: usize,
    /// Awake, looking for a job.
    pub(super) searching: usize,
    /// Running a job.
    pub(super) running: usize,
    /// Running a job and waiting in gateway's code (`while_blocked`).
    pub(super) blocked: usize,
    pub(super) watchdog: Watchdog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watchdog {
    Absent,
    /// Waiting for a worker to start a job.
    Parked,
    Ticking,
}

/// What to do, once the lock is released, to get one more worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddWorker {
    Notify,
    Spawn,
    /// At the thread limit: the job waits.
    None,
}

impl State {
    pub(super) const fn new() -> Self {
        State {
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
        }
    }

    /// Queues `job`; a worker to get for it, unless one will look at the
    /// queue anyway.
    pub(super) fn submit(&mut self, job: Job) -> AddWorker {
        self.queue.push_back(job);
        // An awake worker takes it when it next looks; the watchdog steps
        // in if every awake worker is stuck in a slow app.
        let unblocked = self.running.saturating_sub(self.blocked);
        if self.searching + unblocked + self.wakeups + self.starting > 0 {
            return AddWorker::None;
        }
        self.add_worker()
    }

    /// A worker in a job begins to wait in gateway's code: while every
    /// worker in a job is blocked, jobs queued already get another worker
    /// at once instead of waiting for the watchdog.
    pub(super) fn block(&mut self) -> AddWorker {
        self.blocked += 1;
        if self.running == self.blocked && self.queue.len() > self.coming() {
            self.add_worker()
        } else {
            AddWorker::None
        }
    }

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

    /// Takes the next job, counting it as running. Returns what the
    /// watchdog was doing, so that it can be woken or started: it must
    /// tick while any job runs.
    pub(super) fn take_job(&mut self) -> Option<(Job, Watchdog)> {
        let job = self.queue.pop_front()?;
        self.taken += 1;
        self.running += 1;
        let watchdog = std::mem::replace(&mut self.watchdog, Watchdog::Ticking);
        Some((job, watchdog))
    }

    /// The watchdog's tick found no job taken since the last one: workers
    /// to add for the jobs that wait. Only workers in apps can hold jobs
    /// up: ones on their way to the queue take them as soon as they get a
    /// CPU, and more threads would not get one sooner. At most as many as
    /// are stuck: enough when apps block, and when the CPU was only too
    /// busy to run them (the runtime thread handling hundreds of
    /// connections in one go), a few threads too many rather than one per
    /// queued job.
    pub(super) fn rescue_stuck(&mut self) -> (usize, usize) {
        let waiting = self.queue.len().saturating_sub(self.coming());
        let (mut notify, mut spawn) = (0, 0);
        if waiting == 0 || self.running == 0 {
            return (notify, spawn);
        }
        for _ in 0..waiting.min(self.running) {
            match self.add_worker() {
                AddWorker::Notify => notify += 1,
                AddWorker::Spawn => spawn += 1,
                AddWorker::None => break,
            }
        }
        (notify, spawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        Job {
            handle: rt.handle().clone(),
            task: Box::new(|| {}),
        }
    }

    #[test]
    fn a_job_wakes_a_worker_only_when_none_is_awake() {
        let mut st = State::new();
        assert_eq!(st.submit(job()), AddWorker::Spawn);
        assert_eq!(st.submit(job()), AddWorker::None, "one is starting");
        st.starting = 0;
        st.parked = 1;
        assert_eq!(st.submit(job()), AddWorker::Notify);
    }

    #[test]
    fn every_running_worker_blocked_gets_the_queued_jobs_a_worker() {
        let mut st = State::new();
        st.running = 2;
        st.queue.push_back(job());
        assert_eq!(st.block(), AddWorker::None, "another worker runs free");
        assert_eq!(st.block(), AddWorker::Spawn);
    }

    #[test]
    fn a_stuck_pool_gets_at_most_one_worker_per_running_job() {
        let mut st = State::new();
        st.running = 2;
        for _ in 0..3 {
            st.queue.push_back(job());
        }
        assert_eq!(st.rescue_stuck(), (0, 2), "two jobs run, three wait");
        assert_eq!(st.rescue_stuck(), (0, 1), "two workers are on their way");
        assert_eq!(st.rescue_stuck(), (0, 0));
    }
}
