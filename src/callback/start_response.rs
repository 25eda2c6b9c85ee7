use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};

use super::state::Shared;
use super::Writer;
use crate::error::{BoxError, Error};

/// The `start_response` callable handed to a callback-style app.
///
/// Cloning it is cheap; all clones speak for the same response.
#[derive(Clone)]
pub struct StartResponse {
    shared: Arc<Shared>,
}

impl StartResponse {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        StartResponse { shared }
    }

    /// Sets the status and headers and returns the write handle.
    ///
    /// Nothing goes on the wire yet: the head is sent with the first
    /// non-empty chunk, or when the app returns (spec 2.5).
    ///
    /// # Errors
    ///
    /// [`Error::is_start_response_twice`] when called a second time (spec 2.2).
    pub fn start(&self, status: StatusCode, headers: HeaderMap) -> Result<Writer, Error> {
        self.start_parts(head(status, headers))
    }

    /// Like [`start`](StartResponse::start), with a whole response head: use it
    /// to pass extensions along (such as a [hijack](crate::hijack) handler),
    /// or to forward a head produced by a return-style app.
    ///
    /// # Errors
    ///
    /// As for [`start`](StartResponse::start).
    pub fn start_parts(&self, head: http::response::Parts) -> Result<Writer, Error> {
        self.shared.start(head, None)?;
        Ok(Writer::new(self.shared.clone()))
    }

    /// `start_response(status, headers, exc_info)`: replaces the pending
    /// status and headers after an error, for example to turn a half-built
    /// page into an error page. Allowed any number of times until the head
    /// is sent (spec 2.3).
    ///
    /// # Errors
    ///
    /// [`Error::is_headers_already_sent`] once the head went out, with
    /// `error` as its [`source`](std::error::Error::source): the app should
    /// give up, and the connection is aborted.
    pub fn start_with_error(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        error: impl Into<BoxError>,
    ) -> Result<Writer, Error> {
        self.shared
            .start(head(status, headers), Some(error.into()))?;
        Ok(Writer::new(self.shared.clone()))
    }

    /// Whether `start` has been called.
    pub fn is_started(&self) -> bool {
        self.shared.is_started()
    }
}

fn head(status: StatusCode, headers: HeaderMap) -> http::response::Parts {
    let (mut head, ()) = http::Response::new(()).into_parts();
    head.status = status;
    head.headers = headers;
    head
}

impl fmt::Debug for StartResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartResponse")
            .field("started", &self.is_started())
            .finish()
    }
}
