//! The start of a graceful shutdown, as a flag that every connection and
//! hijack handler waits on: [`ShutdownFlag::raise`] once, and every
//! [`Raised`] completes.
//!
//! `tokio::sync::watch` (and hyper-util's graceful shutdown, built on it)
//! takes a lock on every poll of a waiting future, to refresh its waker.
//! A connection polls its shutdown future each time it wakes, so that lock
//! was paid once per request and once per WebSocket message. A [`Raised`]
//! here registers its waker once and, while the task's waker stays the
//! same, a later poll is one atomic load.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use slab::Slab;

/// The trigger: [`raise`](ShutdownFlag::raise) once, and every [`Raised`] completes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShutdownFlag {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    raised: AtomicBool,
    /// The wakers of the waits not yet complete, by slot.
    wakers: Mutex<Slab<Waker>>,
}

impl Inner {
    fn wakers(&self) -> MutexGuard<'_, Slab<Waker>> {
        // Wakers are plain data; a panic elsewhere leaves them usable.
        self.wakers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ShutdownFlag {
    /// Begins the shutdown: wakes every waiting [`Raised`]; later ones
    /// complete at once.
    pub(crate) fn raise(&self) {
        // Set before the waiters are read: a wait registering meanwhile
        // sees the flag when it looks again after registering.
        self.inner.raised.store(true, Ordering::SeqCst);
        for (_, waker) in self.inner.wakers().iter() {
            waker.wake_by_ref();
        }
    }

    /// Whether [`raise`](ShutdownFlag::raise) was called.
    pub(crate) fn is_raised(&self) -> bool {
        self.inner.raised.load(Ordering::Acquire)
    }

    /// A future that completes once the flag is raised.
    pub(crate) fn wait(&self) -> Raised {
        Raised {
            inner: self.inner.clone(),
            slot: None,
        }
    }
}

/// Completes once its [`ShutdownFlag`] is raised. Cheap to poll again: it takes the
/// lock only to register a waker it has not registered before.
#[derive(Debug)]
pub(crate) struct Raised {
    inner: Arc<Inner>,
    /// Where our waker is registered, and a copy to compare against.
    slot: Option<(usize, Waker)>,
}

impl Future for Raised {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.inner.raised.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        match &mut this.slot {
            Some((_, waker)) if waker.will_wake(cx.waker()) => return Poll::Pending,
            Some((key, waker)) => {
                waker.clone_from(cx.waker());
                this.inner.wakers()[*key].clone_from(cx.waker());
            }
            None => {
                let key = this.inner.wakers().insert(cx.waker().clone());
                this.slot = Some((key, cx.waker().clone()));
            }
        }
        // A raise between the first look and the registration did not see
        // our waker; it had set the flag already.
        if this.inner.raised.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Raised {
    fn drop(&mut self) {
        if let Some((key, _)) = self.slot.take() {
            self.inner.wakers().try_remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn raise_wakes_every_wait_and_later_waits_are_ready_at_once() {
        let flag = ShutdownFlag::default();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut a = flag.wait();
        let mut b = flag.wait();
        assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut b).poll(&mut cx).is_pending());
        // Polled again with the same waker: still registered once each.
        assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
        assert_eq!(flag.inner.wakers().len(), 2);

        flag.raise();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(Pin::new(&mut a).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut b).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut flag.wait()).poll(&mut cx).is_ready());
        assert!(flag.is_raised());
    }

    #[test]
    fn a_new_waker_replaces_the_old_and_a_dropped_wait_leaves() {
        let flag = ShutdownFlag::default();
        let (old, old_waker) = counting_waker();
        let (new, new_waker) = counting_waker();
        let mut wait = flag.wait();
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&old_waker))
            .is_pending());
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&new_waker))
            .is_pending());
        let mut gone = flag.wait();
        assert!(Pin::new(&mut gone)
            .poll(&mut Context::from_waker(&old_waker))
            .is_pending());
        drop(gone);
        assert_eq!(flag.inner.wakers().len(), 1);

        flag.raise();
        assert_eq!(old.0.load(Ordering::SeqCst), 0);
        assert_eq!(new.0.load(Ordering::SeqCst), 1);
    }
}
