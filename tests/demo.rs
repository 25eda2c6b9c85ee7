//! The demo server's routes, served through the real server in memory.

#[path = "../examples/demo/app.rs"]
mod app;
#[path = "../examples/demo/args.rs"]
mod args;

use gateway::http::StatusCode;
use gateway::testing::TestClient;

#[tokio::test]
async fn demo_index_links_every_demo() {
    let client = TestClient::new(app::app());
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    for link in [
        "/hello",
        "/stream?",
        "/legacy/hello",
        "/legacy/stream?",
        "/legacy/iter?",
        "/legacy/env",
        "/legacy/fail?",
    ] {
        assert!(
            res.text().contains(&format!("href=\"{link}")),
            "index lacks {link}"
        );
    }
}

#[tokio::test]
async fn demo_hello_in_both_styles() {
    let client = TestClient::new(app::app());
    for path in ["/hello", "/legacy/hello", "/sync/hello"] {
        let res = client.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.text(), "Hello, World!", "{path}");
        assert_eq!(
            res.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn demo_streams_have_the_requested_size() {
    let client = TestClient::new(app::app());
    for path in ["/stream", "/legacy/stream", "/legacy/iter", "/sync/stream"] {
        let res = client.get(&format!("{path}?chunks=7&size=1000")).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.bytes().len(), 7000, "{path}");
        assert_eq!(res.header("transfer-encoding"), Some("chunked"), "{path}");
    }
    let res = client.get("/legacy/stream?chunks=-1").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = client.get("/stream?size=99999999999").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// The index links the streams: a browser must show them, not download
/// them (`application/octet-stream` made it save a file).
#[tokio::test]
async fn demo_streams_are_plain_text_a_browser_shows() {
    let client = TestClient::new(app::app());
    for path in ["/stream", "/legacy/stream", "/legacy/iter", "/sync/stream"] {
        let res = client.get(&format!("{path}?chunks=3&size=100")).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            res.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{path}"
        );
        // Without it, a browser may sniff the type and guess otherwise.
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        let body = res.bytes();
        assert!(
            body.iter().all(|&b| b.is_ascii_graphic() || b == b'\n'),
            "{path}: {body:?}"
        );
        // Lines of 64 bytes, and every chunk ends its line: each of the
        // three chunks is a full line and one of 36 bytes.
        let text = std::str::from_utf8(body).unwrap();
        assert!(text.ends_with('\n'), "{path}");
        assert_eq!(text.matches(".\n").count(), 3, "{path}: {text}");
        assert_eq!(text.lines().count(), 6, "{path}: {text}");
    }
}

#[tokio::test]
async fn demo_legacy_env_reports_mount_and_headers() {
    let client = TestClient::new(app::app());
    let res = client.get("/legacy/env?a=1&b=2").await;
    let json: serde_json::Value = serde_json::from_str(&res.text()).unwrap();
    assert_eq!(json["script_name"], "/legacy");
    assert_eq!(json["path_info"], "/env");
    assert_eq!(json["query_string"], "a=1&b=2");
    assert_eq!(json["method"], "GET");
    assert_eq!(json["headers"]["host"], "localhost");
}

#[tokio::test]
async fn demo_legacy_fail_500_before_bytes_abort_after() {
    let client = TestClient::new(app::app());
    let res = client.get("/legacy/fail?after=0").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // The error catcher turns the plain 500 into a page, without internals.
    assert!(
        res.text().contains("Something went wrong"),
        "{}",
        res.text()
    );
    assert!(!res.text().contains("demo failure"));
    assert!(res.header("x-request-id").is_some());
    // Error pages get the stack's headers too.
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    // After bytes: the head and what was written arrive, then the abort.
    let req = gateway::http::Request::get("/legacy/fail?after=3")
        .body(gateway::Body::empty())
        .unwrap();
    let res = client.send(req).await.expect("the head went out");
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    let mut got = Vec::new();
    let ended = loop {
        match body.chunk().await {
            Some(Ok(chunk)) => got.extend_from_slice(&chunk),
            Some(Err(_)) => break "aborted",
            None => break "complete",
        }
    };
    assert_eq!(
        ended, "aborted",
        "after bytes, the response must be aborted"
    );
    assert_eq!(got, b"chunk 0\nchunk 1\nchunk 2\n");
}

#[tokio::test]
async fn demo_pages_answer_get_and_head_and_405_otherwise() {
    use gateway::http::{Method, Request};
    let client = TestClient::new(app::app());
    for path in [
        "/",
        "/hello",
        "/stream",
        "/echo.html",
        "/graph",
        "/legacy/hello",
        "/sync/hello",
    ] {
        for method in [Method::GET, Method::HEAD] {
            let req = Request::builder().method(method.clone()).uri(path);
            let res = client
                .request(req.body(gateway::Body::empty()).unwrap())
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{method} {path}");
        }
        for method in [Method::POST, Method::DELETE] {
            let req = Request::builder().method(method.clone()).uri(path);
            let res = client
                .request(req.body(gateway::Body::empty()).unwrap())
                .await;
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let allow = res.header("allow").unwrap_or_default();
            assert!(
                allow.contains("GET") && allow.contains("HEAD"),
                "{path}: {allow}"
            );
        }
    }
}

#[tokio::test]
async fn demo_websockets_echo_in_both_styles() {
    use futures_util::{SinkExt, StreamExt};
    use gateway::ws::Message;
    let client = TestClient::new(app::app());
    for path in ["/echo", "/legacy/ws"] {
        let mut socket = client.websocket(path).await.unwrap();
        socket.send(Message::text("ping?")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("ping?"),
            "{path}"
        );
        socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::binary(vec![1u8, 2, 3]),
            "{path}"
        );
    }
    assert_eq!(
        client.get("/echo").await.status(),
        StatusCode::UPGRADE_REQUIRED
    );
}

#[tokio::test]
async fn demo_graph_pushes_values_between_0_and_1() {
    use futures_util::StreamExt;
    let client = TestClient::new(app::app());
    let page = client.get("/graph").await;
    assert!(page.text().contains("<canvas"));
    let mut socket = client.websocket("/graph").await.unwrap();
    for _ in 0..3 {
        let msg = socket.next().await.unwrap().unwrap();
        let value: f64 = msg.to_text().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&value), "{value}");
    }
}

/// The page refuses what the server would close the socket for.
#[tokio::test]
async fn demo_chat_page_knows_the_servers_message_limit() {
    use futures_util::{SinkExt, StreamExt};
    use gateway::ws::{CloseCode, Message};
    let client = TestClient::new(app::app());
    let page = client.get("/chat").await.text();
    let limit = app::CHAT_MAX_MESSAGE;
    assert!(
        page.contains(&format!("data-max-bytes=\"{limit}\"")),
        "chat.html and app.rs disagree on the limit"
    );
    // At the limit the message goes round; one byte over, the server closes
    // with 1009 and a reason the page shows.
    let mut socket = client.websocket("/chat").await.unwrap();
    let at_limit = "x".repeat(limit);
    socket.send(Message::text(at_limit.clone())).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text(at_limit)
    );
    socket
        .send(Message::text("x".repeat(limit + 1)))
        .await
        .unwrap();
    match socket.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Size);
            assert_eq!(frame.reason.as_str(), "message too big");
        }
        other => panic!("expected a close with 1009, got {other:?}"),
    }
}

#[tokio::test]
async fn demo_chat_sends_every_message_to_everyone() {
    use futures_util::{SinkExt, StreamExt};
    use gateway::ws::Message;
    let client = TestClient::new(app::app());
    assert!(client.get("/chat").await.text().contains("Chat room"));
    let mut alice = client.websocket("/chat").await.unwrap();
    let mut bob = client.websocket("/chat").await.unwrap();
    // Both are subscribed once a message of each has come back round.
    alice.send(Message::text("alice: hi")).await.unwrap();
    assert_eq!(
        alice.next().await.unwrap().unwrap(),
        Message::text("alice: hi")
    );
    bob.send(Message::text("bob: hello")).await.unwrap();
    let to_alice = alice.next().await.unwrap().unwrap();
    let to_bob = loop {
        let m = bob.next().await.unwrap().unwrap();
        if m == Message::text("bob: hello") {
            break m;
        }
    };
    assert_eq!(to_alice, Message::text("bob: hello"));
    assert_eq!(to_bob, Message::text("bob: hello"));
}

fn parse(args: &[&str]) -> Result<args::Args, String> {
    args::parse(args.iter().map(|a| a.to_string()))
}

#[test]
fn demo_args_addr_takes_a_name_or_an_address() {
    let named = parse(&["--addr", "localhost:7123"]).unwrap();
    assert!(named.addr.ip().is_loopback(), "{}", named.addr);
    assert_eq!(named.addr.port(), 7123);
    let err = parse(&["--addr", "7000"]).unwrap_err();
    assert!(err.contains("is not HOST:PORT"), "{err}");
}

#[test]
fn demo_args_cert_and_key_go_together() {
    let plain = parse(&[]).unwrap();
    assert_eq!(plain.addr.to_string(), "127.0.0.1:7000");
    assert!(plain.tls.is_none());
    let tls = parse(&[
        "--cert",
        "c.pem",
        "--key",
        "k.pem",
        "--addr",
        "0.0.0.0:8443",
    ])
    .unwrap();
    assert_eq!(tls.addr.to_string(), "0.0.0.0:8443");
    let (cert, key) = tls.tls.unwrap();
    assert_eq!(
        (cert.to_str(), key.to_str()),
        (Some("c.pem"), Some("k.pem"))
    );
    let err = parse(&["--cert", "c.pem"]).unwrap_err();
    assert!(err.starts_with("--cert needs --key too"), "{err}");
    let err = parse(&["--key", "k.pem"]).unwrap_err();
    assert!(err.starts_with("--key needs --cert too"), "{err}");
    assert!(parse(&["--cert"]).is_err());
    assert!(parse(&["--addr", "nowhere"]).is_err());
    assert!(parse(&["--bogus"]).unwrap_err().contains("usage:"));
}

#[test]
fn demo_args_access_log_can_be_turned_off() {
    assert!(parse(&[]).unwrap().access_log);
    assert!(!parse(&["--no-access-log"]).unwrap().access_log);
}
