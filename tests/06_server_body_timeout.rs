//! spec/06-server.md, 6.5: `body_read_timeout`, counted only while the app
//! waits for request body bytes that do not come.

mod support;

use std::time::{Duration, Instant};

use gateway::http::{Request, StatusCode};
use gateway::server::Limits;
use gateway::Environ;
use support::{assert_after_limit, read_body, serve_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let sent = Instant::now();
    let head: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel";
    let text = send_in_parts(addr, &[head], Duration::ZERO).await;
    assert_after_limit(sent.elapsed(), timeout, "the 408");
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
    let sent = Instant::now();
    let text = send_in_parts(addr, &parts, Duration::from_millis(100)).await;
    assert!(text.ends_with("read 10"), "{text}");
    // It did take longer than the timeout in all: ten pauses.
    assert_after_limit(sent.elapsed(), Duration::from_secs(1), "the body was read");
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
    let sent = Instant::now();
    let text = send_in_parts(addr, &[POST_10, b"0123456789"], Duration::from_millis(700)).await;
    assert!(text.ends_with("read 10"), "{text}");
    // The body did come later than the timeout after the request.
    assert_after_limit(
        sent.elapsed(),
        Duration::from_millis(700),
        "the body was read",
    );
}

#[tokio::test]
async fn spec_6_5_a_body_read_timeout_of_duration_max_is_none() {
    let addr = serve_app(
        read_body,
        Limits::default().body_read_timeout(Duration::MAX),
    )
    .await;
    let sent = Instant::now();
    let text = send_in_parts(
        addr,
        &[POST_10, b"01234", b"56789"],
        Duration::from_millis(300),
    )
    .await;
    assert!(text.ends_with("read 10"), "{text}");
    assert_after_limit(
        sent.elapsed(),
        Duration::from_millis(600),
        "the body was read",
    );
}

#[tokio::test]
async fn spec_6_5_a_stalled_http2_request_body_times_out_too() {
    let limit = Duration::from_millis(300);
    let addr = serve_app(read_body, Limits::default().body_read_timeout(limit)).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let req = Request::post(format!("http://{addr}/")).body(()).unwrap();
    // A first chunk, then the stream stays open with nothing more.
    let (res, mut body) = h2.send_request(req, false).unwrap();
    let sent = Instant::now();
    body.send_data(gateway::Bytes::from_static(b"abc"), false)
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), res)
        .await
        .expect("answered once the body timed out")
        .unwrap();
    assert_after_limit(sent.elapsed(), limit, "the body timed out");
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
