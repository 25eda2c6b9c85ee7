//! spec/09-middleware.md: middleware for both styles, the validator, and
//! hijacks through all of them.

mod support;

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use gateway::callback::{CallbackApp, StartResponse};
use gateway::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use gateway::middleware::{
    from_fn, AccessLog, BodyReport, CatchErrors, InspectBody, Next, ProxyHeaders, SetHeaders,
    Timeout, Validator, Violation,
};
use gateway::testing::TestClient;
use gateway::ws::{self, Message};
use gateway::{two_to_one, App, Body, BoxError, Environ, Response};
use support::{echo, hello};

/// Captures log lines written while it is the default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn spec_9_1_from_fn_wraps_and_short_circuits() {
    let app = from_fn(hello, |env: Environ, next: Next| async move {
        if env.headers().contains_key("x-block") {
            return Response::new(Body::from("blocked"));
        }
        let mut res = next.run(env).await;
        res.headers_mut()
            .insert("x-mw", HeaderValue::from_static("1"));
        res
    });
    let client = TestClient::new(app);
    let res = client.get("/").await;
    assert_eq!(res.header("x-mw"), Some("1"));
    assert_eq!(res.text(), "Hello, World!");
    let req = Request::get("/")
        .header("x-block", "1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(client.request(req).await.text(), "blocked");
}

/// WSGI-style middleware: wraps start_response to add a header.
struct Stamp<A>(A);

impl<A: CallbackApp> CallbackApp for Stamp<A> {
    async fn call(&self, env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
        let sr = sr.map_head(|head| {
            head.headers
                .insert("x-stamp", HeaderValue::from_static("callback"));
        });
        self.0.call(env, sr).await
    }
}

async fn legacy_hello(_env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    let write = sr.start(StatusCode::OK, HeaderMap::new())?;
    write.write("hello").await?;
    Ok(Body::empty())
}

#[tokio::test]
async fn spec_2_10_map_head_is_callback_style_middleware() {
    let client = TestClient::new(two_to_one(Stamp(Stamp(legacy_hello))));
    let res = client.get("/").await;
    assert_eq!(res.text(), "hello");
    assert_eq!(res.headers().get_all("x-stamp").iter().count(), 1);
    assert_eq!(res.header("x-stamp"), Some("callback"));
}

#[tokio::test(flavor = "current_thread")]
async fn spec_9_2_access_log_writes_common_log_format_with_request_id() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let app = AccessLog::new(move |env: Environ| {
        *s.lock().unwrap() = env
            .headers()
            .get("x-request-id")
            .map(|r| r.to_str().unwrap().to_owned());
        async { Response::new(Body::from("Hello, World!")) }
    });
    let client = TestClient::new(app);
    let res = client.get("/hello?x=1").await;
    let id = res.header("x-request-id").unwrap().to_owned();
    assert_eq!(
        seen.lock().unwrap().as_deref(),
        Some(id.as_str()),
        "the app sees the same id"
    );
    // The line is written when the body is done; give the server task a turn.
    tokio::task::yield_now().await;
    let text = logs.text();
    assert!(
        text.contains("\"GET /hello?x=1 HTTP/1.1\" 200 13"),
        "{text}"
    );
    assert!(text.contains(&format!("rid={id}")), "{text}");
    assert!(text.contains(" - - ["), "{text}");

    let req = Request::get("/")
        .header("x-request-id", "from-the-edge-42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        client.request(req).await.header("x-request-id"),
        Some("from-the-edge-42")
    );
    let req = Request::get("/")
        .header("x-request-id", "bad id <script>")
        .body(Body::empty())
        .unwrap();
    assert_ne!(
        client.request(req).await.header("x-request-id"),
        Some("bad id <script>")
    );
}

#[tokio::test]
async fn spec_9_3_set_headers_insert_and_if_absent() {
    let app = |_env: Environ| async {
        let mut res = Response::new(Body::empty());
        res.headers_mut()
            .insert("cache-control", HeaderValue::from_static("max-age=60"));
        res.headers_mut()
            .insert("server", HeaderValue::from_static("app"));
        res
    };
    let app = SetHeaders::new(app)
        .insert("server", "gateway")
        .if_absent("cache-control", "no-store")
        .if_absent("x-content-type-options", "nosniff");
    let res = TestClient::new(app).get("/").await;
    assert_eq!(res.header("server"), Some("gateway"));
    assert_eq!(res.header("cache-control"), Some("max-age=60"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
}

async fn fails_early(_env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    sr.start(StatusCode::OK, HeaderMap::new())?;
    Err("database password is hunter2".into())
}

#[tokio::test]
async fn spec_9_4_catch_errors_pages_by_accept_without_internals() {
    let panicking = |_env: Environ| async {
        if true {
            panic!("secret panic detail");
        }
        Response::new(Body::empty())
    };
    let client = TestClient::new(AccessLog::new(CatchErrors::new(panicking)));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    assert!(!res.text().contains("secret"));
    let id = res.header("x-request-id").unwrap().to_owned();
    assert!(res.text().contains(&id), "the page names the request id");

    let client = TestClient::new(CatchErrors::new(two_to_one(fails_early)));
    let req = Request::get("/")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let res = client.request(req).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&res.text()).unwrap();
    assert_eq!(json["error"]["status"], 500);
    assert!(!res.text().contains("hunter2"));

    let ok = TestClient::new(CatchErrors::new(hello)).get("/").await;
    assert_eq!(ok.text(), "Hello, World!");
}

/// Without `AccessLog` in front, `X-Request-Id` is whatever the client
/// sent: a hostile one must not reach either page (no XSS, no broken JSON).
#[tokio::test]
async fn spec_9_4_catch_errors_pages_never_echo_a_hostile_request_id() {
    let client = TestClient::new(CatchErrors::new(two_to_one(fails_early)));
    let hostile = [
        "<script>alert(1)</script>",
        "a\"b",
        "\",\"x\":\"y",
        "id</code><img src=x onerror=alert(1)>",
    ];
    for id in hostile {
        for accept in ["text/html", "application/json"] {
            let req = Request::get("/")
                .header(header::ACCEPT, accept)
                .header("x-request-id", id)
                .body(Body::empty())
                .unwrap();
            let res = client.request(req).await;
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let text = res.text();
            assert!(!text.contains('<') || accept == "text/html", "{text}");
            assert!(
                !text.contains("script>alert") && !text.contains("onerror"),
                "{text}"
            );
            assert!(!text.contains(id), "{accept} page echoed {id:?}: {text}");
            if accept == "application/json" {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["error"]["request_id"], serde_json::Value::Null);
                assert_eq!(json["error"]["status"], 500);
            }
        }
    }
    // A plain id is still shown, in both pages.
    for accept in ["text/html", "application/json"] {
        let req = Request::get("/")
            .header(header::ACCEPT, accept)
            .header("x-request-id", "abc-123_x.y:z")
            .body(Body::empty())
            .unwrap();
        let text = client.request(req).await.text();
        assert!(text.contains("abc-123_x.y:z"), "{text}");
        if accept == "application/json" {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["error"]["request_id"], "abc-123_x.y:z");
        }
    }
}

#[tokio::test]
async fn spec_9_5_inspect_body_iterates_the_stream() {
    let reports: Arc<Mutex<Vec<BodyReport>>> = Arc::default();
    let r = reports.clone();
    let app = InspectBody::new(|_env: Environ| async {
        Response::new(Body::from_chunks(["a", "bb", "ccc"]))
    })
    .on_report(move |report| r.lock().unwrap().push(report));
    let res = TestClient::new(app).get("/x").await;
    assert_eq!(res.text(), "abbccc");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (reports[0].chunks, reports[0].bytes, reports[0].complete),
        (3, 6, true)
    );
    assert_eq!(reports[0].path, "/x");
}

fn collecting<A: App>(app: A) -> (Validator<A>, Arc<Mutex<Vec<Violation>>>) {
    let found: Arc<Mutex<Vec<Violation>>> = Arc::default();
    let f = found.clone();
    (
        Validator::new(app).on_violation(move |v| f.lock().unwrap().push(v.clone())),
        found,
    )
}

async fn rules_broken_by<A: App>(app: A, req: Request<Body>) -> Vec<&'static str> {
    let (validator, found) = collecting(app);
    // Some of these responses are aborted on the wire: read what comes.
    if let Ok(res) = TestClient::new(validator).send(req).await {
        let mut body = res.into_body();
        while let Some(Ok(_)) = body.chunk().await {}
    }
    let rules = found.lock().unwrap().iter().map(|v| v.rule).collect();
    rules
}

fn get() -> Request<Body> {
    Request::get("/").body(Body::empty()).unwrap()
}

#[tokio::test]
async fn spec_9_6_validator_reports_each_rule_with_its_number() {
    let hop = |_env: Environ| async {
        let mut res = Response::new(Body::from("x"));
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        res
    };
    assert_eq!(rules_broken_by(hop, get()).await, ["3.6"]);

    let wrong_length = |_env: Environ| async {
        let mut res = Response::new(Body::from_chunks(["12345"]));
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        res
    };
    assert_eq!(rules_broken_by(wrong_length, get()).await, ["6.4"]);

    let not_a_number = |_env: Environ| async {
        let mut res = Response::new(Body::from("x"));
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("lots"));
        res
    };
    assert_eq!(rules_broken_by(not_a_number, get()).await, ["6.4"]);

    let body_on_204 = |_env: Environ| async {
        let mut res = Response::new(Body::from("nope"));
        *res.status_mut() = StatusCode::NO_CONTENT;
        res
    };
    assert_eq!(rules_broken_by(body_on_204, get()).await, ["3.8"]);

    let bare_101 = |_env: Environ| async {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        res
    };
    assert_eq!(rules_broken_by(bare_101, get()).await, ["5.3"]);

    let no_start = |_env: Environ, _sr: StartResponse| async { Ok::<_, BoxError>(Body::empty()) };
    assert_eq!(rules_broken_by(two_to_one(no_start), get()).await, ["2.1"]);

    let twice = |_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Body::empty())
    };
    assert_eq!(rules_broken_by(two_to_one(twice), get()).await, ["2.2"]);

    assert!(
        rules_broken_by(hello, get()).await.is_empty(),
        "a correct app breaks nothing"
    );
    assert!(rules_broken_by(two_to_one(legacy_hello), get())
        .await
        .is_empty());
}

#[tokio::test]
async fn spec_9_6_validator_reports_a_hijack_on_a_non_upgrade() {
    let misuse = |mut env: Environ| async move {
        match gateway::hijack::Hijack::new(&mut env, |_io| async {}) {
            Ok(h) => h.into_response(StatusCode::OK, HeaderMap::new()),
            Err(e) => e.into_response(),
        }
    };
    let req = Request::get("/")
        .header(header::UPGRADE, "x")
        .header(header::CONNECTION, "upgrade")
        .body(Body::empty())
        .unwrap();
    assert_eq!(rules_broken_by(misuse, req).await, ["5.4"]);
}

/// A callback-style app that accepts the WebSocket itself.
async fn legacy_ws(mut env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    let res = match ws::Upgrade::from_environ(&mut env, &ws::Config::default()) {
        Ok(upgrade) => upgrade.on_upgrade(echo),
        Err(rejection) => rejection.into_response(),
    };
    let (head, body) = res.into_parts();
    sr.start_parts(head)?;
    Ok(body)
}

fn all_middleware<A: App>(app: A) -> impl App {
    let (validator, _) = collecting(app);
    ProxyHeaders::new(AccessLog::new(CatchErrors::new(InspectBody::new(
        SetHeaders::new(validator).insert("x-all", "yes"),
    ))))
}

#[tokio::test]
async fn spec_9_7_hijacks_work_through_every_middleware_in_both_styles() {
    async fn echoes<A: App>(name: &str, client: TestClient<A>) {
        let mut socket = client
            .websocket("/")
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        socket.send(Message::text(name)).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), Message::text(name));
    }
    echoes(
        "return style",
        TestClient::new(all_middleware(ws::endpoint(echo))),
    )
    .await;
    echoes(
        "callback style",
        TestClient::new(all_middleware(two_to_one(Stamp(legacy_ws)))),
    )
    .await;
    // And a raw CONNECT tunnel.
    let tunnel = |mut env: Environ| async move {
        let h = gateway::hijack::Hijack::new(&mut env, |mut io| async move {
            use tokio::io::AsyncWriteExt;
            let _ = io.write_all(b"raw through all").await;
        });
        match h {
            Ok(h) => h.into_response(StatusCode::OK, HeaderMap::new()),
            Err(e) => e.into_response(),
        }
    };
    let addr = support::spawn_server(all_middleware(tunnel)).await;
    let reply = support::raw_exchange(addr, b"CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\n\r\n").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("x-all: yes"), "{reply}");
    assert!(reply.ends_with("raw through all"), "{reply}");
}

#[tokio::test]
async fn spec_9_6_crate_responses_pass_the_validator() {
    // The WebSocket endpoint's own 426 (with its Upgrade header) and a
    // HEAD of a page break no rule.
    assert!(rules_broken_by(ws::endpoint(echo), get()).await.is_empty());
    let head = Request::head("/").body(Body::empty()).unwrap();
    let declared = |_env: Environ| async {
        let mut res = Response::new(Body::empty());
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("13"));
        res
    };
    assert!(rules_broken_by(declared, head).await.is_empty());
}

#[tokio::test]
async fn spec_2_10_map_head_also_applies_to_start_with_error() {
    let app = |_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        sr.start_with_error(StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new(), "down")?;
        Ok::<_, BoxError>(Body::empty())
    };
    let res = TestClient::new(two_to_one(Stamp(app))).get("/").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header("x-stamp"), Some("callback"));
}

/// Answers `<remote_addr> <scheme>`.
async fn who(env: Environ) -> Response {
    let remote = env.remote_addr().map_or("-".into(), |a| a.to_string());
    Response::new(Body::from(format!("{remote} {}", env.scheme())))
}

/// What `who` answers behind `ProxyHeaders` (which trusts 10.0.0.0/8 as
/// well as loopback, where this connects from), for a request with
/// `headers`.
async fn seen_behind_proxy(headers: &[(&str, &str)]) -> String {
    let addr = support::spawn_server(ProxyHeaders::new(who).trust("10.0.0.0/8")).await;
    let mut req = String::from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    let reply = support::raw_exchange(addr, req.as_bytes()).await;
    let (_, body) = reply.split_once("\r\n\r\n").expect("a whole response");
    body.to_owned()
}

#[tokio::test]
async fn spec_9_8_proxy_headers_name_the_client_past_every_trusted_proxy() {
    // The client, then two load balancers; nginx on loopback connected.
    let xff = ("x-forwarded-for", "203.0.113.7, 10.0.0.2,10.0.0.3");
    assert_eq!(seen_behind_proxy(&[xff]).await, "203.0.113.7:0 http");
    // A second header line was appended after the first.
    let lines = [
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-for", "10.0.0.2"),
    ];
    assert_eq!(seen_behind_proxy(&lines).await, "203.0.113.7:0 http");
    // What a client wrote before the first untrusted hop is not believed.
    let spoofed = ("x-forwarded-for", "1.1.1.1, 198.51.100.9, 10.0.0.2");
    assert_eq!(seen_behind_proxy(&[spoofed]).await, "198.51.100.9:0 http");
    // Every hop trusted: the first one. With ports and IPv6.
    let all = ("x-forwarded-for", "10.9.9.9:5000, [::1]:80");
    assert_eq!(seen_behind_proxy(&[all]).await, "10.9.9.9:0 http");
    let v6 = ("x-forwarded-for", "2001:db8::1");
    assert_eq!(seen_behind_proxy(&[v6]).await, "[2001:db8::1]:0 http");
}

#[tokio::test]
async fn spec_9_8_proxy_headers_set_the_scheme_from_the_nearest_proxy() {
    let https = ("x-forwarded-proto", "https");
    assert!(seen_behind_proxy(&[https]).await.ends_with(" https"));
    let chain = ("x-forwarded-proto", "http, HTTPS");
    assert!(seen_behind_proxy(&[chain]).await.ends_with(" https"));
    let back = ("x-forwarded-proto", "https, http");
    assert!(seen_behind_proxy(&[back]).await.ends_with(" http"));
    let odd = ("x-forwarded-proto", "gopher");
    assert!(seen_behind_proxy(&[odd]).await.ends_with(" http"));
}

#[tokio::test]
async fn spec_9_8_only_entries_up_to_the_client_are_read() {
    // A non-address between the client and us: the header counts for
    // nothing, and the connection's own address stands, port and all.
    let bad = ("x-forwarded-for", "203.0.113.7, unknown");
    let seen = seen_behind_proxy(&[bad]).await;
    assert!(
        seen.starts_with("127.0.0.1:") && !seen.starts_with("127.0.0.1:0 "),
        "{seen}"
    );
    // Left of the client, the client's own text: never read.
    let left = ("x-forwarded-for", "unknown, 203.0.113.7");
    assert_eq!(seen_behind_proxy(&[left]).await, "203.0.113.7:0 http");
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    raw.extend_from_slice(b"X-Forwarded-For: \xff\xfe, 203.0.113.7\r\n\r\n");
    let addr = support::spawn_server(ProxyHeaders::new(who)).await;
    let reply = support::raw_exchange(addr, &raw).await;
    assert!(reply.ends_with("\r\n\r\n203.0.113.7:0 http"), "{reply}");
}

#[tokio::test]
async fn spec_9_8_mapped_ipv4_and_a_scheme_over_two_lines() {
    let mapped = ("x-forwarded-for", "::ffff:203.0.113.7");
    assert_eq!(seen_behind_proxy(&[mapped]).await, "203.0.113.7:0 http");
    let lines = [
        ("x-forwarded-proto", "http"),
        ("x-forwarded-proto", "https"),
    ];
    assert!(seen_behind_proxy(&lines).await.ends_with(" https"));
}

#[test]
#[should_panic(expected = "not an address or a range")]
fn spec_9_8_trusting_something_that_is_not_an_address_panics() {
    let _ = ProxyHeaders::new(hello).trust("nginx.internal");
}

// The Timeout tests with async apps run under paused time over
// TestClient's in-memory pipe: the slow apps' sleeps cost no real time,
// and the limits are met exactly.
#[tokio::test(start_paused = true)]
async fn spec_9_9_timeout_answers_for_an_app_too_slow_to_answer() {
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    let dropped_tx = Mutex::new(Some(dropped_tx));
    let app = move |env: Environ| {
        // Sent when the app's future is dropped.
        let guard = dropped_tx.lock().unwrap().take();
        async move {
            let _guard = guard;
            if env.path_info() == "/slow" {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
            Response::new(Body::from("answered"))
        }
    };
    let limit = std::time::Duration::from_millis(200);
    let client = TestClient::new(Timeout::new(app, limit));
    let asked = tokio::time::Instant::now();
    let res = client.get("/slow").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_answered_at_the_limit(asked.elapsed(), limit);
    assert!(
        res.text().contains("did not answer within"),
        "{}",
        res.text()
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), dropped_rx)
        .await
        .expect("the slow app's future was dropped")
        .unwrap_err();
    assert_eq!(client.get("/fast").await.text(), "answered");
}

/// A Timeout under paused time answers at its limit: not before it, and
/// not later than a millisecond after.
#[track_caller]
fn assert_answered_at_the_limit(elapsed: std::time::Duration, limit: std::time::Duration) {
    support::assert_after_limit(elapsed, limit, "answered");
    assert!(
        elapsed <= limit + std::time::Duration::from_millis(1),
        "answered {elapsed:?} in, for a limit of {limit:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn spec_9_9_timeout_status_and_an_untimed_body() {
    let slow = |_env: Environ| async {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        Response::new(Body::empty())
    };
    let limit = std::time::Duration::from_millis(100);
    let gateway = TestClient::new(Timeout::new(slow, limit).status(StatusCode::GATEWAY_TIMEOUT));
    let asked = tokio::time::Instant::now();
    assert_eq!(gateway.get("/").await.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_answered_at_the_limit(asked.elapsed(), limit);
    // Answered at once, then streamed for longer than the limit: untouched.
    let streams = |_env: Environ| async {
        let ticks = futures_util::stream::iter(0..3).then(|i| async move {
            tokio::time::sleep(std::time::Duration::from_millis(80)).await;
            Ok::<_, BoxError>(gateway::Bytes::from(format!("{i};")))
        });
        Response::new(Body::from_stream(ticks))
    };
    let asked = tokio::time::Instant::now();
    let res = TestClient::new(Timeout::new(streams, limit)).get("/").await;
    assert_eq!(res.text(), "0;1;2;");
    assert!(res.is_complete());
    // Streamed past the limit: three 80 ms ticks.
    support::assert_after_limit(
        asked.elapsed(),
        3 * std::time::Duration::from_millis(80),
        "the body ended",
    );
}

#[tokio::test]
async fn spec_9_9_a_timed_out_blocking_app_runs_on_and_its_write_fails() {
    let (wrote_tx, wrote_rx) = std::sync::mpsc::channel();
    // The app blocks until the test has its 503, then writes.
    let (answered_tx, answered_rx) = std::sync::mpsc::channel::<()>();
    let answered_rx = Mutex::new(answered_rx);
    let app =
        gateway::blocking::blocking(move |_env: Environ, sr: gateway::blocking::StartResponse| {
            let _ = answered_rx
                .lock()
                .map(|rx| rx.recv_timeout(std::time::Duration::from_secs(10)));
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            let wrote = write.write("late");
            let _ = wrote_tx.send(wrote.map_err(|e| e.is_client_gone()));
            Ok::<_, BoxError>(gateway::blocking::Chunks::empty())
        });
    let limit = std::time::Duration::from_millis(100);
    let client = TestClient::new(Timeout::new(app, limit));
    let asked = std::time::Instant::now();
    assert_eq!(
        client.get("/").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    support::assert_after_limit(asked.elapsed(), limit, "answered");
    answered_tx.send(()).unwrap();
    assert_eq!(
        wrote_rx.recv_timeout(std::time::Duration::from_secs(5)),
        Ok(Err(true)),
        "the thread ran on; its write failed as for a client gone"
    );
}
