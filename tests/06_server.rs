//! spec/06-server.md: what the server promises apps and clients.

mod support;

use std::time::Duration;

use gateway::http::{header, HeaderValue, Request, StatusCode};
use gateway::server::{Limits, Server};
use gateway::testing::TestClient;
use gateway::{Body, BoxError, Environ, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn hello(_env: Environ) -> Response {
    Response::new(Body::from("Hello, World!"))
}

#[tokio::test]
async fn spec_6_1_keep_alive_serves_several_requests_on_one_connection() {
    let addr = support::spawn_server(hello).await;
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.matches("HTTP/1.1 200 OK").count(), 2, "{reply}");
    assert_eq!(reply.matches("Hello, World!").count(), 2);
}

#[tokio::test]
async fn spec_6_1_http2_prior_knowledge_on_the_same_port() {
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("{:?}", env.version())))
    })
    .await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://{addr}/"))
        .body(Body::empty())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "HTTP/2.0");
}

#[tokio::test]
async fn spec_6_2_panic_gives_500_and_server_keeps_serving() {
    let addr = support::spawn_server(|env: Environ| async move {
        if env.path_info() == "/panic" {
            panic!("app bug");
        }
        Response::new(Body::from("still here"))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    assert!(
        !reply.contains("app bug"),
        "panic text must not leak: {reply}"
    );
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("still here"), "{reply}");
}

#[tokio::test]
async fn spec_6_2_panic_in_body_aborts_only_that_response() {
    let client = TestClient::new(|env: Environ| async move {
        if env.path_info() == "/ok" {
            return Response::new(Body::from("fine"));
        }
        let body = futures_util::stream::iter(0..3).map(|i| {
            if i == 1 {
                panic!("body bug");
            }
            Ok::<_, BoxError>("chunk")
        });
        Response::new(Body::from_stream(body))
    });
    let got = support::get_aborted(&client, "/").await;
    assert!(b"chunk".starts_with(&got));
    assert_eq!(client.get("/ok").await.text(), "fine");
}

use futures_util::StreamExt;

#[tokio::test]
async fn spec_6_3_head_has_get_headers_and_no_body() {
    let addr = support::spawn_server(|env: Environ| async move {
        let mut res = Response::new(Body::from("Hello, World!"));
        if env.path_info() == "/declared" {
            // An app answering HEAD itself declares the GET length.
            res = Response::new(Body::empty());
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1234"));
        }
        res
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("content-length: 13\r\n"), "{reply}");
    assert!(
        reply.ends_with("\r\n\r\n"),
        "no body after the head: {reply:?}"
    );
    let reply = support::raw_exchange(
        addr,
        b"HEAD /declared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.contains("content-length: 1234\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\n"), "{reply:?}");
}

fn with_length(body: Body, length: &'static str) -> Response {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static(length));
    res
}

#[tokio::test]
async fn spec_6_4_content_length_contradicting_known_body_is_500() {
    let client = TestClient::new(|_env: Environ| async { with_length(Body::from("four"), "10") });
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.text().contains("Content-Length"));
}

#[tokio::test]
async fn spec_6_4_invalid_content_length_is_500() {
    let client = TestClient::new(|_env: Environ| async { with_length(Body::from("four"), "4x") });
    assert_eq!(
        client.get("/").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn spec_6_4_streamed_body_longer_than_declared_aborts() {
    let client = TestClient::new(|_env: Environ| async {
        with_length(Body::from_chunks(["12345", "67890"]), "7")
    });
    let got = support::get_aborted(&client, "/").await;
    assert!(got.len() <= 7, "never more than declared: {got:?}");
}

#[tokio::test]
async fn spec_6_4_streamed_body_shorter_than_declared_aborts() {
    let client =
        TestClient::new(|_env: Environ| async { with_length(Body::from_chunks(["123"]), "7") });
    let got = support::get_aborted(&client, "/").await;
    assert!(b"123".starts_with(&got));
}

#[tokio::test]
async fn spec_6_4_streamed_body_matching_declared_length_is_fine() {
    let client = TestClient::new(|_env: Environ| async {
        with_length(Body::from_chunks(["123", "4567"]), "7")
    });
    let res = client.get("/").await;
    assert!(res.is_complete());
    assert_eq!(res.header("content-length"), Some("7"));
    assert_eq!(res.text(), "1234567");
}

#[tokio::test]
async fn spec_6_5_oversized_head_gets_431() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        Server::new(hello).limits(Limits::default().max_header_bytes(8 << 10).max_headers(10));
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(16 << 10)
    );
    let reply = support::raw_exchange(addr, big.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");

    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..20 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let reply = support::raw_exchange(addr, many.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");

    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        reply.ends_with("Hello, World!"),
        "server keeps serving: {reply}"
    );
}

#[tokio::test]
async fn spec_6_5_the_head_limit_is_exact() {
    // The default, 400 KiB: a head over it gets 431 even when hyper's read
    // buffer (grown to 512 KiB) would have room for it.
    let limit = 400 << 10;
    let addr = server_with(Limits::default()).await;
    let head = |size: usize| {
        let start = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
        let pad = size - start.len() - "\r\n\r\n".len();
        format!("{start}{}\r\n\r\n", "a".repeat(pad))
    };
    let reply = support::raw_exchange(addr, head(limit).as_bytes()).await;
    assert!(reply.ends_with("Hello, World!"), "at the limit: {reply}");
    for over in [1, 20 << 10, 100 << 10] {
        let reply = support::raw_exchange(addr, head(limit + over).as_bytes()).await;
        assert!(
            reply.starts_with("HTTP/1.1 431"),
            "{over} bytes over: {reply}"
        );
    }
}

#[tokio::test]
async fn spec_6_5_max_connections_makes_extra_clients_wait() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(hello).limits(Limits::default().max_connections(1));
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    let second = tokio::spawn(support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "second client must wait while the first holds the only slot"
    );
    drop(first);
    let reply = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.ends_with("Hello, World!"), "{reply}");
}

#[tokio::test]
async fn spec_6_5_header_read_timeout_closes_slow_clients() {
    let addr = server_with(Limits::default().header_read_timeout(Duration::from_millis(300))).await;

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the server must close a client that never finishes its head"
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn spec_6_6_malformed_request_gets_400_and_server_keeps_serving() {
    let addr = support::spawn_server(hello).await;
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, bad).await;
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 400"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("Hello, World!"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_a_missing_doubled_or_bad_host_gets_400() {
    let addr = support::spawn_server(hello).await;
    for bad in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, bad).await;
        assert!(
            (reply.starts_with("HTTP/1.1 400") || reply.starts_with("HTTP/1.0 400"))
                && reply.contains("connection: close"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(reply.contains("Host"), "the page says why: {reply}");
    }
    // HTTP/1.0 may leave it out; an empty one, a port and an IPv6 literal
    // are fine.
    for good in [
        &b"GET / HTTP/1.0\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]:7000\r\nConnection: close\r\n\r\n",
    ] {
        let reply = support::raw_exchange(addr, good).await;
        assert!(
            reply.ends_with("Hello, World!"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(good)
        );
    }
}

#[tokio::test]
async fn spec_6_6_content_length_with_transfer_encoding_closes_the_connection() {
    // RFC 9112 6.3: Transfer-Encoding wins and the connection must not be
    // reused, so nothing can be smuggled behind the body.
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("served {}", env.path_info())))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 400") || reply.contains("connection: close"),
        "{reply}"
    );
    assert!(!reply.contains("served /smuggled"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_bad_chunked_body_never_lets_a_smuggled_request_through() {
    let addr = support::spawn_server(|mut env: Environ| async move {
        let path = env.path_info().to_owned();
        let body = env.take_body().collect(1 << 20).await;
        Response::new(Body::from(format!(
            "served {path} body_ok={}",
            body.is_ok()
        )))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(!reply.contains("served /smuggled"), "{reply}");
    assert!(!reply.contains("body_ok=true"), "{reply}");
}

#[tokio::test]
async fn spec_6_7_graceful_shutdown_finishes_in_flight_requests() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Mutex::new(Some(started_tx));
    let app = move |_env: Environ| {
        let started = started_tx.lock().unwrap().take();
        async move {
            if let Some(tx) = started {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            Response::new(Body::from("finished"))
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(app).serve_with_shutdown(listener, async {
        let _ = stop_rx.await;
    }));
    let in_flight = tokio::spawn(support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    started_rx.await.unwrap();
    stop_tx.send(()).unwrap();
    let reply = in_flight.await.unwrap();
    assert!(reply.ends_with("finished"), "{reply}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

async fn server_with(limits: Limits) -> std::net::SocketAddr {
    serve_app(hello, limits).await
}

async fn serve_app(app: impl gateway::App, limits: Limits) -> std::net::SocketAddr {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(app)
            .limits(limits)
            .serve_with_shutdown(listener, std::future::pending()),
    );
    addr
}

#[tokio::test]
async fn spec_6_5_silent_connections_are_closed_after_the_header_timeout() {
    let addr = server_with(Limits::default().header_read_timeout(Duration::from_millis(300))).await;
    // Many silent clients: none of them may stop the next real one.
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("Hello, World!"), "{reply}");
    for mut s in silent {
        assert_closed(&mut s, "a silent client").await;
    }
}

/// Asserts that the server closes `stream` (within 5 s) without sending
/// anything.
async fn assert_closed(stream: &mut tokio::net::TcpStream, who: &str) {
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "{who} must be disconnected: {n:?}"
    );
}

#[tokio::test]
async fn spec_6_5_a_client_stalled_inside_the_http2_preface_is_closed_too() {
    let addr = server_with(Limits::default().header_read_timeout(Duration::from_millis(300))).await;
    // Enough of the preface that the protocol is not decided yet.
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"PRI * HTTP/2").await.unwrap();
    assert_closed(&mut stalled, "a client stalled mid-preface").await;
}

#[tokio::test]
async fn spec_6_7_graceful_shutdown_closes_connections_that_sent_nothing() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // A header timeout far beyond the test: only the shutdown can end it.
    let server = tokio::spawn(
        Server::new(hello)
            .limits(Limits::default().header_read_timeout(Duration::from_secs(600)))
            .serve_with_shutdown(listener, async {
                let _ = stop_rx.await;
            }),
    );
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"PRI * HTTP/2").await.unwrap();
    // Both accepted before the shutdown begins.
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("Hello, World!"), "{reply}");
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the shutdown waits for no one that has no request")
        .unwrap()
        .unwrap();
    assert_closed(&mut silent, "a silent client").await;
    assert_closed(&mut partial, "a client mid-preface").await;
}

#[tokio::test]
async fn spec_6_5_idle_keep_alive_connections_are_closed() {
    let addr = server_with(Limits::default().header_read_timeout(Duration::from_millis(300))).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "an idle keep-alive connection must be closed");
    assert!(String::from_utf8_lossy(&out).contains("Hello, World!"));
}

#[tokio::test]
async fn spec_6_5_the_header_timeout_never_cuts_a_request_being_answered() {
    // An app slower than the timeout, then a body streamed for longer than
    // it: the request is in flight all along, so the connection stays.
    let slow = |_env: Environ| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let ticks = futures_util::stream::iter(0..4).then(|i| async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            Ok::<_, BoxError>(gateway::Bytes::from(format!("tick {i}\n")))
        });
        Response::new(Body::from_stream(ticks))
    };
    let limits = Limits::default().header_read_timeout(Duration::from_millis(300));
    let addr = serve_app(slow, limits).await;

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    // The connection is closed 300 ms after the response ends (keep-alive
    // idle), not during it.
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("closed once idle")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("tick 3"), "the whole body arrives: {text}");
    assert!(
        text.ends_with("0\r\n\r\n"),
        "the chunked body is complete: {text}"
    );
}

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
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), dropped_rx)
        .await
        .expect("the server must give up on a client that takes nothing")
        .unwrap();
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
    let (res, _) = h2.send_request(get("/endless"), true).unwrap();
    // The head is not flow-controlled: it arrives.
    let res = res.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(10), dropped_rx)
        .await
        .expect("the server must give up on a stream whose client takes nothing")
        .unwrap();
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
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
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

/// What an HTTP/2 client learns from the server's SETTINGS: how many
/// streams it may open at once.
async fn announced_streams(addr: std::net::SocketAddr) -> usize {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    // One exchange: the server's SETTINGS come before its response.
    let req = Request::get(format!("http://{addr}/")).body(()).unwrap();
    let (res, _) = sender.send_request(req, true).unwrap();
    assert_eq!(res.await.unwrap().status(), StatusCode::OK);
    sender.current_max_send_streams()
}

#[tokio::test]
async fn spec_6_5_max_concurrent_streams_is_announced_to_http2_clients() {
    assert_eq!(
        announced_streams(server_with(Limits::default()).await).await,
        200
    );
    let limits = Limits::default().max_concurrent_streams(3);
    assert_eq!(announced_streams(server_with(limits).await).await, 3);
}

#[tokio::test]
async fn spec_6_5_request_body_limit() {
    let addr = serve_app(read_body, Limits::default().max_body_bytes(10)).await;

    // Declared too large: 413 before the app runs.
    let reply = support::raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("connection: close"), "{reply}");
    // Chunked, growing past the limit: the app's read fails.
    let reply = support::raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 413") && reply.ends_with("too large"),
        "{reply}"
    );
    // At the limit: fine.
    let reply = support::raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhelloworld",
    )
    .await;
    assert!(reply.ends_with("read 10"), "{reply}");
}

/// An app that reads its whole request body and says how that went.
async fn read_body(mut env: Environ) -> Response {
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

/// Sends `parts` to `addr`, `pause` apart, and reads until the server
/// closes (5 s at most); returns what came back.
async fn send_in_parts(addr: std::net::SocketAddr, parts: &[&[u8]], pause: Duration) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        s.write_all(part).await.unwrap();
    }
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn spec_6_5_a_request_body_that_stops_coming_fails_the_read_after_the_body_timeout() {
    let timeout = Duration::from_millis(300);
    let addr = serve_app(read_body, Limits::default().body_read_timeout(timeout)).await;
    // Three bytes of the ten declared, then nothing. The app answers, then
    // the connection closes: its body was not read.
    let sent = std::time::Instant::now();
    let head: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel";
    let text = send_in_parts(addr, &[head], Duration::ZERO).await;
    assert!(sent.elapsed() >= timeout, "not before the timeout");
    assert!(
        text.starts_with("HTTP/1.1 408") && text.ends_with("timed out"),
        "{text}"
    );
    // The server goes on.
    let reply = support::raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    .await;
    assert!(reply.ends_with("read 2"), "{reply}");
}

const POST_10: &[u8] =
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn spec_6_5_a_body_trickling_in_slower_than_the_timeout_in_all_is_read_whole() {
    // A byte every 100 ms: a second in all, but never 300 ms without one.
    let limits = Limits::default().body_read_timeout(Duration::from_millis(300));
    let addr = serve_app(read_body, limits).await;
    let mut parts = vec![POST_10];
    parts.extend([&b"x"[..]; 10]);
    let text = send_in_parts(addr, &parts, Duration::from_millis(100)).await;
    assert!(text.ends_with("read 10"), "{text}");
}

#[tokio::test]
async fn spec_6_5_time_the_app_spends_before_reading_never_counts_against_the_body() {
    // The app reads 600 ms in; the body comes 700 ms in. A clock started
    // with the request would have run out at 200 ms; the read waited 100.
    let slow_reader = |env: Environ| async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        read_body(env).await
    };
    let limits = Limits::default().body_read_timeout(Duration::from_millis(200));
    let addr = serve_app(slow_reader, limits).await;
    let text = send_in_parts(addr, &[POST_10, b"0123456789"], Duration::from_millis(700)).await;
    assert!(text.ends_with("read 10"), "{text}");
}

#[tokio::test]
async fn spec_6_5_a_body_read_timeout_of_duration_max_is_none() {
    let addr = serve_app(
        read_body,
        Limits::default().body_read_timeout(Duration::MAX),
    )
    .await;
    let text = send_in_parts(
        addr,
        &[POST_10, b"01234", b"56789"],
        Duration::from_millis(300),
    )
    .await;
    assert!(text.ends_with("read 10"), "{text}");
}

#[tokio::test]
async fn spec_6_5_a_stalled_http2_request_body_times_out_too() {
    let addr = serve_app(
        read_body,
        Limits::default().body_read_timeout(Duration::from_millis(300)),
    )
    .await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let req = Request::post(format!("http://{addr}/")).body(()).unwrap();
    // A first chunk, then the stream stays open with nothing more.
    let (res, mut body) = h2.send_request(req, false).unwrap();
    body.send_data(gateway::Bytes::from_static(b"abc"), false)
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), res)
        .await
        .expect("answered once the body timed out")
        .unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    // The connection serves the next stream.
    let req = Request::post(format!("http://{addr}/")).body(()).unwrap();
    let (res, mut body) = h2.send_request(req, false).unwrap();
    body.send_data(gateway::Bytes::from_static(b"done"), true)
        .unwrap();
    let mut res = res.await.unwrap();
    let data = res.body_mut().data().await.unwrap().unwrap();
    assert_eq!(&data[..], b"read 4");
}

#[tokio::test]
async fn spec_6_5_hijacked_connections_still_count_against_max_connections() {
    let echo = gateway::ws::endpoint(|mut ws: gateway::ws::WebSocket| async move {
        while let Some(m) = ws.recv().await {
            let _ = ws.send(m).await;
        }
    });
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(echo).limits(Limits::default().max_connections(1));
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .unwrap();
    let second = tokio::spawn(support::raw_response(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "the open WebSocket holds the only slot"
    );
    socket.close(None).await.unwrap();
    drop(socket);
    let reply = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 426"), "{reply}");
}

#[tokio::test]
async fn spec_6_6_hostile_input_matrix_never_stops_the_server() {
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("path {}", env.uri().path())))
    })
    .await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100 << 10));
    let mut random = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        // xorshift: deterministic noise.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("absurdly long URI", long_uri.into_bytes()),
        ("non-UTF-8 path", b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("NUL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec()),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n".to_vec()),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec()),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec()),
        ("unknown version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
        ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec()),
        ("huge Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec()),
        ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n".to_vec()),
        ("HTTP/2 garbage after the preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec()),
        ("TLS hello on a plain port", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec()),
        ("random bytes", random),
    ];
    for (name, bytes) in cases {
        let reply = support::raw_exchange(addr, &bytes).await;
        // An HTTP/2 preface gets HTTP/2 frames back (SETTINGS, then GOAWAY).
        let h2 = reply.starts_with("\0\0") && name.starts_with("HTTP/2");
        assert!(
            h2 || reply.is_empty()
                || reply.starts_with("HTTP/1.1 4")
                || reply.starts_with("HTTP/1.0 4")
                || reply.starts_with("HTTP/1.1 200"),
            "{name}: {reply:?}"
        );
        if reply.starts_with("HTTP/1.1 200") {
            // Accepted as valid HTTP: must then be the app's own answer.
            assert!(reply.contains("path /"), "{name}: {reply:?}");
        }
        let ok = support::raw_exchange(
            addr,
            b"GET /alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(ok.ends_with("path /alive"), "after {name}: {ok:?}");
    }
}
