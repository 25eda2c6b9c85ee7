//! The same endpoints on gateway, mounted behind one `Router` and the
//! demo's middleware stack (access log, error catcher, validator, a header):
//! return style at the root, callback style (through `two_to_one`) under
//! `/legacy`, blocking callback style under `/sync`, and a WebSocket
//! endpoint.

use std::time::Duration;

use gateway::blocking;
use gateway::callback::StartResponse;
use gateway::http::{header, HeaderMap, HeaderValue, StatusCode};
use gateway::middleware::{AccessLog, CatchErrors, SetHeaders, Validator};
use gateway::routing::Router;
use gateway::server::{Limits, Server};
use gateway::ws::{self, WebSocket};
use gateway::{two_to_one, Body, BoxError, Bytes, Environ, Response};
use tokio::net::TcpListener;

use crate::payload::{Payload, HELLO, STREAM_CHUNKS};
use crate::server_thread::Stop;

/// Serves the app until `stop`, then shuts down gracefully (bounded to
/// 2 s, so a stuck client cannot hold the benchmark).
pub(crate) async fn serve(
    listener: TcpListener,
    payload: Payload,
    max_connections: usize,
    stop: Stop,
) {
    let app = AccessLog::new(
        SetHeaders::new(CatchErrors::new(Validator::new(app(payload))))
            .if_absent("x-content-type-options", "nosniff"),
    );
    run(Server::new(app), listener, max_connections, stop).await;
}

/// The same app tree without the middleware stack (`--serve gateway-bare`):
/// what the stack costs is the difference.
pub(crate) async fn serve_bare(
    listener: TcpListener,
    payload: Payload,
    max_connections: usize,
    stop: Stop,
) {
    run(Server::new(app(payload)), listener, max_connections, stop).await;
}

async fn run<A: gateway::App>(
    server: Server<A>,
    listener: TcpListener,
    max_connections: usize,
    stop: Stop,
) {
    let limits = Limits::default()
        .max_connections(max_connections)
        .shutdown_grace(Duration::from_secs(2));
    let result = server
        .limits(limits)
        .serve_with_shutdown(listener, async {
            let _ = stop.await;
        })
        .await;
    if let Err(e) = result {
        eprintln!("gateway server failed: {e}");
    }
}

/// Paths: `/hello`, `/stream`, `/ws`, `/legacy/hello`, `/legacy/stream`,
/// `/sync/hello`, `/sync/stream`.
pub(crate) fn app(payload: Payload) -> Router {
    let chunk = payload.chunk.clone();
    let sync_chunk = payload.chunk.clone();
    Router::new()
        .route("/hello", hello)
        .route("/stream", move |_env: Environ| {
            let chunk = chunk.clone();
            async move {
                let mut res =
                    Response::new(Body::from_chunks(std::iter::repeat_n(chunk, STREAM_CHUNKS)));
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                res
            }
        })
        .route("/ws", ws::endpoint(echo))
        .mount(
            "/legacy",
            two_to_one(move |env, start_response| {
                legacy(env, start_response, payload.chunk.clone())
            }),
        )
        .mount(
            "/sync",
            blocking::blocking(move |env, start_response| {
                sync(env, start_response, sync_chunk.clone())
            }),
        )
}

/// Blocking callback style: the same, as ordinary synchronous code.
fn sync(
    env: Environ,
    start_response: blocking::StartResponse,
    chunk: Bytes,
) -> Result<blocking::Chunks, BoxError> {
    match env.path_info() {
        "/hello" => {
            let write = start_response.start(StatusCode::OK, text_headers())?;
            write.write(Bytes::from_static(HELLO))?;
            Ok(blocking::Chunks::empty())
        }
        "/stream" => {
            let headers = content_type(HeaderValue::from_static("application/octet-stream"));
            let write = start_response.start(StatusCode::OK, headers)?;
            for _ in 0..STREAM_CHUNKS {
                write.write(chunk.clone())?;
            }
            Ok(blocking::Chunks::empty())
        }
        _ => {
            start_response.start(StatusCode::NOT_FOUND, HeaderMap::new())?;
            Ok(blocking::Chunks::empty())
        }
    }
}

fn text_headers() -> HeaderMap {
    content_type(HeaderValue::from_static("text/plain; charset=utf-8"))
}

/// Return style: the whole response is a value.
async fn hello(_env: Environ) -> Response {
    let mut res = Response::new(Body::from(Bytes::from_static(HELLO)));
    *res.headers_mut() = text_headers();
    res
}

/// Callback style: one `write()` for the hello, one per chunk for the
/// stream, each completing when the server took the chunk.
async fn legacy(
    env: Environ,
    start_response: StartResponse,
    chunk: Bytes,
) -> Result<Body, BoxError> {
    match env.path_info() {
        "/hello" => {
            let write = start_response.start(StatusCode::OK, text_headers())?;
            write.write(Bytes::from_static(HELLO)).await?;
            Ok(Body::empty())
        }
        "/stream" => {
            let headers = content_type(HeaderValue::from_static("application/octet-stream"));
            let write = start_response.start(StatusCode::OK, headers)?;
            for _ in 0..STREAM_CHUNKS {
                write.write(chunk.clone()).await?;
            }
            Ok(Body::empty())
        }
        _ => {
            start_response.start(StatusCode::NOT_FOUND, HeaderMap::new())?;
            Ok(Body::empty())
        }
    }
}

/// The demo's echo handler.
async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// Headers with just a Content-Type. `HeaderMap::new()` and `insert` leave
/// room for the few headers middleware adds on the way out;
/// `HeaderMap::from_iter` of one pair sizes the map for exactly one, and
/// every later insert grows it again.
fn content_type(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, value);
    headers
}
