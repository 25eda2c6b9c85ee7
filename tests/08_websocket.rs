//! spec/08-websocket.md: the WebSocket endpoint, against real clients
//! (tokio-tungstenite) and a raw frame client for hostile input.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::routing::Router;
use gateway::server::{Limits, Server};
use gateway::testing::TestClient;
use gateway::ws::{self, CloseCode, Config, Message, WebSocket};
use gateway::{Body, Environ, Response};
use support::raw_ws::{self, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

async fn connect(
    addr: std::net::SocketAddr,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp)
        .await
        .unwrap();
    socket
}

async fn raw_handshake(addr: std::net::SocketAddr, request: &str) -> String {
    support::raw_response(addr, request.as_bytes()).await
}

fn handshake(extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

#[tokio::test]
async fn spec_8_1_plain_request_gets_426_with_upgrade_header() {
    let client = TestClient::new(ws::endpoint(echo));
    let res = client.get("/").await;
    assert_eq!(res.status(), 426);
    assert_eq!(res.header("upgrade"), Some("websocket"));
    assert!(res.text().contains("WebSocket"), "{}", res.text());
}

#[tokio::test]
async fn spec_8_1_bad_handshakes_get_4xx_with_reason() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let cases = [
        (handshake(""), "400", "Sec-WebSocket-Key header is missing"),
        (
            handshake("Sec-WebSocket-Key: c2hvcnQ=\r\n"),
            "400",
            "16 bytes",
        ),
        (
            handshake(KEY).replace("Version: 13", "Version: 8"),
            "426",
            "version 13",
        ),
        (
            handshake(KEY).replace("Connection: Upgrade", "Connection: keep-alive"),
            "400",
            "Connection: Upgrade",
        ),
        (
            handshake(KEY).replace("GET /", "POST /"),
            "405",
            "must use GET",
        ),
        (
            handshake(KEY).replace("HTTP/1.1", "HTTP/1.0"),
            "400",
            "HTTP/1.1",
        ),
    ];
    for (request, status, reason) in cases {
        let reply = raw_handshake(addr, &request).await;
        // HTTP/1.0 requests are answered in HTTP/1.0.
        assert!(
            reply[8..].starts_with(&format!(" {status} ")),
            "{request:?} -> {reply}"
        );
        assert!(reply.contains(reason), "{request:?} -> {reply}");
    }
    let reply = raw_handshake(addr, &handshake(KEY).replace("Version: 13", "Version: 8")).await;
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{reply}"
    );
}

#[tokio::test]
async fn spec_8_2_origin_defaults_to_same_as_host() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let same = handshake(&format!("{KEY}Origin: http://127.0.0.1\r\n"));
    let reply = raw_handshake(addr, &same).await;
    assert!(reply.starts_with("HTTP/1.1 101"), "{reply}");
    let other = handshake(&format!("{KEY}Origin: http://evil.example\r\n"));
    let reply = raw_handshake(addr, &other).await;
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    let none = handshake(KEY);
    let reply = raw_handshake(addr, &none).await;
    assert!(
        reply.starts_with("HTTP/1.1 101"),
        "no Origin: a non-browser client is allowed: {reply}"
    );
}

#[tokio::test]
async fn spec_8_2_allowed_origins_list_and_any() {
    let listed =
        ws::endpoint(echo).config(Config::default().allowed_origins(["https://app.example"]));
    let addr = support::spawn_server(listed).await;
    let ok = handshake(&format!("{KEY}Origin: https://app.example\r\n"));
    assert!(raw_handshake(addr, &ok).await.starts_with("HTTP/1.1 101"));
    let same_host = handshake(&format!("{KEY}Origin: http://127.0.0.1\r\n"));
    assert!(raw_handshake(addr, &same_host)
        .await
        .starts_with("HTTP/1.1 403"));

    let any =
        support::spawn_server(ws::endpoint(echo).config(Config::default().any_origin())).await;
    let evil = handshake(&format!("{KEY}Origin: http://evil.example\r\n"));
    assert!(raw_handshake(any, &evil).await.starts_with("HTTP/1.1 101"));
}

#[tokio::test]
async fn spec_8_3_subprotocol_chosen_by_server_preference() {
    let endpoint = ws::endpoint(|ws: WebSocket| async move {
        let p = ws.protocol().unwrap_or("none").to_owned();
        let _ = ws.send(p).await;
    })
    .config(Config::default().protocols(["chat.v2", "chat.v1"]));
    let addr = support::spawn_server(endpoint).await;
    let reply = raw_handshake(
        addr,
        &handshake(&format!(
            "{KEY}Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"
        )),
    )
    .await;
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("sec-websocket-protocol: chat.v2\r\n"),
        "{reply}"
    );
    let reply = raw_handshake(
        addr,
        &handshake(&format!("{KEY}Sec-WebSocket-Protocol: other\r\n")),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 101"), "{reply}");
    assert!(
        !reply
            .to_ascii_lowercase()
            .contains("sec-websocket-protocol"),
        "{reply}"
    );
}

#[tokio::test]
async fn spec_8_4_accept_key_follows_rfc_6455() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    let reply = raw_handshake(addr, &handshake(KEY)).await;
    assert!(reply.starts_with("HTTP/1.1 101"), "{reply}");
    // The example from RFC 6455 section 1.3.
    assert!(reply.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{reply}");
}

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
async fn spec_8_11_concurrent_sends_from_other_tasks() {
    let endpoint = ws::endpoint(|ws: WebSocket| async move {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let sender = ws.sender();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    sender.send(format!("{t}:{i}")).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let client = TestClient::new(endpoint);
    let mut socket = client.websocket("/").await.unwrap();
    let mut per_task = vec![Vec::new(); 4];
    for _ in 0..200 {
        let msg = socket.next().await.unwrap().unwrap();
        let text = msg.into_text().unwrap();
        let (t, i) = text.split_once(':').unwrap();
        per_task[t.parse::<usize>().unwrap()].push(i.parse::<usize>().unwrap());
    }
    for list in per_task {
        assert_eq!(list, (0..50).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn spec_8_12_idle_peer_is_pinged_and_dead_peer_dropped() {
    let endpoint = ws::endpoint(echo).config(
        Config::default()
            .ping_interval(Some(Duration::from_millis(100)))
            .ping_timeout(Duration::from_millis(300)),
    );
    let addr = support::spawn_server(endpoint).await;
    let (mut raw, _) = raw_ws::connect(addr, "/").await;
    // A peer that never answers: it gets pings, then is dropped.
    let (_, op, _) = raw.read_frame().await.unwrap();
    assert_eq!(op, PING);
    assert!(raw.closed_by_server().await, "dead peer must be dropped");

    // A peer that answers pings (tungstenite does while it reads) stays.
    let mut socket = connect(addr, "/").await;
    let quiet = tokio::time::timeout(Duration::from_millis(700), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Ping(_))) => continue,
                other => panic!("only pings expected while idle, got {other:?}"),
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the connection stayed open while idle");
    socket.send(Message::text("still here")).await.unwrap();
    loop {
        match socket.next().await.unwrap().unwrap() {
            Message::Text(t) => {
                assert_eq!(t, "still here");
                break;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn spec_8_12_peers_that_answer_are_never_dropped_with_the_timeout_equal_to_the_interval() {
    // The defaults' proportions (20 s and 20 s), in real time: the answer
    // to each ping arrives a little after the check that sent it, and the
    // next check comes a little late or early; none of that may count as
    // the peer's silence.
    // Long enough that a loaded machine's scheduling delays stay well
    // under one interval.
    let every = Duration::from_millis(150);
    let endpoint = ws::endpoint(echo).config(
        Config::default()
            .ping_interval(Some(every))
            .ping_timeout(every),
    );
    let addr = support::spawn_server(endpoint).await;
    let mut peers = Vec::new();
    for _ in 0..16 {
        let mut socket = connect(addr, "/").await;
        peers.push(tokio::spawn(async move {
            // Reading answers pings; only pings may come.
            let mut pings = 0;
            let outcome = tokio::time::timeout(every * 15, async {
                loop {
                    match socket.next().await {
                        Some(Ok(Message::Ping(_))) => pings += 1,
                        other => return other,
                    }
                }
            })
            .await;
            (outcome.map(|other| format!("{other:?}")), pings)
        }));
    }
    for peer in peers {
        let (outcome, pings) = peer.await.unwrap();
        assert!(
            outcome.is_err(),
            "a peer that answers was dropped: {outcome:?}"
        );
        assert!(
            pings >= 7,
            "a quiet peer is pinged at every check, got {pings} in 15"
        );
    }
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

#[tokio::test]
async fn spec_8_14_fallback_serves_plain_requests() {
    let endpoint =
        ws::endpoint(echo).fallback(|_env: Environ| async { Response::new(Body::from("a page")) });
    let client = TestClient::new(endpoint);
    assert_eq!(client.get("/").await.text(), "a page");
    let mut socket = client.websocket("/").await.unwrap();
    socket.send(Message::text("ws too")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("ws too")
    );
}

#[tokio::test]
async fn spec_8_15_endpoint_mounts_in_a_router() {
    let client = TestClient::new(Router::new().route("/echo", ws::endpoint(echo)));
    let mut socket = client.websocket("/echo").await.unwrap();
    socket.send(Message::text("routed")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("routed")
    );
    let mut req = "ws://localhost/echo".into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "http://localhost".parse().unwrap());
    assert!(
        client.websocket_request(req).await.is_ok(),
        "same origin as Host: localhost"
    );
}

#[tokio::test]
async fn spec_8_11_sends_after_close_fail_at_once() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let tx = tx.lock().unwrap().take();
        async move {
            ws.close(CloseCode::Normal, "done").await.unwrap();
            let after = ws.send("too late").await;
            let again = ws.close(CloseCode::Away, "twice").await;
            if let Some(tx) = tx {
                let _ = tx.send((after.map_err(|e| e.is_client_gone()), again.is_err()));
            }
        }
    });
    let client = TestClient::new(endpoint);
    let mut socket = client.websocket("/").await.unwrap();
    match socket.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.reason, "done"),
        other => panic!("expected the close, got {other:?}"),
    }
    let (after, again) = rx.await.unwrap();
    assert_eq!(after, Err(true), "send after close fails with client_gone");
    assert!(again, "a second close fails");
}

#[tokio::test]
async fn spec_8_16_handler_not_reading_pauses_the_socket_without_dropping_the_peer() {
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let endpoint = ws::endpoint(move |mut ws: WebSocket| {
        let mut go = go_rx.clone();
        async move {
            // Busy elsewhere: not reading for a while.
            let _ = go.wait_for(|g| *g).await;
            let mut n = 0usize;
            while let Some(_msg) = ws.recv().await {
                n += 1;
                if n == 300 {
                    let _ = ws.send(format!("got {n}")).await;
                }
            }
        }
    })
    .config(
        Config::default()
            .ping_interval(Some(Duration::from_millis(100)))
            .ping_timeout(Duration::from_millis(200)),
    );
    let addr = support::spawn_server(endpoint).await;
    let (mut sink, mut stream) = connect(addr, "/").await.split();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let payload = vec![7u8; 64 << 10];
        for _ in 0..300 {
            sink.send(Message::binary(payload.clone())).await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        sink
    });
    // Well past ping_interval + ping_timeout: the server read at most its
    // queue's worth and left the rest to TCP flow control, and it does not
    // take the silence it caused for a dead peer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stuck = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        stuck < 300,
        "all {stuck} messages of 64 KiB went into a paused server"
    );
    go_tx.send(true).unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
                Some(Ok(_)) => continue,
                other => panic!("connection lost: {other:?}"),
            }
        }
    })
    .await
    .expect("the handler caught up");
    assert_eq!(reply, "got 300");
    let _sink = writer.await.unwrap();
}

#[tokio::test]
async fn spec_8_11_sends_wait_when_the_peer_does_not_read() {
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<bool>();
    let done_tx = std::sync::Mutex::new(Some(done_tx));
    let counter = sent.clone();
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let counter = counter.clone();
        let done = done_tx.lock().unwrap().take();
        async move {
            let chunk = vec![0u8; 64 << 10];
            let failed = loop {
                if ws.send(chunk.clone()).await.is_err() {
                    break true;
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            };
            if let Some(done) = done {
                let _ = done.send(failed);
            }
        }
    })
    .config(Config::default().ping_timeout(Duration::from_millis(500)));
    let addr = support::spawn_server(endpoint).await;
    // Handshake, then never read.
    let (raw, head) = raw_ws::connect(addr, "/").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stalled = sent.load(std::sync::atomic::Ordering::SeqCst);
    // Socket buffers, the write buffer and the queue hold a bounded number.
    assert!(
        stalled < 400,
        "{stalled} messages of 64 KiB queued for a peer that reads nothing"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        later <= stalled + 1,
        "sends kept completing: {stalled} then {later}"
    );
    // A write that cannot finish within ping_timeout drops the peer, and
    // the handler's sends then fail.
    let failed = tokio::time::timeout(Duration::from_secs(5), done_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(failed);
    drop(raw);
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
async fn spec_8_9_reserved_control_opcodes_close_with_1002() {
    let addr = support::spawn_server(ws::endpoint(echo)).await;
    for opcode in [0x3u8, 0x7, 0xB, 0xF] {
        let (mut raw, _) = raw_ws::connect(addr, "/").await;
        raw.send_frame(true, opcode, b"").await;
        assert_eq!(raw.expect_close().await, Some(1002), "opcode {opcode:#x}");
    }
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

#[tokio::test]
async fn spec_8_11_a_handler_sending_without_pause_still_hears_the_peer() {
    let (tx, rx) = tokio::sync::oneshot::channel::<usize>();
    let tx = std::sync::Mutex::new(Some(tx));
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let tx = tx.lock().unwrap().take();
        async move {
            let mut sent = 0;
            // Floods until the peer's close makes sends fail.
            while ws.send("tick").await.is_ok() {
                sent += 1;
            }
            if let Some(tx) = tx {
                let _ = tx.send(sent);
            }
        }
    });
    let addr = support::spawn_server(endpoint).await;
    let mut socket = connect(addr, "/").await;
    for _ in 0..100 {
        socket.next().await.unwrap().unwrap();
    }
    socket
        .send(Message::Ping(vec![1, 2, 3].into()))
        .await
        .unwrap();
    socket.close(None).await.unwrap();
    // Read on until the server's close reply ends the stream.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    assert!(
        drained.is_ok(),
        "the server must answer our close while its handler floods"
    );
    let sent = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert!(sent >= 100);
}
