//! spec/05-hijack.md: taking over the connection as an ordinary response,
//! from either style, through middleware.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::callback::StartResponse;
use gateway::hijack::{Hijack, Upgraded};
use gateway::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use gateway::testing::TestClient;
use gateway::ws::{self, Message};
use gateway::{one_to_two, two_to_one, App, Body, BoxError, Environ, Response};
use support::echo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upgrades to a made-up line protocol: echoes what it reads, uppercased.
async fn shouting(mut env: Environ) -> Response {
    let hijack = Hijack::new(&mut env, |mut io: Upgraded| async move {
        let mut buf = [0u8; 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let loud = buf[..n].to_ascii_uppercase();
                    if io.write_all(&loud).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    match hijack {
        Ok(h) => {
            let headers = HeaderMap::from_iter([
                (header::UPGRADE, HeaderValue::from_static("shout")),
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
            ]);
            h.into_response(StatusCode::SWITCHING_PROTOCOLS, headers)
        }
        Err(refused) => refused.into_response(),
    }
}

const UPGRADE_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: shout\r\nConnection: upgrade\r\n\r\n";

async fn upgrade_and_talk(addr: std::net::SocketAddr, early: &[u8]) -> (String, Vec<u8>) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut first = UPGRADE_REQUEST.to_vec();
    first.extend_from_slice(early); // bytes right behind the request head
    tcp.write_all(&first).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let n = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await;
        match n {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            if got.len() >= end + 4 + early.len() {
                break;
            }
        }
    }
    let end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(got.len(), |e| e + 4);
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    (head, got[end..].to_vec())
}

#[tokio::test]
async fn spec_5_1_plain_request_cannot_be_taken_over() {
    let client = TestClient::new(shouting);
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text().contains("cannot be taken over"),
        "{}",
        res.text()
    );
}

#[tokio::test]
async fn spec_5_2_upgrade_runs_handler_and_loses_no_buffered_byte() {
    let addr = support::spawn_server(shouting).await;
    let (head, body) = upgrade_and_talk(addr, b"hello early bytes").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: shout"));
    assert_eq!(body, b"HELLO EARLY BYTES");
}

#[tokio::test]
async fn spec_5_2_connect_tunnel_with_2xx() {
    let app = |mut env: Environ| async move {
        if env.method() != Method::CONNECT {
            return Response::new(Body::from("not a tunnel"));
        }
        let target = env
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let hijack = Hijack::new(&mut env, move |mut io: Upgraded| async move {
            let _ = io
                .write_all(format!("tunnel to {target}\n").as_bytes())
                .await;
        });
        match hijack {
            Ok(h) => h.into_response(StatusCode::OK, HeaderMap::new()),
            Err(e) => e.into_response(),
        }
    };
    let addr = support::spawn_server(app).await;
    let reply = support::raw_exchange(
        addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.ends_with("\r\n\r\ntunnel to example.com:443\n"),
        "{reply:?}"
    );
}

#[tokio::test]
async fn spec_5_3_upgrade_response_without_handler_is_500() {
    let app = |_env: Environ| async {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        res.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("shout"));
        res
    };
    let addr = support::spawn_server(app).await;
    let reply = support::raw_response(addr, UPGRADE_REQUEST).await;
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    assert!(reply.contains("spec 5.3"), "{reply}");
}

/// Middleware that refuses everything after the inner app ran: the inner
/// app's hijack must be dropped, never run.
struct Forbid<A>(A);

impl<A: App> App for Forbid<A> {
    async fn call(&self, env: Environ) -> Response {
        let _inner = self.0.call(env).await;
        let mut res = Response::new(Body::from("no"));
        *res.status_mut() = StatusCode::FORBIDDEN;
        res
    }
}

#[tokio::test]
async fn spec_5_4_replaced_response_drops_the_handler() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    // Held by the handler: its receiver hears when the handler is dropped
    // (or, had it run, when it returned).
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    let dropped_tx = Arc::new(std::sync::Mutex::new(Some(dropped_tx)));
    let inner = move |mut env: Environ| {
        let r = r.clone();
        let guard = dropped_tx.lock().unwrap().take();
        async move {
            let h = Hijack::new(&mut env, move |_io: Upgraded| async move {
                let _guard = guard;
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
            h.into_response(StatusCode::SWITCHING_PROTOCOLS, HeaderMap::new())
        }
    };
    let addr = support::spawn_server(Forbid(inner)).await;
    let reply = support::raw_response(addr, UPGRADE_REQUEST).await;
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    tokio::time::timeout(Duration::from_secs(5), dropped_rx)
        .await
        .expect("the handler is dropped with the replaced response")
        .unwrap_err();
    assert_eq!(ran.load(Ordering::SeqCst), 0, "handler must never run");
}

/// Return-style middleware that adds a header and iterates the body, like a
/// debugging wrapper would.
struct InspectBody<A>(A);

impl<A: App> App for InspectBody<A> {
    async fn call(&self, env: Environ) -> Response {
        let res = self.0.call(env).await;
        let (mut head, mut body) = res.into_parts();
        let mut seen = Vec::new();
        while let Some(chunk) = body.chunk().await {
            seen.extend_from_slice(&chunk.unwrap());
        }
        head.headers
            .insert("x-inspected", HeaderValue::from(seen.len()));
        Response::from_parts(head, Body::from(seen))
    }
}

/// Callback-style middleware in the WSGI way: wraps the app and adds a
/// header to whatever status and headers the app starts with.
fn callback_header_middleware<A: gateway::callback::CallbackApp>(
    app: A,
) -> impl gateway::callback::CallbackApp {
    let app = Arc::new(app);
    move |env: Environ, sr: StartResponse| {
        let app = app.clone();
        async move {
            // Run the wrapped app against our own start_response, then
            // forward its head with one more header.
            let inner = two_to_one(ArcApp(app));
            let (mut head, body) = inner.call(env).await.into_parts();
            head.headers
                .insert("x-wrapped", HeaderValue::from_static("callback"));
            sr.start_parts(head)?;
            Ok::<_, BoxError>(body)
        }
    }
}

struct ArcApp<A>(Arc<A>);

impl<A: gateway::callback::CallbackApp> gateway::callback::CallbackApp for ArcApp<A> {
    async fn call(&self, env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
        self.0.call(env, sr).await
    }
}

async fn assert_echoes<A: App>(client: &TestClient<A>) {
    let mut socket = client
        .websocket("/")
        .await
        .expect("handshake through middleware");
    socket.send(Message::text("through")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("through")
    );
}

#[tokio::test]
async fn spec_5_5_hijack_passes_through_return_style_middleware() {
    assert_echoes(&TestClient::new(InspectBody(ws::endpoint(echo)))).await;
    let addr = support::spawn_server(InspectBody(shouting)).await;
    let (head, body) = upgrade_and_talk(addr, b"quiet").await;
    assert!(head.contains("x-inspected: 0"), "{head}");
    assert_eq!(body, b"QUIET");
}

#[tokio::test]
async fn spec_5_5_hijack_passes_through_callback_style_middleware() {
    let app = two_to_one(callback_header_middleware(one_to_two(ws::endpoint(echo))));
    assert_echoes(&TestClient::new(app)).await;
    let app = two_to_one(callback_header_middleware(one_to_two(shouting)));
    let addr = support::spawn_server(app).await;
    let (head, body) = upgrade_and_talk(addr, b"wrapped").await;
    assert!(head.contains("x-wrapped: callback"), "{head}");
    assert_eq!(body, b"WRAPPED");
}

#[tokio::test]
async fn spec_5_5_callback_app_accepts_a_websocket_itself() {
    // The ws4py/Django pattern: the ordinary app looks at the request, runs
    // its own checks, then accepts or answers normally.
    let app = two_to_one(|mut env: Environ, sr: StartResponse| async move {
        if env.headers().get("x-session").is_none() {
            sr.start(StatusCode::UNAUTHORIZED, HeaderMap::new())?;
            return Ok(Body::from("log in first"));
        }
        match ws::Upgrade::from_environ(&mut env, &ws::Config::default()) {
            Ok(upgrade) => {
                let (head, body) = upgrade.on_upgrade(echo).into_parts();
                sr.start_parts(head)?;
                Ok::<_, BoxError>(body)
            }
            Err(rejection) => {
                let (head, body) = rejection.into_response().into_parts();
                sr.start_parts(head)?;
                Ok(body)
            }
        }
    });
    let client = TestClient::new(app);
    assert!(client.websocket("/").await.is_err(), "no session: refused");
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = "ws://localhost/".into_client_request().unwrap();
    req.headers_mut()
        .insert("x-session", HeaderValue::from_static("s1"));
    let mut socket = client.websocket_request(req).await.unwrap();
    socket.send(Message::text("legacy ws")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("legacy ws")
    );
}

#[tokio::test(start_paused = true)]
async fn spec_5_6_server_counts_running_handlers() {
    // Paused time over TestClient's in-memory pipe: `settle()` returns once
    // every task is stuck, so the count is read when it can no longer move.
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let app = move |mut env: Environ| {
        let mut release = release_rx.clone();
        let started = started_tx.clone();
        async move {
            let h = Hijack::new(&mut env, move |_io: Upgraded| async move {
                let _ = started.send(());
                let _ = release.wait_for(|r| *r).await;
            })
            .unwrap();
            h.into_response(StatusCode::SWITCHING_PROTOCOLS, HeaderMap::new())
        }
    };
    let client = TestClient::new(app);
    let mut req = gateway::http::Request::get("/")
        .body(Body::empty())
        .unwrap();
    req.headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("x"));
    req.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    let res = client.send(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    started_rx.recv().await.expect("the handler runs");
    support::settle().await;
    assert_eq!(client.server().live_hijacks(), 1, "handler never counted");
    release_tx.send(true).unwrap();
    support::settle().await;
    assert_eq!(
        client.server().live_hijacks(),
        0,
        "handler never counted out"
    );
}
