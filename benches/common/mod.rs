//! What the in-process benchmarks share: a request, and calling an app
//! with it to the end of its body.

use gateway::http::Request;
use gateway::{App, Body, Environ};

/// `GET /hello`, as a bare request.
pub(crate) fn env() -> Environ {
    Environ::from_request(Request::get("/hello").body(Body::empty()).unwrap())
}

/// Calls `app` and drains the body; the number of bytes it gave.
pub(crate) async fn drain(app: &impl App) -> usize {
    let mut body = app.call(env()).await.into_body();
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        n += chunk.unwrap().len();
    }
    n
}
