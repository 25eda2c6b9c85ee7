//! Test helpers: drive any app through the real server, in memory.

mod client;

pub use client::{TestClient, TestResponse, TestWebSocket};
