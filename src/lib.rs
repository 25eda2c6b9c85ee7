//! Run callback-style, return-style and connection-hijacking web apps side
//! by side on one hyper server.
//!
//! Python's WSGI made apps call `start_response(status, headers)`, which
//! returns a `write()` callable; the WSGI 2 drafts moved to returning
//! `(status, headers, body)`; WebSockets then broke both, with servers
//! handing raw sockets to apps behind middleware's back. `gateway` models the
//! three properly:
//!
//! - **Return style** ([`App`]): an async function from [`Environ`] to
//!   [`Response`] with a streaming [`Body`].
//! - **Callback style** ([`callback::CallbackApp`]): `start_response` returns
//!   a [`Writer`](callback::Writer) whose `write(chunk).await` completes when
//!   the server took the chunk to send it. [`two_to_one`] runs such an app as a
//!   return-style one, with no extra task or buffer; [`one_to_two`] goes the
//!   other way.
//! - **Blocking callback style** ([`blocking`]): ordinary synchronous code,
//!   run on the blocking pool, with a `write()` that blocks while the client
//!   is behind.
//! - **Hijacking** ([`hijack`]): any app, of either style, can take the
//!   connection over by returning an upgrade response that carries a handler;
//!   middleware in between does not need to know. [`ws`] builds WebSockets
//!   on it: `ws.recv().await`, `ws.send(msg).await`, return to close.
//!
//! All of them mount side by side on one [`Router`](routing::Router), behind
//! [`middleware`] that serves every style (access log, error catcher,
//! validator...), on one [`server`] (HTTP/1.1, HTTP/2, TLS, limits, graceful
//! shutdown). [`testing::TestClient`] drives any of them through the real
//! server in memory. The normative rules are in the crate's `spec/`
//! directory; tests cite them by number.
//!
//! # Example
//!
//! ```no_run
//! use gateway::callback::StartResponse;
//! use gateway::http::{HeaderMap, StatusCode};
//! use gateway::routing::Router;
//! use gateway::{two_to_one, Body, BoxError, Environ, Response};
//!
//! async fn hello(_env: Environ) -> Response {
//!     Response::new(Body::from("Hello, World!"))
//! }
//!
//! async fn legacy(_env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
//!     let write = start_response.start(StatusCode::OK, HeaderMap::new())?;
//!     write.write("Hello from a callback-style app!").await?;
//!     Ok(Body::empty())
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let app = Router::new()
//!         .route("/hello", hello)
//!         .mount("/legacy", two_to_one(legacy));
//!     let listener = gateway::server::bind("127.0.0.1:7000".parse().unwrap())?;
//!     gateway::serve(listener, app).await
//! }
//! ```

pub mod adapt;
mod app;
#[cfg(feature = "blocking")]
pub mod blocking;
mod body;
pub mod callback;
mod environ;
mod error;
pub mod hijack;
pub mod middleware;
pub mod response;
pub mod routing;
mod rt;
pub mod server;
mod status_page;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "ws")]
pub mod ws;

pub use adapt::{one_to_two, two_to_one};
pub use app::{App, Response};
pub use body::Body;
pub use environ::Environ;
pub use error::{BoxError, Error};
pub use response::IntoResponse;
pub use server::{serve, serve_connection};

pub use bytes::Bytes;
pub use http;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
