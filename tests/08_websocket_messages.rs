//! spec/08-websocket.md, 8.5 to 8.8 and 8.17: messages as the handler
//! receives them: whole, in order, without pings; within the size limits;
//! text in UTF-8; through read buffers of any size.

mod support;

use futures_util::{SinkExt, StreamExt};
use gateway::ws::{self, Config, Message};
use support::raw_ws::{self, BINARY, CONTINUATION, PING, PONG, TEXT};
use support::{echo, ws_connect as connect};

#[tokio::test]
async fn spec_8_5_echo_text_and_binary_with_a_real_client() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let mut socket = connect(addr, "/").await;
    socket.send(Message::text("héllo")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("héllo")
    );
    socket
        .send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn spec_8_5_fragments_are_reassembled() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let (mut raw, head) = raw_ws::connect(addr, "/").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    raw.send_frame(false, TEXT, b"frag").await;
    raw.send_frame(false, CONTINUATION, b"men").await;
    // A control frame may come between fragments.
    raw.send_frame(true, PING, b"mid").await;
    raw.send_frame(true, CONTINUATION, b"ted").await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.as_slice()), (PONG, &b"mid"[..]));
    let (fin, op, payload) = raw.read_frame().await.unwrap();
    assert!(fin);
    assert_eq!((op, payload.as_slice()), (TEXT, &b"fragmented"[..]));
}

#[tokio::test]
async fn spec_8_5_many_small_fragments_and_big_frames_echo() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    // 4 MiB in 64-byte fragments, then one 1 MiB frame.
    let fragment = [b'f'; 64];
    let count = (4 << 20) / 64;
    for i in 0..count {
        let op = if i == 0 { BINARY } else { CONTINUATION };
        raw.send_frame(i == count - 1, op, &fragment).await;
    }
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.len()), (BINARY, 4 << 20));
    raw.send_frame(true, TEXT, &vec![b't'; 1 << 20]).await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.len()), (TEXT, 1 << 20));
}

#[tokio::test]
async fn spec_8_6_ping_gets_pong_with_same_payload_and_is_not_delivered() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, PING, b"are you there").await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.as_slice()), (PONG, &b"are you there"[..]));
    raw.send_frame(true, PONG, b"unsolicited").await;
    raw.send_frame(true, BINARY, b"after").await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!(
        (op, payload.as_slice()),
        (BINARY, &b"after"[..]),
        "pong must not reach the handler"
    );
}

#[tokio::test]
async fn spec_8_7_oversized_message_closes_with_1009() {
    let endpoint = ws::endpoint(echo).config(Config::default().max_message_size(1024));
    let addr = support::spawn_server(endpoint).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, BINARY, &[7u8; 1024]).await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.len()), (BINARY, 1024), "at the limit is fine");
    // Over the limit in fragments: the running total counts.
    raw.send_frame(false, BINARY, &[7u8; 600]).await;
    raw.send_frame(true, CONTINUATION, &[7u8; 600]).await;
    assert_eq!(raw.expect_close().await, Some(1009));
    assert!(raw.closed_by_server().await);
}

#[tokio::test]
async fn spec_8_7_default_lets_a_16_mib_message_through() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let mut socket = connect(addr, "/").await;
    let big = vec![b'a'; 16 << 20];
    socket.send(Message::binary(big.clone())).await.unwrap();
    let back = socket.next().await.unwrap().unwrap();
    assert_eq!(back.len(), 16 << 20);

    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, BINARY, &vec![b'b'; 17 << 20]).await;
    assert_eq!(raw.expect_close().await, Some(1009));
}

#[tokio::test]
async fn spec_8_8_invalid_utf8_closes_with_1007() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(true, TEXT, &[0xce, 0xba, 0xff, 0xfe]).await;
    assert_eq!(raw.expect_close().await, Some(1007));

    // Split inside a code point across fragments is fine...
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    raw.send_frame(false, TEXT, &[0xce]).await;
    raw.send_frame(true, CONTINUATION, &[0xba]).await;
    let (_, op, payload) = raw.read_frame().await.unwrap();
    assert_eq!((op, payload.as_slice()), (TEXT, "κ".as_bytes()));
    // ...but invalid across fragments is not.
    raw.send_frame(false, TEXT, b"ok").await;
    raw.send_frame(true, CONTINUATION, &[0xed, 0xa0, 0x80])
        .await;
    assert_eq!(raw.expect_close().await, Some(1007));
}

#[tokio::test]
async fn spec_8_17_small_read_buffer_still_carries_large_and_mixed_traffic() {
    let endpoint = ws::endpoint(echo).config(Config::default().read_buffer_size(1024));
    let addr = support::spawn_server(endpoint).await;
    let mut socket = connect(addr, "/").await;
    // Large frames go through the read-ahead buffer, small ones straight
    // through; interleaved, every message must come back whole and in order.
    let sizes = [10usize, 1 << 20, 3, 70_000, 1024, 1025, 200_000, 1];
    for (i, size) in sizes.iter().enumerate() {
        socket
            .send(Message::binary(vec![i as u8; *size]))
            .await
            .unwrap();
    }
    for (i, size) in sizes.iter().enumerate() {
        let msg = socket.next().await.unwrap().unwrap().into_data();
        assert_eq!(msg.len(), *size);
        assert!(msg.iter().all(|b| *b == i as u8));
    }
}
