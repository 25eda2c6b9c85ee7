//! Keeps track of running hijack handlers: counts them, tells them when the
//! server shuts down, and cuts them when the grace period is over.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::shutdown::ShutdownSignal;
use crate::rt::ShutdownFlag;

/// Shared by a server and every handler it started.
#[derive(Clone, Debug)]
pub(crate) struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The running handlers' tasks, by id, so they can be cut.
    tasks: Mutex<Tasks>,
    all_done: Notify,
    /// `true` once graceful shutdown began.
    draining: ShutdownFlag,
}

#[derive(Debug, Default)]
struct Tasks {
    next_id: u64,
    running: HashMap<u64, AbortHandle>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            inner: Arc::new(Inner {
                tasks: Mutex::default(),
                all_done: Notify::new(),
                draining: ShutdownFlag::default(),
            }),
        }
    }
}

/// Held by a running handler's task; dropping it (the task ended or was
/// cut) counts the handler out.
#[derive(Debug)]
struct Ticket {
    registry: Registry,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut tasks = self.registry.tasks();
        tasks.running.remove(&self.id);
        if tasks.running.is_empty() {
            self.registry.inner.all_done.notify_waiters();
        }
    }
}

impl Registry {
    fn tasks(&self) -> MutexGuard<'_, Tasks> {
        self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `handler` in a task of its own, counted until it ends.
    pub(crate) fn spawn(&self, handler: impl Future<Output = ()> + Send + 'static) {
        // Spawned under the lock, so the task's ticket cannot leave the
        // table before its entry is in it.
        let mut tasks = self.tasks();
        let id = tasks.next_id;
        tasks.next_id += 1;
        let ticket = Ticket {
            registry: self.clone(),
            id,
        };
        let task = tokio::spawn(async move {
            let _ticket = ticket;
            handler.await;
        });
        tasks.running.insert(id, task.abort_handle());
    }

    /// How many handlers are running.
    pub(crate) fn live(&self) -> usize {
        self.tasks().running.len()
    }

    pub(crate) fn signal(&self) -> ShutdownSignal {
        ShutdownSignal::new(self.inner.draining.clone())
    }

    /// Tells every handler that the server is shutting down.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.draining.raise();
    }

    /// Stops every handler still running.
    pub(crate) fn cut(&self) {
        for task in self.tasks().running.values() {
            task.abort();
        }
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
