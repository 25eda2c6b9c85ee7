//! spec/08-websocket.md, 8.1 to 8.4: the opening handshake: its checks and
//! rejections, the origin, the subprotocol and the 101.

mod support;

use gateway::testing::TestClient;
use gateway::ws::{self, Config, WebSocket};
use support::echo;

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
