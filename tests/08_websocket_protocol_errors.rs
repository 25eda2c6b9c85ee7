//! spec/08-websocket.md, 8.9: frames that break RFC 6455 fail the
//! connection with 1002, after the messages read before them.

mod support;

use std::time::Duration;

use gateway::routing::Router;
use gateway::ws::{self, CloseCode, Message, WebSocket};
use support::echo;
use support::raw_ws::{self, BINARY, CLOSE, CONTINUATION, PING, TEXT};

#[tokio::test]
async fn spec_8_9_protocol_errors_close_with_1002() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    type Frames = Vec<(bool, u8, Vec<u8>)>;
    let cases: Vec<(&str, Frames)> = vec![
        (
            "continuation without start",
            vec![(true, CONTINUATION, b"x".to_vec())],
        ),
        ("reserved opcode", vec![(true, 0x3, b"x".to_vec())]),
        ("fragmented ping", vec![(false, PING, b"x".to_vec())]),
        ("ping over 125 bytes", vec![(true, PING, vec![0u8; 126])]),
        (
            "new message inside a fragmented one",
            vec![(false, TEXT, b"a".to_vec()), (true, TEXT, b"b".to_vec())],
        ),
        ("close with one byte", vec![(true, CLOSE, vec![0x03])]),
    ];
    for (name, frames) in cases {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        for (fin, op, payload) in frames {
            raw.send_frame(fin, op, &payload).await;
        }
        assert_eq!(raw.expect_close().await, Some(1002), "{name}");
        assert!(raw.closed_by_server().await, "{name}");
    }
    // Unmasked client frame and reserved bits, written by hand.
    for (name, bytes) in [
        ("unmasked", vec![0x81u8, 0x01, b'x']),
        ("rsv1 set", vec![0xC1u8, 0x81, 1, 2, 3, 4, b'x' ^ 1]),
    ] {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        raw.send_raw(&bytes).await;
        assert_eq!(raw.expect_close().await, Some(1002), "{name}");
    }
}

#[tokio::test]
async fn spec_8_9_messages_before_a_bad_frame_are_answered_before_the_close() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    // In one write, so the server reads the bad frame in the same turn as
    // the good ones, before the handler has run.
    let bad_frames: [(&str, Vec<u8>); 3] = [
        ("rsv2 set", vec![0xA1, 0x81, 1, 2, 3, 4, b'x' ^ 1]),
        ("reserved opcode", raw_ws::frame(true, 0x3, b"x")),
        ("invalid UTF-8", raw_ws::frame(true, TEXT, &[0xff])),
    ];
    for (name, bad) in bad_frames {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        let mut bytes = raw_ws::frame(true, TEXT, b"first");
        bytes.extend(raw_ws::frame(true, BINARY, b"second"));
        bytes.extend(bad);
        bytes.extend(raw_ws::frame(true, TEXT, b"never read"));
        raw.send_raw(&bytes).await;
        let (_, op, payload) = raw.read_frame().await.expect("the first echo");
        assert_eq!((op, payload.as_slice()), (TEXT, &b"first"[..]), "{name}");
        let (_, op, payload) = raw.read_frame().await.expect("the second echo");
        assert_eq!((op, payload.as_slice()), (BINARY, &b"second"[..]), "{name}");
        let code = if name == "invalid UTF-8" { 1007 } else { 1002 };
        assert_eq!(raw.expect_close().await, Some(code), "{name}");
        assert!(raw.closed_by_server().await, "{name}");
    }
}

#[tokio::test]
async fn spec_8_9_a_handler_that_closes_or_never_reads_does_not_delay_the_failure() {
    // The handler answers, closes, and tries once more: only the answer
    // goes out, then the server's 1002 (8.11: nothing behind a close).
    let closes = ws::endpoint(|mut ws: WebSocket| async move {
        if ws.recv().await.is_some() {
            let _ = ws.send(Message::text("answer")).await;
            let _ = ws.close(CloseCode::Library(4000), "bye").await;
            let _ = ws.send(Message::text("after the close")).await;
        }
    });
    // The handler never takes its messages: the failure comes at once.
    let deaf = ws::endpoint(|_ws: WebSocket| std::future::pending::<()>());
    let addr =
        support::spawn_server(Router::new().route("/closes", closes).route("/deaf", deaf)).await;
    let mut bytes = raw_ws::frame(true, TEXT, b"first");
    bytes.extend(raw_ws::frame(true, 0x3, b"reserved opcode"));

    let (mut raw, _) = raw_ws::connect(addr, "/closes").await;
    raw.send_raw(&bytes).await;
    let (_, op, payload) = raw.read_frame().await.expect("the answer");
    assert_eq!((op, payload.as_slice()), (TEXT, &b"answer"[..]));
    assert_eq!(raw.expect_close().await, Some(1002));
    assert!(raw.closed_by_server().await);

    let (mut raw, _) = raw_ws::connect(addr, "/deaf").await;
    raw.send_raw(&bytes).await;
    let close = tokio::time::timeout(Duration::from_secs(2), raw.expect_close()).await;
    assert_eq!(close.expect("the failure is not held up"), Some(1002));
}

#[tokio::test]
async fn spec_8_9_reserved_control_opcodes_close_with_1002() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    for opcode in [0x3u8, 0x7, 0xB, 0xF] {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        raw.send_frame(true, opcode, b"").await;
        assert_eq!(raw.expect_close().await, Some(1002), "opcode {opcode:#x}");
    }
}
