//! Apps and handlers that several spec files serve: one copy each, so that a
//! test reads the same "hello" or "echo" wherever it appears.

use gateway::http::StatusCode;
use gateway::ws::WebSocket;
use gateway::{Body, Environ, Response};

/// Answers every request with `Hello, World!`.
pub async fn hello(_env: Environ) -> Response {
    Response::new(Body::from("Hello, World!"))
}

/// A WebSocket handler that sends back every message it receives, until the
/// peer is gone.
pub async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// Reads its whole request body and says how that went: `read N` (200),
/// `too large` (413), `timed out` (408), or `error ...` (200).
pub async fn read_body(mut env: Environ) -> Response {
    let (status, text) = match env.take_body().collect(usize::MAX).await {
        Ok(body) => (StatusCode::OK, format!("read {}", body.len())),
        Err(e) if e.is_body_too_large() => (StatusCode::PAYLOAD_TOO_LARGE, "too large".into()),
        Err(e) if e.is_body_timeout() => (StatusCode::REQUEST_TIMEOUT, "timed out".into()),
        Err(e) => (StatusCode::OK, format!("error {e}")),
    };
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    res
}
