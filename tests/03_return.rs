//! spec/03-return.md: return-style apps.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gateway::http::{Request, StatusCode};
use gateway::testing::TestClient;
use gateway::{App, Body, BoxError, Environ, Response};

struct Greeter(&'static str);

impl App for Greeter {
    async fn call(&self, env: Environ) -> Response {
        Response::new(Body::from(format!("{} {}", self.0, env.path_info())))
    }
}

#[tokio::test]
async fn spec_3_1_closures_functions_and_structs_are_apps() {
    async fn func(_env: Environ) -> Response {
        Response::new(Body::from("fn"))
    }
    assert_eq!(TestClient::new(func).get("/").await.text(), "fn");
    let closure = |_env: Environ| async { Response::new(Body::from("closure")) };
    assert_eq!(TestClient::new(closure).get("/").await.text(), "closure");
    assert_eq!(
        TestClient::new(Greeter("hi")).get("/you").await.text(),
        "hi /you"
    );
}

#[tokio::test]
async fn spec_3_2_head_is_committed_before_the_body_finishes() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let rx = std::sync::Mutex::new(Some(rx));
    let client = TestClient::new(move |_env: Environ| {
        let rx = rx.lock().unwrap().take().unwrap();
        async move {
            let body = async_stream::stream! {
                yield Ok::<_, BoxError>("first");
                let _ = rx.await;
                yield Ok("second");
            };
            Response::new(Body::from_stream(body))
        }
    });
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    assert_eq!(body.chunk().await.unwrap().unwrap(), "first");
    tx.send(()).unwrap();
    assert_eq!(body.chunk().await.unwrap().unwrap(), "second");
}

#[tokio::test]
async fn spec_3_3_body_error_aborts_connection() {
    let client = TestClient::new(|_env: Environ| async {
        let items: Vec<Result<&'static str, BoxError>> = vec![Ok("ok"), Err("broken".into())];
        Response::new(Body::from_stream(futures_util::stream::iter(items)))
    });
    let got = support::get_aborted(&client, "/").await;
    assert!(b"ok".starts_with(&got));
}

#[tokio::test]
async fn spec_3_4_known_length_gets_content_length_stream_gets_chunked() {
    let client = TestClient::new(|env: Environ| async move {
        match env.path_info() {
            "/full" => Response::new(Body::from("12345")),
            "/empty" => Response::new(Body::empty()),
            _ => Response::new(Body::from_chunks(["1", "2"])),
        }
    });
    let res = client.get("/full").await;
    assert_eq!(res.header("content-length"), Some("5"));
    assert_eq!(res.header("transfer-encoding"), None);
    let res = client.get("/empty").await;
    assert_eq!(res.header("content-length"), Some("0"));
    let res = client.get("/stream").await;
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    assert_eq!(res.text(), "12");
}

#[tokio::test(start_paused = true)]
async fn spec_3_5_from_chunks_pulls_lazily() {
    // Paused time over TestClient's in-memory pipe: `settle()` returns once
    // every task is stuck, so the count of items pulled is exact.
    const CHUNK: usize = 64 << 10;
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let client = TestClient::new(move |_env: Environ| {
        let p = p.clone();
        async move {
            let chunks = (0..1000).map(move |_| {
                p.fetch_add(1, Ordering::SeqCst);
                vec![b'z'; CHUNK]
            });
            Response::new(Body::from_chunks(chunks))
        }
    });
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    let mut read = body.chunk().await.unwrap().unwrap().len();
    // The client stops reading: past what it read, the transport takes
    // items until it is full (the pipe, 64 KiB, and the server's write
    // buffer, 400 KiB: about seven items) and then asks for no more.
    support::settle().await;
    let early = pulled.load(Ordering::SeqCst);
    assert!(
        (7..=9).contains(&early),
        "iterator ran ahead of the client: {early} of 1000 pulled"
    );
    tokio::time::advance(std::time::Duration::from_secs(30)).await;
    support::settle().await;
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        early,
        "no item is pulled while the client reads nothing"
    );
    // The client reads on: items are pulled again, never further ahead of
    // it than at the stall (give or take one: the pipe frees room in
    // pieces, and an item goes out whole).
    while read < 100 * CHUNK {
        read += body.chunk().await.unwrap().unwrap().len();
        support::settle().await;
        let pulled = pulled.load(Ordering::SeqCst);
        assert!(
            pulled * CHUNK <= read + (early + 1) * CHUNK,
            "{pulled} items pulled for {read} bytes read"
        );
    }
    assert!(pulled.load(Ordering::SeqCst) >= 100, "pulled as read");
    drop(body);
}

/// What the validator reports for `app`'s answer to a GET, calling it
/// directly (these rules are the app's; the server does not enforce them).
async fn violations_of<A: App>(app: A) -> Vec<&'static str> {
    let found: Arc<std::sync::Mutex<Vec<&'static str>>> = Arc::default();
    let f = found.clone();
    let validator = gateway::middleware::Validator::new(app)
        .on_violation(move |v| f.lock().unwrap().push(v.rule));
    let env = Environ::from_request(Request::get("/").body(Body::empty()).unwrap());
    let _ = validator.call(env).await;
    let rules = found.lock().unwrap().clone();
    rules
}

#[tokio::test]
async fn spec_3_6_hop_by_hop_headers_are_the_servers() {
    let app = |_env: Environ| async {
        let mut res = Response::new(Body::from("x"));
        res.headers_mut()
            .insert("transfer-encoding", "chunked".parse().unwrap());
        res.headers_mut()
            .insert("keep-alive", "timeout=5".parse().unwrap());
        res
    };
    assert_eq!(violations_of(app).await, ["3.6", "3.6"]);
}

#[tokio::test]
async fn spec_3_7_a_final_status_is_not_informational() {
    let app = |_env: Environ| async {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::from_u16(103).unwrap();
        res
    };
    assert_eq!(violations_of(app).await, ["3.7"]);
}

#[tokio::test]
async fn spec_3_8_no_body_on_204_and_304() {
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
        let app = move |_env: Environ| async move {
            let mut res = Response::new(Body::from("should not be here"));
            *res.status_mut() = status;
            res
        };
        assert_eq!(violations_of(app).await, ["3.8"], "{status}");
    }
    // And on the wire, the server sends none.
    let client = TestClient::new(|_env: Environ| async {
        let mut res = Response::new(Body::from("dropped"));
        *res.status_mut() = StatusCode::NO_CONTENT;
        res
    });
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().is_empty());
}

/// `?` in a return-style handler: the client's body failures become the
/// client's 4xx, as in the callback style (spec 2.7), with no status picked
/// by hand; the same holds through `BoxError` and through `gateway::Error`.
#[tokio::test]
async fn spec_3_9_question_mark_gives_413_and_408() {
    use gateway::server::Limits;
    use std::time::Duration;

    async fn boxed(mut env: Environ) -> Result<Response, BoxError> {
        let body = env.take_body().collect(8).await?;
        Ok(gateway::response::text(body))
    }
    async fn ours(mut env: Environ) -> Result<String, gateway::Error> {
        let body = env.take_body().collect(8).await?;
        Ok(format!("{} bytes", body.len()))
    }
    let router = gateway::routing::Router::new()
        .route("/boxed", boxed)
        .route("/ours", ours);
    let limit = Duration::from_millis(200);
    let client = TestClient::with_limits(router, Limits::default().body_read_timeout(limit));
    let post = |path: &str, body: Body| Request::post(path).body(body).unwrap();
    for path in ["/boxed", "/ours"] {
        support::assert_body_failures_answer_413_and_408(&client, path, limit).await;
        let res = client.request(post(path, Body::from("eight!!!"))).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    assert_eq!(
        client
            .request(post("/boxed", Body::from("eight!!!")))
            .await
            .text(),
        "eight!!!"
    );
    assert_eq!(
        client
            .request(post("/ours", Body::from("1234")))
            .await
            .text(),
        "4 bytes"
    );
}

/// Any other error is a 500 that does not show it.
#[tokio::test]
async fn spec_3_9_other_errors_are_a_500_without_their_text() {
    async fn fails(_env: Environ) -> Result<Response, BoxError> {
        let n: u32 = "secret-not-a-number".parse()?;
        Ok(gateway::response::text(n.to_string()))
    }
    let res = TestClient::new(fails).get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!res.text().contains("secret"), "{}", res.text());
}

/// The conversions of the table in 3.9, and the helpers' content types.
#[tokio::test]
async fn spec_3_9_conversions_and_helpers_set_status_and_content_type() {
    use gateway::response::{html, json, redirect, redirect_permanent, text};
    let router = gateway::routing::Router::new()
        .route("/str", |_env: Environ| async { "static" })
        .route("/string", |_env: Environ| async { String::from("owned") })
        .route("/bytes", |_env: Environ| async {
            gateway::Bytes::from_static(b"\x00\x01")
        })
        .route("/vec", |_env: Environ| async { vec![1u8, 2, 3] })
        .route("/body", |_env: Environ| async { Body::from("bare") })
        .route("/status", |_env: Environ| async { StatusCode::NO_CONTENT })
        .route("/pair", |_env: Environ| async {
            (StatusCode::CREATED, "made")
        })
        .route("/pair-html", |_env: Environ| async {
            (StatusCode::ACCEPTED, html("<p>ok</p>"))
        })
        .route("/err", |_env: Environ| async {
            Err::<&'static str, _>((StatusCode::FORBIDDEN, "no"))
        })
        .route("/text", |_env: Environ| async { text("t") })
        .route("/json", |_env: Environ| async {
            json(&serde_json::json!({"a": [1, 2]}))
        })
        .route("/redirect", |_env: Environ| async { redirect("/next?x=1") })
        .route("/moved", |_env: Environ| async {
            redirect_permanent("/new")
        })
        .route("/smuggled", |_env: Environ| async {
            redirect("/x\r\nSet-Cookie: a=b")
        });
    let client = TestClient::new(router);
    let cases: [(&str, u16, Option<&str>, &str); 12] = [
        ("/str", 200, Some("text/plain; charset=utf-8"), "static"),
        ("/string", 200, Some("text/plain; charset=utf-8"), "owned"),
        (
            "/bytes",
            200,
            Some("application/octet-stream"),
            "\u{0}\u{1}",
        ),
        (
            "/vec",
            200,
            Some("application/octet-stream"),
            "\u{1}\u{2}\u{3}",
        ),
        ("/body", 200, None, "bare"),
        ("/status", 204, None, ""),
        ("/pair", 201, Some("text/plain; charset=utf-8"), "made"),
        (
            "/pair-html",
            202,
            Some("text/html; charset=utf-8"),
            "<p>ok</p>",
        ),
        ("/err", 403, Some("text/plain; charset=utf-8"), "no"),
        ("/text", 200, Some("text/plain; charset=utf-8"), "t"),
        ("/json", 200, Some("application/json"), r#"{"a":[1,2]}"#),
        ("/redirect", 303, None, ""),
    ];
    for (path, status, content_type, body) in cases {
        let res = client.get(path).await;
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(res.header("content-type"), content_type, "{path}");
        assert_eq!(res.text(), body, "{path}");
    }
    assert_eq!(
        client.get("/redirect").await.header("location"),
        Some("/next?x=1")
    );
    let moved = client.get("/moved").await;
    assert_eq!(moved.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(moved.header("location"), Some("/new"));
    let smuggled = client.get("/smuggled").await;
    assert_eq!(smuggled.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(smuggled.header("location"), None);
    assert_eq!(smuggled.header("set-cookie"), None);
}
