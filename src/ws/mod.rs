//! WebSockets on top of [hijacking](crate::hijack), with
//! [tokio-tungstenite] underneath.
//!
//! A handler is as plain as eventlet's: [`recv`](WebSocket::recv) the next
//! message (`None` when the peer closed), [`send`](WebSocket::send) one,
//! return to close with 1000.
//!
//! ```no_run
//! use gateway::ws::{self, WebSocket};
//!
//! async fn echo(mut ws: WebSocket) {
//!     while let Some(msg) = ws.recv().await {
//!         if ws.send(msg).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = gateway::server::bind("127.0.0.1:7000".parse().unwrap())?;
//! gateway::serve(listener, ws::endpoint(echo)).await
//! # }
//! ```
//!
//! The endpoint checks the handshake before anything is upgraded (400 with
//! the reason for a malformed one, 426 for a plain HTTP request, 403 for an
//! `Origin` other than the page's own), picks a subprotocol, caps frame and
//! message sizes (1009), rejects invalid UTF-8 (1007) and protocol errors
//! (1002), answers pings, pings idle peers and drops dead ones, and closes
//! with 1001 when the server shuts down. See `spec/08-websocket.md`.
//!
//! To decide inside an ordinary app (after its own session or auth checks),
//! use [`Upgrade`] directly; it works from callback-style apps too, through
//! [`StartResponse::start_parts`](crate::callback::StartResponse::start_parts).
//!
//! [tokio-tungstenite]: https://docs.rs/tokio-tungstenite

mod close;
mod config;
mod driver;
mod endpoint;
mod event_loop;
mod handshake;
mod keepalive;
mod live_io;
mod run;
mod settings;
mod socket;
mod timed_write;

use std::future::Future;

pub use config::Config;
pub use endpoint::Endpoint;
pub use handshake::{Rejection, Upgrade};
pub use socket::{Sender, WebSocket};
pub use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
pub use tokio_tungstenite::tungstenite::protocol::CloseFrame;
pub use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A WebSocket endpoint: an [`App`](crate::App) that runs `handler` for
/// every accepted connection. Configure it with [`Endpoint::config`] and
/// [`Endpoint::fallback`].
pub fn endpoint<H, Fut>(handler: H) -> Endpoint<H>
where
    H: Fn(WebSocket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Endpoint::new(handler)
}
