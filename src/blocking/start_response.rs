use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::event::{Event, EventTx};
use crate::callback::start_response::head;
use crate::callback::state::Shared;
use crate::error::{BoxError, Error, Kind};

/// `start_response` for a blocking app; see
/// [`callback::StartResponse`](crate::callback::StartResponse) for the rules.
#[derive(Clone)]
pub struct StartResponse {
    pub(crate) shared: Arc<Shared>,
    pub(crate) tx: EventTx,
}

impl StartResponse {
    /// Sets the status and headers; returns the write handle (spec 2.5).
    ///
    /// # Errors
    ///
    /// [`Error::is_start_response_twice`] on a second call (spec 2.2).
    pub fn start(&self, status: StatusCode, headers: HeaderMap) -> Result<Writer, Error> {
        self.start_parts(head(status, headers))
    }

    /// Like [`start`](StartResponse::start), with a whole head (extensions
    /// included).
    ///
    /// # Errors
    ///
    /// As [`start`](StartResponse::start).
    pub fn start_parts(&self, head: http::response::Parts) -> Result<Writer, Error> {
        self.shared.start(head, None)?;
        Ok(self.writer())
    }

    /// `start_response(status, headers, exc_info)`: replaces the head until
    /// it is sent (spec 2.3).
    ///
    /// # Errors
    ///
    /// [`Error::is_headers_already_sent`] once the head went out.
    pub fn start_with_error(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        error: impl Into<BoxError>,
    ) -> Result<Writer, Error> {
        self.shared
            .start(head(status, headers), Some(error.into()))?;
        Ok(self.writer())
    }

    fn writer(&self) -> Writer {
        Writer {
            shared: self.shared.clone(),
            tx: self.tx.clone(),
        }
    }

    /// Sends the head if it has not gone yet; `false` when the client left.
    pub(crate) fn send_head(shared: &Shared, tx: &EventTx) -> bool {
        match shared.take_head() {
            Some(head) => tx.send_blocking(Event::Head(head, None)).is_ok(),
            None => true,
        }
    }
}

/// The blocking `write()` handle.
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
    tx: EventTx,
}

impl Writer {
    /// Sends one chunk, blocking while the queue to the client (eight
    /// chunks) is full: a slow client slows the app down. The first
    /// non-empty chunk sends the head along; an empty chunk sends nothing.
    ///
    /// # Errors
    ///
    /// [`Error::is_client_gone`] once the client went away: the app should
    /// stop; [`Error::is_write_after_close`] after the response completed.
    pub fn write(&self, chunk: impl Into<Bytes>) -> Result<(), Error> {
        let chunk = chunk.into();
        self.shared.check_write()?;
        if chunk.is_empty() {
            return Ok(());
        }
        // The first chunk travels with the head: one wake-up, not two.
        let event = match self.shared.take_head() {
            Some(head) => Event::Head(head, Some(chunk)),
            None => Event::Chunk(chunk),
        };
        self.tx
            .send_blocking(event)
            .map_err(|_| Error::new(Kind::ClientGone))
    }
}

impl fmt::Debug for StartResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartResponse").finish_non_exhaustive()
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}
