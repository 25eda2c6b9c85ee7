//! spec/06-server.md, 6.5: `header_read_timeout`, counted while the server
//! waits for a request head (first byte, HTTP/2 preface, keep-alive idle),
//! never while a request is being answered.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway::server::Limits;
use gateway::{Body, BoxError, Environ, Response};
use support::{assert_after_limit, assert_closed, hello, serve_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The header read timeout every test here serves with.
const LIMIT: Duration = Duration::from_millis(300);

/// `hello` served on 127.0.0.1 with a header read timeout of [`LIMIT`].
async fn hello_with_header_timeout() -> std::net::SocketAddr {
    serve_app(hello, Limits::default().header_read_timeout(LIMIT)).await
}

#[tokio::test]
async fn spec_6_5_header_read_timeout_closes_slow_clients() {
    let limit = LIMIT;
    let addr = hello_with_header_timeout().await;

    let connected = Instant::now();
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
    assert_after_limit(connected.elapsed(), limit, "closed");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn spec_6_5_silent_connections_are_closed_after_the_header_timeout() {
    let addr = hello_with_header_timeout().await;
    // Many silent clients: none of them may stop the next real one.
    let limit = LIMIT;
    let first = Instant::now();
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
        let closed = assert_closed(&mut s, "a silent client").await;
        // Each was connected after `first`: none closed before the limit.
        assert_after_limit(closed - first, limit, "a silent client closed");
    }
}

#[tokio::test]
async fn spec_6_5_a_client_stalled_inside_the_http2_preface_is_closed_too() {
    let addr = hello_with_header_timeout().await;
    // Enough of the preface that the protocol is not decided yet.
    let connected = Instant::now();
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"PRI * HTTP/2").await.unwrap();
    let closed = assert_closed(&mut stalled, "a client stalled mid-preface").await;
    let limit = LIMIT;
    assert_after_limit(
        closed - connected,
        limit,
        "a client stalled mid-preface closed",
    );
}

#[tokio::test]
async fn spec_6_5_idle_keep_alive_connections_are_closed() {
    let addr = hello_with_header_timeout().await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let asked = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "an idle keep-alive connection must be closed");
    // The idle time counts from the response's end, after the request.
    let limit = LIMIT;
    assert_after_limit(asked.elapsed(), limit, "an idle connection closed");
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
    let limits = Limits::default().header_read_timeout(LIMIT);
    let addr = serve_app(slow, limits).await;

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let asked = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    // The connection is closed 300 ms after the response ends (keep-alive
    // idle), not during it: the app takes 1 s (400 ms, then four 150 ms
    // ticks), so not before 1.3 s.
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("closed once idle")
        .unwrap();
    let closed = asked.elapsed();
    let idle = Duration::from_millis(1300);
    assert_after_limit(closed, idle, "closed after the response and its idle time");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("tick 3"), "the whole body arrives: {text}");
    assert!(
        text.ends_with("0\r\n\r\n"),
        "the chunked body is complete: {text}"
    );
}
