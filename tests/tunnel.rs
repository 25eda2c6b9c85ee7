//! The CONNECT tunnel example: allowed targets are reached, others refused.

mod support;

#[path = "../examples/tunnel/app.rs"]
mod tunnel;

use gateway::{Body, Environ, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn tunnel_reaches_allowed_target_and_refuses_others() {
    let target = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("target saw {}", env.path_info())))
    })
    .await;
    let proxy = support::spawn_server(tunnel::app([target.to_string()])).await;

    // Through the tunnel, a whole HTTP exchange with the target.
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp.write_all(b"GET /through HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).await.unwrap();
    assert!(reply.ends_with("target saw /through"), "{reply}");

    let refused = support::raw_response(
        proxy,
        b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let plain = support::raw_response(proxy, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.1 405"), "{plain}");
}

#[tokio::test]
async fn tunnel_to_dead_target_is_502() {
    // Bind and drop to find a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = support::spawn_server(tunnel::app([dead.to_string()])).await;
    let reply = support::raw_response(
        proxy,
        format!("CONNECT {dead} HTTP/1.1\r\nHost: {dead}\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 502"), "{reply}");
}
