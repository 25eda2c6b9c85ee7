//! The pool's watchdog: the thread that keeps a slow app from holding up
//! the jobs queued behind it.
//!
//! Jobs queued while every worker is busy wait for one to finish: with
//! small apps that is soon, and cheaper than a wake-up per job. A worker in
//! a slow app (one that sleeps, or waits on a database) would hold them
//! up, so while any job runs the watchdog looks every tick, and when no
//! job was taken for a whole tick although some wait, adds workers for
//! them (like Go's sysmon retaking a processor from a blocked thread).
//!
//! It also wakes responses whose [batched wake-up](super::wakes) waited a
//! whole tick for the task it was left to.

use std::sync::PoisonError;
use std::thread;
use std::time::{Duration, Instant};

use super::pool::{AddWorker, Pool, Watchdog, KEEP_ALIVE};

/// How long queued jobs may wait without any being taken before workers
/// are added: the most a slow app delays another request, give or take a
/// tick.
const TICK: Duration = Duration::from_millis(2);

/// Ticks with no job running or queued before the watchdog parks; a busy
/// pool keeps it ticking rather than waking it for every job.
const IDLE_TICKS: u32 = 25;

const THREAD_NAME: &str = "gateway-pool-wd";

/// A job started while the watchdog was `was`: wakes or starts it (the
/// state already says `Ticking`).
pub(super) fn arm(pool: &'static Pool, was: Watchdog) {
    match was {
        Watchdog::Ticking => {}
        Watchdog::Parked => pool.watch.notify_one(),
        Watchdog::Absent => {
            let spawned = thread::Builder::new()
                .name(THREAD_NAME.to_owned())
                .spawn(move || watch(pool));
            if let Err(error) = spawned {
                // The next job to start tries again.
                tracing::error!(%error, "cannot start the blocking pool's watchdog");
                pool.lock().watchdog = Watchdog::Absent;
            }
        }
    }
}

fn watch(pool: &'static Pool) {
    let mut st = pool.lock();
    let mut last_taken = st.taken;
    let mut idle = 0;
    let mut wakes_seen = 0;
    loop {
        if st.running == 0 && st.queued() == 0 && !super::wakes::pending() {
            idle += 1;
        } else {
            idle = 0;
        }
        if idle > IDLE_TICKS {
            st.watchdog = Watchdog::Parked;
            while st.watchdog == Watchdog::Parked {
                let (guard, waited) = pool
                    .watch
                    .wait_timeout(st, KEEP_ALIVE)
                    .unwrap_or_else(PoisonError::into_inner);
                st = guard;
                if waited.timed_out() && st.watchdog == Watchdog::Parked && st.threads() == 0 {
                    st.watchdog = Watchdog::Absent;
                    return;
                }
            }
            idle = 0;
            last_taken = st.taken;
        }
        let tick = Instant::now();
        st = pool
            .watch
            .wait_timeout(st, TICK)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        // Wakers may run anything: not under the lock.
        drop(st);
        super::wakes::rescue(&mut wakes_seen);
        st = pool.lock();
        let progress = st.taken != last_taken;
        last_taken = st.taken;
        // Only workers in apps can hold jobs up: ones on their way to the
        // queue take them as soon as they get a CPU, and more threads would
        // not get one sooner. A late tick means the CPU was too busy to
        // tell a slow app from a starved one.
        let waiting = st.queued().saturating_sub(st.coming());
        if progress || waiting == 0 || st.running == 0 || tick.elapsed() > 2 * TICK {
            continue;
        }
        // At most as many as are stuck: enough when apps block, and when
        // the CPU was only too busy to run them (the runtime thread handling
        // hundreds of connections in one go), a few threads too many
        // rather than one per queued job.
        let (mut notify, mut spawn) = (0, 0);
        for _ in 0..waiting.min(st.running) {
            match st.add_worker() {
                AddWorker::Notify => notify += 1,
                AddWorker::Spawn => spawn += 1,
                AddWorker::None => break,
            }
        }
        drop(st);
        tracing::debug!(
            notify,
            spawn,
            "blocking pool: no job taken for a tick, adding workers"
        );
        for _ in 0..notify {
            pool.act(AddWorker::Notify);
        }
        for _ in 0..spawn {
            pool.act(AddWorker::Spawn);
        }
        st = pool.lock();
    }
}
