use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};

use super::state::Shared;
use super::Writer;
use crate::error::{BoxError, Error};

type Hook = Arc<dyn Fn(&mut http::response::Parts) + Send + Sync>;

/// The `start_response` callable handed to a callback-style app.
///
/// Cloning it is cheap; all clones speak for the same response.
#[derive(Clone)]
pub struct StartResponse {
    shared: Arc<Shared>,
    /// Middleware's changes to the head, applied on every start.
    hook: Option<Hook>,
}

impl StartResponse {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        StartResponse { shared, hook: None }
    }

    /// A `start_response` for a wrapped app that passes every head through
    /// `f` first: callback-style middleware, the way WSGI middleware wraps
    /// `start_response` (spec 2.10).
    ///
    /// ```
    /// use gateway::callback::{CallbackApp, StartResponse};
    /// use gateway::http::HeaderValue;
    /// use gateway::{Body, BoxError, Environ};
    ///
    /// /// Adds `X-Frame-Options: DENY` to whatever the inner app answers.
    /// async fn no_frames(inner: &impl CallbackApp, env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    ///     let sr = sr.map_head(|head| {
    ///         head.headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    ///     });
    ///     inner.call(env, sr).await
    /// }
    /// ```
    pub fn map_head<F>(&self, f: F) -> StartResponse
    where
        F: Fn(&mut http::response::Parts) + Send + Sync + 'static,
    {
        let outer = self.hook.clone();
        let hook: Hook = Arc::new(move |head| {
            f(head);
            if let Some(outer) = &outer {
                outer(head);
            }
        });
        StartResponse {
            shared: self.shared.clone(),
            hook: Some(hook),
        }
    }

    fn hooked(&self, mut head: http::response::Parts) -> http::response::Parts {
        if let Some(hook) = &self.hook {
            hook(&mut head);
        }
        head
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
        self.shared.start(self.hooked(head), None)?;
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
        let head = self.hooked(head(status, headers));
        self.shared.start(head, Some(error.into()))?;
        Ok(Writer::new(self.shared.clone()))
    }

    /// Whether `start` has been called.
    pub fn is_started(&self) -> bool {
        self.shared.is_started()
    }
}

/// A response head with `status` and `headers` (and nothing else).
pub(crate) fn head(status: StatusCode, headers: HeaderMap) -> http::response::Parts {
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
