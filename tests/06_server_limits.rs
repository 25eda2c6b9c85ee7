//! spec/06-server.md, 6.5: the size and count limits (head, body,
//! connections, HTTP/2 streams). The timeouts have files of their own.

mod support;

use std::time::Duration;

use gateway::http::{Request, StatusCode};
use gateway::server::{Limits, Server};
use support::{hello, read_body, serve_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let addr = serve_app(hello, Limits::default()).await;
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

    let mut second = tokio::spawn(support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    // Nothing tells a client it is not accepted: a window in which the
    // second client must get no answer.
    let early = tokio::time::timeout(Duration::from_millis(200), &mut second).await;
    assert!(
        early.is_err(),
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
async fn spec_6_5_hijacked_connections_still_count_against_max_connections() {
    let echo = gateway::ws::endpoint(support::echo);
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(echo).limits(Limits::default().max_connections(1));
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .unwrap();
    let mut second = tokio::spawn(support::raw_response(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    let early = tokio::time::timeout(Duration::from_millis(200), &mut second).await;
    assert!(early.is_err(), "the open WebSocket holds the only slot");
    socket.close(None).await.unwrap();
    drop(socket);
    let reply = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 426"), "{reply}");
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
        announced_streams(serve_app(hello, Limits::default()).await).await,
        200
    );
    let limits = Limits::default().max_concurrent_streams(3);
    assert_eq!(announced_streams(serve_app(hello, limits).await).await, 3);
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
