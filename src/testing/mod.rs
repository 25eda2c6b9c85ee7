//! Test helpers: drive any app through the real server, in memory.

mod client;

#[cfg(feature = "ws")]
pub use client::TestWebSocket;
pub use client::{TestClient, TestResponse};

/// Sends messages on a `TestWebSocket` (`socket.send(msg).await`),
/// re-exported so that tests need no `futures-util` of their own.
pub use futures_util::SinkExt;
/// Reads messages from a `TestWebSocket` (`socket.next().await`),
/// re-exported so that tests need no `futures-util` of their own.
pub use futures_util::StreamExt;
