//! Keeps count of running hijack handlers and connections, and tells them
//! when the server shuts down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use super::shutdown::{Phase, ShutdownSignal};

/// Shared by a server and every connection and handler it started.
#[derive(Clone, Debug)]
pub(crate) struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    live: AtomicUsize,
    all_done: Notify,
    phase: watch::Sender<Phase>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            inner: Arc::new(Inner {
                live: AtomicUsize::new(0),
                all_done: Notify::new(),
                phase: watch::Sender::new(Phase::Running),
            }),
        }
    }
}

/// Held by a running handler; dropping it counts the handler out.
#[derive(Debug)]
pub(crate) struct Ticket {
    registry: Registry,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.registry.inner.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.registry.inner.all_done.notify_waiters();
        }
    }
}

impl Registry {
    /// Counts a handler in until the ticket drops.
    pub(crate) fn enter(&self) -> Ticket {
        self.inner.live.fetch_add(1, Ordering::AcqRel);
        Ticket {
            registry: self.clone(),
        }
    }

    /// How many handlers are running.
    pub(crate) fn live(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    pub(crate) fn signal(&self) -> ShutdownSignal {
        ShutdownSignal::new(self.inner.phase.subscribe())
    }

    /// Tells every handler that the server is shutting down.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.phase.send_replace(Phase::Draining);
    }

    /// Tells everything still running to stop now.
    pub(crate) fn cut(&self) {
        self.inner.phase.send_replace(Phase::Cut);
    }

    /// Waits until no handler runs.
    pub(crate) async fn wait_idle(&self) {
        loop {
            // Registered before the check, so a wake-up in between is kept.
            let notified = self.inner.all_done.notified();
            if self.live() == 0 {
                return;
            }
            notified.await;
        }
    }
}
