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
mod app;
mod chunks;
mod event;
mod pool;
mod start_response;

pub use adapter::{blocking, Blocking};
pub use app::BlockingApp;
pub use chunks::Chunks;
pub use start_response::{StartResponse, Writer};

use bytes::Bytes;

use crate::environ::Environ;
use crate::error::Error;

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
