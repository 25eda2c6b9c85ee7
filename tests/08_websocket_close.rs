//! spec/08-websocket.md, 8.10 and 8.13: the close handshake, from the
//! peer, from the handler, and at server shutdown.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::server::{Limits, Server};
use gateway::ws::{self, CloseCode, Message, WebSocket};
use support::raw_ws::{self, CLOSE, PING, TEXT};
use support::{echo, ws_connect as connect};

#[tokio::test]
async fn spec_8_10_peer_close_is_echoed_and_recv_returns_none() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let endpoint = ws::endpoint(move |mut ws: WebSocket| {
        let tx = tx.lock().unwrap().take();
        async move {
            let got = ws.recv().await;
            if let Some(tx) = tx {
                let _ = tx.send(got.is_none());
            }
        }
    });
    let addr = support::spawn_server(endpoint).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    raw.send_frame(true, CLOSE, &payload).await;
    assert_eq!(raw.expect_close().await, Some(4000));
    assert!(raw.closed_by_server().await);
    assert!(rx.await.unwrap(), "recv returns None after the peer closed");
}

#[tokio::test]
async fn spec_8_10_invalid_close_code_gets_1002() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    for code in [999u16, 1005, 1006, 1016, 2999] {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        raw.send_frame(true, CLOSE, &code.to_be_bytes()).await;
        assert_eq!(raw.expect_close().await, Some(1002), "code {code}");
    }
}

#[tokio::test]
async fn spec_8_10_handler_return_closes_with_1000() {
    let endpoint = ws::endpoint(|ws: WebSocket| async move {
        let _ = ws.send("only message").await;
    });
    let addr = support::spawn_server(endpoint).await;
    let mut socket = connect(addr, "/").await;
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("only message")
    );
    match socket.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected close, got {other:?}"),
    }
}

#[tokio::test]
async fn spec_8_10_close_handshake_edge_cases() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    // Valid codes are echoed; an empty close gets an empty close.
    for code in [1000u16, 1001, 1003, 1007, 1011, 3000, 3999, 4000, 4999] {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        raw.send_frame(true, CLOSE, &code.to_be_bytes()).await;
        assert_eq!(raw.expect_close().await, Some(code), "code {code}");
    }
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, CLOSE, b"").await;
    assert_eq!(raw.expect_close().await, None);
    // Frames after the peer's close are ignored, not echoed.
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, CLOSE, &1000u16.to_be_bytes()).await;
    raw.send_frame(true, TEXT, b"after close").await;
    raw.send_frame(true, PING, b"after close").await;
    assert_eq!(raw.expect_close().await, Some(1000));
    assert!(raw.closed_by_server().await);
    // A close reason of 124 bytes makes a control frame over 125 bytes.
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&[b'r'; 124]);
    raw.send_frame(true, CLOSE, &payload).await;
    assert_eq!(raw.expect_close().await, Some(1002));
    // Invalid UTF-8 in the close reason.
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&[0xff, 0xfe]);
    raw.send_frame(true, CLOSE, &payload).await;
    assert_eq!(raw.expect_close().await, Some(1007));
}

#[tokio::test]
async fn spec_8_13_shutdown_closes_with_1001() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::new(ws::endpoint(echo))
            .limits(Limits::default().shutdown_grace(Duration::from_secs(5)))
            .serve_with_shutdown(listener, async {
                let _ = stop_rx.await;
            }),
    );
    let mut socket = connect(addr, "/").await;
    socket.send(Message::text("hi")).await.unwrap();
    assert_eq!(socket.next().await.unwrap().unwrap(), Message::text("hi"));
    stop_tx.send(()).unwrap();
    match socket.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(socket);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
