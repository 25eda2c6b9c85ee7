//! Blocking callback-style apps: ordinary synchronous code, run on a pool
//! of threads of its own so it never stalls the server (P. J. Eby's thread
//! variant of the 2-to-1 adapter).
//!
//! The app is a plain function: it calls [`StartResponse::start`], then
//! writes with a [`Writer`] whose `write` blocks while the client is
//! behind, and/or returns [`Chunks`] that are produced on the app's thread.
//! The rules are those of the async callback style (spec 2, 10).
//!
//! ```
//! use gateway::blocking::{self, Chunks, StartResponse};
//! use gateway::http::{HeaderMap, StatusCode};
//! use gateway::{BoxError, Environ};
//!
//! fn hello(_env: Environ, start_response: StartResponse) -> Result<Chunks, BoxError> {
//!     let write = start_response.start(StatusCode::OK, HeaderMap::new())?;
//!     write.write("Hello, ")?; // blocks while the client is behind
//!     Ok(Chunks::from("World!"))
//! }
//!
//! let app = blocking::blocking(hello); // an App
//! ```

mod adapter;
mod channel;
mod chunks;
mod pool;
mod start_response;
mod wakes;
mod watchdog;

pub use adapter::{blocking, Blocking};
pub use chunks::Chunks;
pub use start_response::{StartResponse, Writer};

use bytes::Bytes;

use crate::environ::Environ;
use crate::error::{BoxError, Error};

/// A blocking callback-style app: `app(environ, start_response) -> chunks`,
/// called on a blocking thread.
pub trait BlockingApp: Send + Sync + 'static {
    /// Handles one request.
    ///
    /// # Errors
    ///
    /// Any: before the first byte it becomes a 500, after it an aborted
    /// connection (spec 2.7).
    fn call(&self, env: Environ, start_response: StartResponse) -> Result<Chunks, BoxError>;
}

impl<F> BlockingApp for F
where
    F: Fn(Environ, StartResponse) -> Result<Chunks, BoxError> + Send + Sync + 'static,
{
    fn call(&self, env: Environ, start_response: StartResponse) -> Result<Chunks, BoxError> {
        self(env, start_response)
    }
}

/// Reads the whole request body from blocking code, refusing more than
/// `limit` bytes.
///
/// # Errors
///
/// As [`Body::collect`](crate::Body::collect).
///
/// # Panics
///
/// If called outside a tokio runtime's context, or on a runtime thread (an
/// app run by [`blocking`] is on a pool thread, inside the runtime that
/// took the request).
pub fn read_body(env: &mut Environ, limit: usize) -> Result<Bytes, Error> {
    let body = env.take_body();
    let runtime = tokio::runtime::Handle::current();
    pool::while_blocked(|| runtime.block_on(body.collect(limit)))
}
