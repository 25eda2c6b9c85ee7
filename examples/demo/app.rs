//! The demo's app tree, kept apart from `main` so tests can serve it too.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use gateway::blocking::{self, Chunks};
use gateway::callback::StartResponse;
use gateway::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use gateway::middleware::{AccessLog, CatchErrors, SetHeaders, Validator};
use gateway::routing::{get, Router};
use gateway::ws::{self, Message, WebSocket};
use gateway::{two_to_one, Body, BoxError, Bytes, Environ, Response};
use tokio::sync::broadcast;

/// The largest `chunks` and `size` the streaming demos accept: enough for a
/// multi-gigabyte download, small enough that one request cannot ask for a
/// single absurd allocation.
const MAX_CHUNKS: usize = 1 << 20;
const MAX_CHUNK_SIZE: usize = 1 << 20;

/// The largest chat message the server takes, in bytes; a longer one
/// closes the socket with 1009. `pages/chat.html` checks it before sending
/// (`data-max-bytes`; `tests/demo.rs` keeps the two equal).
pub(crate) const CHAT_MAX_MESSAGE: usize = 4 << 10;

/// Everything the demo serves, under the access log, the error catcher and
/// the validator.
pub(crate) fn app() -> impl gateway::App {
    // SetHeaders outside CatchErrors: its error pages get the header too.
    AccessLog::new(
        SetHeaders::new(CatchErrors::new(Validator::new(routes())))
            .if_absent("x-content-type-options", "nosniff"),
    )
}

/// Return style, callback style and blocking style side by side.
pub(crate) fn routes() -> Router {
    // One room for the whole server; lagging readers skip what they missed.
    let (room, _) = broadcast::channel::<String>(256);
    Router::new()
        // Pages answer GET and HEAD; other methods get 405 with `Allow`.
        .route("/", get(index))
        // Browsers ask; an empty answer keeps the log free of 404s.
        .route(
            "/favicon.ico",
            get(|_env: Environ| async {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res
            }),
        )
        .route("/hello", get(hello))
        .route("/stream", get(stream))
        .route("/echo", ws::endpoint(echo))
        .route(
            "/echo.html",
            get(|_env: Environ| async { html(include_str!("pages/echo.html")) }),
        )
        // The page and its WebSocket share a URL: plain GETs get the page.
        .route(
            "/graph",
            ws::endpoint(graph).fallback(get(|_env: Environ| async {
                html(include_str!("pages/graph.html"))
            })),
        )
        .route(
            "/chat",
            ws::endpoint(move |ws| chat(ws, room.clone()))
                .config(ws::Config::default().max_message_size(CHAT_MAX_MESSAGE))
                .fallback(get(|_env: Environ| async {
                    html(include_str!("pages/chat.html"))
                })),
        )
        .mount("/legacy", two_to_one(legacy))
        .mount("/sync", blocking::blocking(sync))
}

/// A blocking callback-style app (ordinary synchronous code), mounted at
/// `/sync` and run on the blocking pool.
fn sync(env: Environ, start_response: blocking::StartResponse) -> Result<Chunks, BoxError> {
    if !reads_only(&env) {
        start_response.start(StatusCode::METHOD_NOT_ALLOWED, allow_get())?;
        return Ok(Chunks::from("Only GET and HEAD here.\n"));
    }
    match env.path_info() {
        "/hello" => {
            let write = start_response.start(StatusCode::OK, text_headers())?;
            write.write("Hello, World!")?;
            Ok(Chunks::empty())
        }
        "/stream" => {
            let (chunks, chunk) = match stream_params(env.query_string()) {
                Ok(p) => p,
                Err(msg) => {
                    start_response.start(StatusCode::BAD_REQUEST, text_headers())?;
                    return Ok(Chunks::from(msg + "\n"));
                }
            };
            let write = start_response.start(StatusCode::OK, text_headers())?;
            // Blocks while the client is behind: memory stays flat.
            for _ in 0..chunks {
                write.write(chunk.clone())?;
            }
            Ok(Chunks::empty())
        }
        _ => {
            start_response.start(StatusCode::NOT_FOUND, text_headers())?;
            Ok(Chunks::from("Not Found\n"))
        }
    }
}

/// The six-line echo handler.
async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

/// Pushes a random value between 0 and 1 ten times a second until the
/// page goes away.
async fn graph(mut ws: WebSocket) {
    let random = RandomState::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for n in 0u64.. {
        tokio::select! {
            _ = tick.tick() => {
                let value = random.hash_one(n) as f64 / u64::MAX as f64;
                if ws.send(format!("{value:.4}")).await.is_err() {
                    return;
                }
            }
            msg = ws.recv() => if msg.is_none() {
                return;
            },
        }
    }
}

/// Every text message goes to everyone in the room.
async fn chat(mut ws: WebSocket, room: broadcast::Sender<String>) {
    let mut heard = room.subscribe();
    loop {
        tokio::select! {
            msg = ws.recv() => match msg {
                Some(Message::Text(text)) => {
                    let _ = room.send(text.as_str().to_owned());
                }
                Some(_) => {}
                None => return,
            },
            line = heard.recv() => match line {
                Ok(line) => {
                    if ws.send(line).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let _ = ws.send(format!("({missed} messages missed)")).await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

fn html(page: &'static str) -> Response {
    let mut res = Response::new(Body::from(page));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn text_headers() -> HeaderMap {
    content_type(HeaderValue::from_static("text/plain; charset=utf-8"))
}

fn bad_request(msg: String) -> Response {
    let mut res = Response::new(Body::from(msg + "\n"));
    *res.status_mut() = StatusCode::BAD_REQUEST;
    *res.headers_mut() = text_headers();
    res
}

async fn index(_env: Environ) -> Response {
    html(include_str!("pages/index.html"))
}

/// Return style: the whole response is a value.
async fn hello(_env: Environ) -> Response {
    let mut res = Response::new(Body::from("Hello, World!"));
    *res.headers_mut() = text_headers();
    res
}

/// `chunks` and `size` from the query string, checked.
fn stream_params(query: &str) -> Result<(usize, Bytes), String> {
    let params: HashMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let get = |name: &str, default: usize, max: usize| -> Result<usize, String> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(format!(
                    "{name} must be a whole number from 0 to {max}, not {v:?}"
                )),
            },
        }
    };
    let chunks = get("chunks", 10, MAX_CHUNKS)?;
    let size = get("size", 1024, MAX_CHUNK_SIZE)?;
    // One buffer, shared by every chunk: streaming costs no copies.
    Ok((chunks, stream_chunk(size)))
}

/// `size` bytes of printable text for a browser to show (served as
/// `text/plain`, not as a file to save): lines of 64 bytes, digits and
/// letters then a newline, the last byte a newline too, so that a chunk of
/// any size ends its line.
fn stream_chunk(size: usize) -> Bytes {
    const LINE: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n";
    let mut chunk: Vec<u8> = LINE.iter().copied().cycle().take(size).collect();
    if let Some(last) = chunk.last_mut() {
        *last = b'\n';
    }
    Bytes::from(chunk)
}

/// Return style, streamed: `chunks` chunks of `size` bytes, produced as the
/// client reads them.
async fn stream(env: Environ) -> Response {
    let (chunks, chunk) = match stream_params(env.query_string()) {
        Ok(p) => p,
        Err(msg) => return bad_request(msg),
    };
    let mut res = Response::new(Body::from_chunks(std::iter::repeat_n(chunk, chunks)));
    *res.headers_mut() = text_headers();
    res
}

/// The callback-style app mounted at `/legacy`: a WSGI-1-like app that
/// dispatches on its own `path_info`.
async fn legacy(env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
    // As a WSGI app would: the app checks the method itself. (`/ws`
    // answers a wrong one with its own 405.)
    if !reads_only(&env) && env.path_info() != "/ws" {
        start_response.start(StatusCode::METHOD_NOT_ALLOWED, allow_get())?;
        return Ok(Body::from("Only GET and HEAD here.\n"));
    }
    match env.path_info() {
        "/hello" => {
            let write = start_response.start(StatusCode::OK, text_headers())?;
            write.write("Hello, World!").await?;
            Ok(Body::empty())
        }
        "/stream" => {
            let (chunks, chunk) = match stream_params(env.query_string()) {
                Ok(p) => p,
                Err(msg) => return legacy_bad_request(start_response, msg),
            };
            let write = start_response.start(StatusCode::OK, text_headers())?;
            // One write per chunk; each completes when the server took it
            // to send, so a slow client slows the loop.
            for _ in 0..chunks {
                write.write(chunk.clone()).await?;
            }
            Ok(Body::empty())
        }
        "/iter" => {
            let (chunks, chunk) = match stream_params(env.query_string()) {
                Ok(p) => p,
                Err(msg) => return legacy_bad_request(start_response, msg),
            };
            start_response.start(StatusCode::OK, text_headers())?;
            // A lazily produced body, like a WSGI app returning a generator.
            Ok(Body::from_chunks(std::iter::repeat_n(chunk, chunks)))
        }
        "/ws" => {
            // The ws4py/Django pattern: a WebSocket accepted from inside an
            // ordinary callback-style app, after its own checks ran.
            let mut env = env;
            match ws::Upgrade::from_environ(&mut env, &ws::Config::default()) {
                Ok(upgrade) => {
                    let (head, body) = upgrade.on_upgrade(echo).into_parts();
                    start_response.start_parts(head)?;
                    Ok(body)
                }
                Err(rejection) => {
                    let (head, body) = rejection.into_response().into_parts();
                    start_response.start_parts(head)?;
                    Ok(body)
                }
            }
        }
        "/env" => {
            let json = environ_json(&env);
            let headers = content_type(HeaderValue::from_static("application/json"));
            start_response.start(StatusCode::OK, headers)?;
            Ok(Body::from(json))
        }
        "/fail" => {
            let after: usize = env
                .query_string()
                .split('&')
                .find_map(|kv| kv.strip_prefix("after="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let write = start_response.start(StatusCode::OK, text_headers())?;
            for i in 0..after.min(MAX_CHUNKS) {
                write.write(format!("chunk {i}\n")).await?;
            }
            // A moment for what was written to reach the client: the server
            // sends in batches, and an abort drops what it has not sent yet.
            if after > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(format!("demo failure after {after} chunks").into())
        }
        _ => {
            start_response.start(StatusCode::NOT_FOUND, text_headers())?;
            Ok(Body::from("Not Found\n"))
        }
    }
}

/// A GET or a HEAD: what the callback-style demos answer.
fn reads_only(env: &Environ) -> bool {
    env.method() == Method::GET || env.method() == Method::HEAD
}

fn allow_get() -> HeaderMap {
    let mut headers = text_headers();
    headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    headers
}

fn legacy_bad_request(start_response: StartResponse, msg: String) -> Result<Body, BoxError> {
    start_response.start(StatusCode::BAD_REQUEST, text_headers())?;
    Ok(Body::from(msg + "\n"))
}

/// The environ as JSON, as a WSGI app would see it.
fn environ_json(env: &Environ) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = env
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into(),
            )
        })
        .collect();
    let value = serde_json::json!({
        "method": env.method().as_str(),
        "script_name": env.script_name(),
        "path_info": env.path_info(),
        "query_string": env.query_string(),
        "http_version": format!("{:?}", env.version()),
        "scheme": env.scheme(),
        "remote_addr": env.remote_addr().map(|a| a.to_string()),
        "headers": headers,
    });
    serde_json::to_string_pretty(&value).expect("JSON values always serialize")
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
