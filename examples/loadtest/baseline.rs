//! The baseline: the same three endpoints on raw hyper, with nothing of
//! gateway's in the request path, as a hand-written server would have them.
//!
//! - `GET /hello`: `Hello, World!`;
//! - `GET /stream`: 1 MiB as 16 chunks of 64 KiB (one shared buffer), sent
//!   chunked, as gateway's streamed bodies are;
//! - `GET /ws`: a WebSocket echo, upgraded with `hyper::upgrade::on` and run
//!   by tokio-tungstenite with the `WebSocketConfig` given.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::http::{header, HeaderValue, Request, Response, StatusCode};
use gateway::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::payload::{Payload, HELLO, STREAM_CHUNKS};
use crate::server_thread::Stop;

type Body = Either<Full<Bytes>, Chunks>;

/// Serves until `stop`; connections still open then are dropped with the
/// runtime.
pub(crate) async fn serve(
    listener: TcpListener,
    ws_config: WebSocketConfig,
    payload: Payload,
    mut stop: Stop,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, most likely: back off, as gateway does.
                    eprintln!("baseline: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // As gateway does: small responses should not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let payload = payload.clone();
        let service = service_fn(move |req| {
            let response = handle(req, ws_config, &payload);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            // Errors here are clients going away mid-response; the client
            // side of the benchmark reports its own failures.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn handle(req: Request<Incoming>, ws_config: WebSocketConfig, payload: &Payload) -> Response<Body> {
    match req.uri().path() {
        "/hello" => {
            let mut res = Response::new(Either::Left(Full::new(Bytes::from_static(HELLO))));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
        "/stream" => Response::new(Either::Right(Chunks {
            chunk: payload.chunk.clone(),
            left: STREAM_CHUNKS,
        })),
        "/ws" => upgrade(req, ws_config),
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn status(status: StatusCode) -> Response<Body> {
    let mut res = Response::new(Either::Left(Full::default()));
    *res.status_mut() = status;
    res
}

/// The WebSocket handshake, done by hand: check, answer 101, and run the
/// echo on the upgraded connection once hyper hands it over.
fn upgrade(mut req: Request<Incoming>, ws_config: WebSocketConfig) -> Response<Body> {
    let wants_websocket = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return status(StatusCode::BAD_REQUEST);
    };
    if !wants_websocket {
        return status(StatusCode::UPGRADE_REQUIRED);
    }
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(ws_config))
                .await;
        echo(ws).await;
    });
    let mut res = status(StatusCode::SWITCHING_PROTOCOLS);
    let headers = res.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    res
}

async fn echo<S>(mut ws: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // tungstenite answers pings and the peer's close by itself, while it is
    // being read: keep reading until the stream ends.
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(msg).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

/// `left` copies of one shared chunk, with no declared length (so hyper
/// sends it chunked, like gateway's streamed bodies).
#[derive(Debug)]
pub(crate) struct Chunks {
    chunk: Bytes,
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}
