use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::poll_fn;

use super::state::Shared;
use crate::error::Error;

/// The `write()` handle returned by
/// [`StartResponse::start`](super::StartResponse::start).
///
/// Cloning it is cheap; clones may be moved to other tasks, and concurrent
/// writes go out one after the other.
///
/// The only way to get one is from `start`, so writing before
/// `start_response` (a runtime error in WSGI) cannot be written at all
/// (spec 2.4):
///
/// ```compile_fail
/// let write = gateway::callback::Writer::default();
/// ```
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Writer { shared }
    }

    /// Sends one chunk of the body.
    ///
    /// Completes once the transport has taken the chunk (backpressure: a
    /// client that reads slowly slows the app down, and memory stays
    /// bounded). The first non-empty chunk sends the head along. An empty
    /// chunk sends nothing.
    ///
    /// If the client goes away, the app's future is dropped at its next
    /// await point; a write from elsewhere (another task) then fails
    /// (spec 2.6).
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] when the response was dropped before the
    /// chunk was taken, [`Error::is_write_after_close`] when the response is
    /// already complete.
    pub async fn write(&self, chunk: impl Into<Bytes>) -> Result<(), Error> {
        let chunk: Bytes = chunk.into();
        if chunk.is_empty() {
            return self.shared.check_write();
        }
        let mut pending = PendingWrite {
            shared: &self.shared,
            chunk: Some(chunk),
            ticket: 0,
            done: false,
        };
        poll_fn(|cx| {
            let poll = pending
                .shared
                .poll_write(cx, &mut pending.chunk, &mut pending.ticket);
            pending.done = poll.is_ready();
            poll
        })
        .await
    }
}

/// A write in flight; if its future is dropped before the chunk was taken,
/// the chunk is withdrawn.
struct PendingWrite<'a> {
    shared: &'a Shared,
    chunk: Option<Bytes>,
    ticket: u64,
    done: bool,
}

impl Drop for PendingWrite<'_> {
    fn drop(&mut self) {
        if !self.done && self.ticket != 0 {
            self.shared.withdraw(self.ticket);
        }
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}
