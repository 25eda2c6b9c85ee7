//! One small WSGI app, ported step by step. The Python original:
//!
//! ```python
//! def greet(environ, start_response):
//!     name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
//!     if len(name) > 40:
//!         start_response("400 Bad Request", [("Content-Type", "text/plain")])
//!         return [b"name too long\n"]
//!     write = start_response("200 OK", [("Content-Type", "text/plain")])
//!     write(b"Hello, ")
//!     return [name.encode(), b"!\n"]
//! ```
//!
//! Each step below answers exactly the same; `tests/porting.rs` checks it.

use gateway::blocking::{self, Chunks};
use gateway::callback::StartResponse;
use gateway::http::{header, HeaderMap, HeaderValue, StatusCode};
use gateway::routing::{get, Router};
use gateway::{two_to_one, Body, BoxError, Environ, Response};

fn text() -> HeaderMap {
    HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))])
}

/// `environ["QUERY_STRING"]` → `env.query_string()`; parsing stays the
/// app's business, as in WSGI.
fn name(env: &Environ) -> String {
    env.query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("name="))
        .unwrap_or("World")
        .to_owned()
}

/// Step 1, line for line: the callback style, `write()` and a returned body.
/// `start_response` returns the write handle; `write` is awaited.
async fn step1(env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
    let name = name(&env);
    if name.len() > 40 {
        start_response.start(StatusCode::BAD_REQUEST, text())?;
        return Ok(Body::from("name too long\n"));
    }
    let write = start_response.start(StatusCode::OK, text())?;
    write.write("Hello, ").await?;
    Ok(Body::from_chunks([name, "!\n".to_owned()]))
}

/// Step 1b, if the app is synchronous code you cannot make async yet: the
/// same, on the blocking pool.
fn step1_blocking(
    env: Environ,
    start_response: blocking::StartResponse,
) -> Result<Chunks, BoxError> {
    let name = name(&env);
    if name.len() > 40 {
        start_response.start(StatusCode::BAD_REQUEST, text())?;
        return Ok(Chunks::from("name too long\n"));
    }
    let write = start_response.start(StatusCode::OK, text())?;
    write.write("Hello, ")?;
    Ok(Chunks::lazy([name, "!\n".to_owned()]))
}

/// Step 2: drop `write()` (WSGI itself says new code should not use it);
/// the whole body is returned.
async fn step2(env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
    let name = name(&env);
    if name.len() > 40 {
        start_response.start(StatusCode::BAD_REQUEST, text())?;
        return Ok(Body::from("name too long\n"));
    }
    start_response.start(StatusCode::OK, text())?;
    Ok(Body::from(format!("Hello, {name}!\n")))
}

/// Step 3: the return style. No `start_response`: the response is a value.
async fn step3(env: Environ) -> Response {
    let name = name(&env);
    let (status, body) = match name.len() > 40 {
        true => (StatusCode::BAD_REQUEST, "name too long\n".to_owned()),
        false => (StatusCode::OK, format!("Hello, {name}!\n")),
    };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    *res.headers_mut() = text();
    res
}

/// A page linking every step, so that the example's address shows
/// something in a browser.
async fn index(_env: Environ) -> Response {
    let mut res = Response::new(Body::from(include_str!("index.html")));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// All the steps side by side, as a deployment mid-port looks.
pub(crate) fn app() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/step1", two_to_one(step1))
        .route("/step1b", blocking::blocking(step1_blocking))
        .route("/step2", two_to_one(step2))
        .route("/step3", step3)
}
