//! spec/06-server.md, 6.5: `write_timeout`, for a client (or, on HTTP/2, a
//! stream) that takes nothing of what the server writes; never for a slow
//! app, nor for a hijacked connection.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway::http::{header, HeaderValue, Request, StatusCode};
use gateway::server::Limits;
use gateway::{Body, BoxError, Environ, Response};
use support::{assert_after_limit, serve_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `()` when dropped: tells a test that the server let go of a
/// response body.
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

/// A response whose body never ends, holding `signal` until it is dropped.
fn endless(signal: DropSignal) -> Response {
    let chunks = futures_util::stream::repeat_with(move || {
        let _held = &signal;
        Ok::<_, BoxError>(gateway::Bytes::from_static(&[b'x'; 64 << 10]))
    });
    Response::new(Body::from_stream(chunks))
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn spec_6_5_a_client_that_stops_reading_is_disconnected_after_the_write_timeout() {
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel();
    let dropped_tx = std::sync::Mutex::new(Some(dropped_tx));
    // An endless body: only the server giving up on the client ends it.
    let app = move |_env: Environ| {
        let signal = DropSignal(dropped_tx.lock().unwrap().take());
        async move { endless(signal) }
    };
    let limits = Limits::default().write_timeout(Duration::from_millis(300));
    let addr = serve_app(app, limits).await;

    // Ask, then never read.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let asked = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), dropped_rx)
        .await
        .expect("the server must give up on a client that takes nothing")
        .unwrap();
    // The writes could not stall before the request came.
    let limit = Duration::from_millis(300);
    assert_after_limit(asked.elapsed(), limit, "the server gave up");
    drop(s);
}

#[tokio::test]
async fn spec_6_5_an_http2_stream_whose_window_stays_closed_is_reset_after_the_write_timeout() {
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel();
    let dropped_tx = std::sync::Mutex::new(Some(dropped_tx));
    // An endless body at /endless; a small one elsewhere.
    let app = move |env: Environ| {
        let endless = env.path_info() == "/endless";
        let signal = DropSignal(endless.then(|| dropped_tx.lock().unwrap().take()).flatten());
        async move {
            if !endless {
                return Response::new(Body::from("small"));
            }
            self::endless(signal)
        }
    };
    let limits = Limits::default().write_timeout(Duration::from_millis(300));
    let addr = serve_app(app, limits).await;

    // A client that reads its socket (the connection stays lively) but
    // never opens a stream's window.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (h2, conn) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, gateway::Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(conn);
    let get = |path: &str| {
        Request::get(format!("http://{addr}{path}"))
            .body(())
            .unwrap()
    };
    let mut h2 = h2.ready().await.unwrap();
    let asked = Instant::now();
    let (res, _) = h2.send_request(get("/endless"), true).unwrap();
    // The head is not flow-controlled: it arrives.
    let res = res.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(10), dropped_rx)
        .await
        .expect("the server must give up on a stream whose client takes nothing")
        .unwrap();
    let limit = Duration::from_millis(300);
    assert_after_limit(asked.elapsed(), limit, "the server gave up on the stream");
    // Reset, not ended as if complete.
    let mut body = res.into_body();
    let outcome = tokio::time::timeout(Duration::from_secs(5), body.data())
        .await
        .expect("the stream ends")
        .expect("the stream ends with an error, not a clean end");
    let reset = outcome.expect_err("no data: the window stayed closed");
    assert_eq!(reset.reason(), Some(h2::Reason::CANCEL), "{reset}");

    // The connection and its other streams go on.
    let mut h2 = h2.ready().await.unwrap();
    let (res, _) = h2.send_request(get("/small"), true).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), res).await;
    assert_eq!(res.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn spec_6_5_the_write_timeout_never_cuts_a_slow_app() {
    // Pauses between chunks three times the write timeout: the client
    // takes every byte, so nothing ever waits to be written.
    let slow = |_env: Environ| async {
        let ticks = futures_util::stream::iter(0..3).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, BoxError>(gateway::Bytes::from(format!("tick {i}\n")))
        });
        Response::new(Body::from_stream(ticks))
    };
    let limits = Limits::default().write_timeout(Duration::from_millis(100));
    let addr = serve_app(slow, limits).await;
    let asked = Instant::now();
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // The pauses really were longer than the limit: 900 ms in all.
    assert_after_limit(
        asked.elapsed(),
        Duration::from_millis(900),
        "the body ended",
    );
    assert!(reply.contains("tick 2"), "{reply}");
    assert!(
        reply.ends_with("0\r\n\r\n"),
        "the body is complete: {reply}"
    );
}

#[tokio::test]
async fn spec_6_5_hijacked_connections_are_not_under_the_write_timeout() {
    use gateway::hijack::{Hijack, Upgraded};
    use gateway::http::HeaderMap;
    // More than the socket buffers hold: the handler's write waits while
    // the client is not reading, far longer than the write timeout.
    const SIZE: usize = 32 << 20;
    let app = |mut env: Environ| async move {
        let hijack = Hijack::new(&mut env, |mut io: Upgraded| async move {
            let _ = io.write_all(&vec![b'x'; SIZE]).await;
            let _ = io.shutdown().await;
        });
        match hijack {
            Ok(h) => {
                let headers = HeaderMap::from_iter([
                    (header::UPGRADE, HeaderValue::from_static("bulk")),
                    (header::CONNECTION, HeaderValue::from_static("upgrade")),
                ]);
                h.into_response(StatusCode::SWITCHING_PROTOCOLS, headers)
            }
            Err(refused) => refused.into_response(),
        }
    };
    let limits = Limits::default().write_timeout(Duration::from_millis(100));
    let addr = serve_app(app, limits).await;

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: bulk\r\nConnection: upgrade\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the handler finishes")
        .unwrap();
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(out.starts_with(b"HTTP/1.1 101"));
    assert_eq!(out.len() - head_end, SIZE, "every byte arrives, late");
}

/// `Duration::MAX` turns the write timeout off: a streamed response goes
/// out whole, and the server does not try to arm a clock past its end.
#[tokio::test]
async fn spec_6_5_a_write_timeout_of_duration_max_is_off() {
    let addr = serve_app(
        |_env: Environ| async { Response::new(Body::from_chunks(["one ", "two ", "three"])) },
        Limits::default().write_timeout(Duration::MAX),
    )
    .await;
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // Chunked: each chunk framed, then the last, empty one.
    assert!(
        reply.contains("\r\none \r\n") && reply.contains("\r\nthree\r\n"),
        "{reply}"
    );
    assert!(reply.ends_with("\r\n0\r\n\r\n"), "{reply}");
}
