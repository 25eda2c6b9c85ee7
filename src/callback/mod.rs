//! Callback-style apps: `start_response(status, headers)` returns a write
//! handle, as in WSGI 1.
//!
//! A callback app gets the [`Environ`] and a [`StartResponse`]. It calls
//! [`StartResponse::start`] once with the status and headers, which returns a
//! [`Writer`]; then it either writes chunks with [`Writer::write`], returns a
//! [`Body`], or both (written chunks go first). The rules, numbered as in
//! `spec/02-callback.md`:
//!
//! - the head goes out with the first non-empty chunk, or when the app
//!   returns (2.5);
//! - calling `start` twice is an error; [`StartResponse::start_with_error`]
//!   may replace the head until it is sent (2.2, 2.3);
//! - returning without calling `start` is an error that becomes a 500 (2.1);
//!   writing before it cannot be expressed: the write handle only comes
//!   from `start` (2.4);
//! - `write(chunk).await` completes when the transport took the chunk, so a
//!   slow client slows the app down (2.6);
//! - an error before any byte went out becomes a 500; after, the connection
//!   is aborted (2.7);
//! - the returned body is dropped exactly once, whatever happens (2.8).
//!
//! Run one on the server with [`two_to_one`](crate::two_to_one).
//!
//! ```
//! use gateway::callback::StartResponse;
//! use gateway::http::{header, HeaderMap, HeaderValue, StatusCode};
//! use gateway::{Body, BoxError, Environ};
//!
//! async fn hello(_env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
//!     let headers = HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))]);
//!     let write = start_response.start(StatusCode::OK, headers)?;
//!     write.write("Hello, ").await?;
//!     Ok(Body::from("World!"))
//! }
//! # let app = gateway::two_to_one(hello);
//! ```

pub(crate) mod start_response;
pub(crate) mod state;
mod writer;

use std::future::Future;

pub use start_response::StartResponse;
pub use writer::Writer;

use crate::body::Body;
use crate::environ::Environ;
use crate::error::BoxError;

/// A callback-style app: `app(environ, start_response) -> body`.
///
/// Any `async` function or closure of that shape is one; see the
/// [module docs](self) for the rules it must follow.
pub trait CallbackApp: Send + Sync + 'static {
    /// Handles one request.
    fn call(
        &self,
        env: Environ,
        start_response: StartResponse,
    ) -> impl Future<Output = Result<Body, BoxError>> + Send;
}

impl<F, Fut> CallbackApp for F
where
    F: Fn(Environ, StartResponse) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Body, BoxError>> + Send,
{
    fn call(
        &self,
        env: Environ,
        start_response: StartResponse,
    ) -> impl Future<Output = Result<Body, BoxError>> + Send {
        self(env, start_response)
    }
}
