//! The header read timeout, kept per connection instead of per request.
//!
//! hyper can time the reading of each request head itself, but it arms a
//! fresh timer for every request: an allocation, a timer-wheel insert and
//! removal, and every wait for the socket then carries a timeout. Here a
//! connection has one deadline, which wakes at most once per timeout
//! period; a request only counts itself in flight and, when its response
//! is done, notes the time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use crate::rt::{Deadline, Inline};

/// What one connection is doing: how many requests are in flight, and
/// since when it has had none.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// The app took the connection over (see `write_timeout`).
    hijacked: AtomicBool,
    /// When the last request in flight finished, in milliseconds since
    /// `epoch`.
    idle_since: AtomicU64,
    epoch: Instant,
}

impl Activity {
    /// A connection idle from now on.
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            hijacked: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Marks a request (its head read) in flight until the returned guard,
    /// which travels with the response body, is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Notes that the app took the connection over.
    pub(crate) fn hijacked(&self) {
        self.hijacked.store(true, Ordering::Release);
    }

    pub(crate) fn is_hijacked(&self) -> bool {
        self.hijacked.load(Ordering::Acquire)
    }

    /// When the connection will have waited too long for a request head;
    /// `None` while a request is in flight.
    fn deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let idle_since = Duration::from_millis(self.idle_since.load(Ordering::Acquire));
        Some(self.epoch + idle_since + timeout)
    }
}

/// A request in flight; dropping it (when hyper is done with the response
/// body, or the request is abandoned) makes the connection idle again.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    /// Notes that this request's app took the connection over.
    pub(crate) fn hijacked(&self) {
        self.0.hijacked();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.epoch.elapsed().as_millis();
        activity
            .idle_since
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Release);
        // After the time, so that whoever sees no request in flight sees
        // when the last one ended.
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Completes once the connection has gone `timeout` without a request in
/// flight: waiting for its first request head, for a slow head to
/// finish, or idle between requests.
pub(crate) fn expired(activity: Arc<Activity>, timeout: Duration) -> Expired {
    Expired {
        deadline: Deadline::armed_at(Instant::now() + timeout),
        activity,
        timeout,
    }
}

/// The future [`expired`] returns; a named type, so that a connection's
/// future can hold it without boxing.
#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct Expired {
    /// Armed from the start: a connection waits for its first request.
    #[pin]
    deadline: Deadline<Inline>,
    activity: Arc<Activity>,
    timeout: Duration,
}

impl Future for Expired {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            ready!(this.deadline.as_mut().poll_wait(*this.timeout, cx));
            let now = Instant::now();
            match this.activity.deadline(*this.timeout) {
                Some(deadline) if deadline <= now => return Poll::Ready(()),
                Some(deadline) => this.deadline.as_mut().arm_at(deadline),
                // Busy: look again a whole timeout from now.
                None => this.deadline.as_mut().arm_at(now + *this.timeout),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expires_only_after_a_whole_timeout_without_requests() {
        let timeout = Duration::from_secs(30);
        let activity = Activity::new();
        let watcher = {
            let activity = activity.clone();
            tokio::spawn(async move {
                expired(activity, timeout).await;
                Instant::now()
            })
        };

        // A request arrives after 20 s and takes 40 s: no expiry meanwhile.
        tokio::time::sleep(Duration::from_secs(20)).await;
        let request = activity.begin();
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert!(!watcher.is_finished());
        drop(request);

        // Idle from then on: alive 29 s later, expired at 30 s.
        let idle_from = Instant::now();
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert!(!watcher.is_finished());
        let idle = watcher.await.unwrap() - idle_from;
        assert!(
            idle >= timeout && idle <= timeout + Duration::from_millis(10),
            "{idle:?}"
        );
    }
}
