//! spec/02-callback.md: the callback-style rules, checked through the real
//! server (TestClient) with `two_to_one`.
//!
//! Rule 2.4 (no write before start_response) is checked at compile time:
//! the `compile_fail` doctest on `callback::Writer` shows a writer cannot be
//! had any other way.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use gateway::callback::StartResponse;
use gateway::http::{HeaderMap, Request, StatusCode};
use gateway::server::Limits;
use gateway::testing::TestClient;
use gateway::{two_to_one, Body, BoxError, Environ};
use support::{text_headers, DropCounter};
use tokio::sync::oneshot;

#[tokio::test]
async fn spec_2_1_no_start_response_is_a_500_naming_the_rule() {
    let client = TestClient::new(two_to_one(|_env: Environ, _sr: StartResponse| async {
        Ok::<_, BoxError>(Body::from("never sent"))
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.text().contains("start_response"), "{}", res.text());
    assert!(!res.text().contains("never sent"));
}

#[tokio::test]
async fn spec_2_2_second_start_without_error_fails() {
    let (tx, rx) = oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let tx = tx.lock().unwrap().take().unwrap();
        async move {
            sr.start(StatusCode::OK, text_headers())?;
            let second = sr.start(StatusCode::NOT_FOUND, HeaderMap::new());
            let _ = tx.send(second.map(|_| ()));
            Ok::<_, BoxError>(Body::from("first head stands"))
        }
    }));
    let res = client.get("/").await;
    let err = rx.await.unwrap().unwrap_err();
    assert!(err.is_start_response_twice(), "{err}");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text(), "first head stands");
}

#[tokio::test]
async fn spec_2_3_exc_info_replaces_pending_head() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::OK, text_headers())?;
        // Something failed before any byte went out: switch to an error page.
        let write = sr.start_with_error(
            StatusCode::SERVICE_UNAVAILABLE,
            text_headers(),
            "database down",
        )?;
        write.write("try again later").await?;
        Ok::<_, BoxError>(Body::empty())
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.text(), "try again later");
    assert!(res.is_complete());
}

#[tokio::test]
async fn spec_2_3_exc_info_after_headers_sent_fails_and_aborts() {
    let (tx, rx) = oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let tx = tx.lock().unwrap().take().unwrap();
        async move {
            let write = sr.start(StatusCode::OK, text_headers())?;
            write.write("partial page").await?;
            let again =
                sr.start_with_error(StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), "boom");
            let err = again.unwrap_err();
            let source = std::error::Error::source(&err).map(|s| s.to_string());
            let _ = tx.send((err.is_headers_already_sent(), source));
            Err::<Body, BoxError>(err.into())
        }
    }));
    let got = support::get_aborted(&client, "/").await;
    let (already_sent, source) = rx.await.unwrap();
    assert!(already_sent);
    assert_eq!(source.as_deref(), Some("boom"));
    assert!(b"partial page".starts_with(&got));
}

#[tokio::test]
async fn spec_2_5_head_waits_for_first_non_empty_chunk() {
    // The app writes an empty chunk, then waits for the test's go-ahead: no
    // head may have been sent during that wait.
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let go_rx = std::sync::Mutex::new(Some(go_rx));
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let go = go_rx.lock().unwrap().take().unwrap();
        async move {
            let write = sr.start(StatusCode::OK, text_headers())?;
            write.write("").await?;
            go.await?;
            write.write("now").await?;
            Ok::<_, BoxError>(Body::empty())
        }
    }));
    let req = Request::get("/").body(Body::empty()).unwrap();
    let pending = client.send(req);
    tokio::pin!(pending);
    let early = tokio::time::timeout(Duration::from_millis(100), &mut pending).await;
    assert!(
        early.is_err(),
        "head must not go out before the first non-empty chunk"
    );
    go_tx.send(()).unwrap();
    let res = pending.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.into_body().collect(1024).await.unwrap(), "now");
}

#[tokio::test]
async fn spec_2_5_head_goes_out_at_return_without_writes() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::CREATED, text_headers())?;
        Ok::<_, BoxError>(Body::empty())
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.header("content-length"), Some("0"));
}

#[tokio::test(start_paused = true)]
async fn spec_2_6_write_completes_only_when_taken() {
    // The app counts the writes it began and those that completed. Paused
    // time over TestClient's in-memory pipe: `settle()` returns once every
    // task is stuck, so the counts are exact, not a guess after a sleep.
    const CHUNK: usize = 64 << 10;
    let begun = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (b, d) = (begun.clone(), done.clone());
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let (b, d) = (b.clone(), d.clone());
        async move {
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            for i in 1..=50usize {
                b.store(i, Ordering::SeqCst);
                write.write(vec![b'x'; CHUNK]).await?;
                d.store(i, Ordering::SeqCst);
            }
            Ok::<_, BoxError>(Body::empty())
        }
    }));
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    // Without reading, the app runs until the transport is full and waits
    // there, inside a write: the pipe (64 KiB) and the server's write buffer
    // (max_header_bytes, 400 KiB) hold about seven chunks, never all 50.
    support::settle().await;
    let stalled = done.load(Ordering::SeqCst);
    assert!(
        (6..=8).contains(&stalled),
        "app ran {stalled} writes ahead of a client that reads nothing"
    );
    assert_eq!(
        begun.load(Ordering::SeqCst),
        stalled + 1,
        "the app waits inside its next write, not before it"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    support::settle().await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        stalled,
        "no write completes while the client reads nothing"
    );
    // The client reads: the app goes on, never further ahead of it than
    // when it stalled (give or take a chunk: the pipe frees room in pieces,
    // and a chunk goes out whole).
    let mut body = res.into_body();
    let mut read = 0;
    let mut resumed = false;
    while let Some(chunk) = body.chunk().await {
        read += chunk.unwrap().len();
        support::settle().await;
        let done = done.load(Ordering::SeqCst);
        resumed |= done > stalled;
        assert!(
            done * CHUNK <= read + (stalled + 1) * CHUNK,
            "{done} writes completed for {read} bytes read"
        );
    }
    assert!(resumed, "the app resumed once the client read");
    assert_eq!(read, 50 * CHUNK);
}

#[tokio::test]
async fn spec_2_6_disconnect_cancels_app_and_fails_other_writers() {
    let drops = DropCounter::default();
    let (writer_tx, writer_rx) = oneshot::channel();
    let writer_tx = std::sync::Mutex::new(Some(writer_tx));
    let d = drops.clone();
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let token = d.token();
        let writer_tx = writer_tx.lock().unwrap().take().unwrap();
        async move {
            let _token = token; // dropped when the app's future is
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            let _ = writer_tx.send(write.clone());
            loop {
                write.write(vec![b'x'; 16 << 10]).await?;
            }
        }
    }));
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let other = writer_rx.await.unwrap();
    let mut body = res.into_body();
    assert!(body.chunk().await.unwrap().is_ok());
    drop(body); // the client goes away
                // The app future is dropped (its token counted), and after that a
                // clone's write fails at once.
    drops.dropped(1, "app cancelled after disconnect").await;
    let err = tokio::time::timeout(Duration::from_secs(5), other.write("late"))
        .await
        .expect("a write after the disconnect fails at once")
        .expect_err("a write after the disconnect fails");
    assert!(err.is_client_gone(), "{err}");
    assert_eq!(drops.count(), 1);
}

#[tokio::test]
async fn spec_2_6_write_after_response_complete_fails() {
    let (tx, rx) = oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let tx = tx.lock().unwrap().take().unwrap();
        async move {
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            write.write("done").await?;
            let _ = tx.send(write);
            Ok::<_, BoxError>(Body::empty())
        }
    }));
    let res = client.get("/").await;
    assert_eq!(res.text(), "done");
    let write = rx.await.unwrap();
    let err = write.write("too late").await.unwrap_err();
    assert!(err.is_write_after_close(), "{err}");
}

#[tokio::test]
async fn spec_2_6_cancelled_write_sends_nothing() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        // Polled once (so its chunk sits in the slot), then dropped before
        // the transport could take it.
        assert!(write.write("withdrawn").now_or_never().is_none());
        write.write("kept").await?;
        Ok::<_, BoxError>(Body::empty())
    }));
    let res = client.get("/").await;
    assert_eq!(res.text(), "kept");
}

#[tokio::test]
async fn spec_2_7_error_before_first_byte_is_500_without_internals() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, text_headers())?;
        write.write("").await?;
        Err::<Body, BoxError>("secret connection string".into())
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.is_complete());
    assert!(!res.text().contains("secret"));
}

#[tokio::test]
async fn spec_2_7_a_failed_request_body_read_passed_up_is_the_clients_4xx() {
    // Reads at most 8 bytes; passes a failure up as it is, or wrapped in an
    // error of the app's own when the path says so.
    let client = TestClient::with_limits(
        two_to_one(|mut env: Environ, sr: StartResponse| async move {
            let wrap = env.uri().path() == "/wrapped";
            let body = match env.take_body().collect(8).await {
                Ok(body) => body,
                Err(e) if wrap => return Err(std::io::Error::other(e).into()),
                Err(e) => return Err(e.into()),
            };
            sr.start(StatusCode::OK, text_headers())?;
            Ok::<_, BoxError>(Body::from(body))
        }),
        Limits::default().body_read_timeout(Duration::from_millis(200)),
    );
    for path in ["/", "/wrapped"] {
        support::assert_body_failures_answer_413_and_408(&client, path, Duration::from_millis(200))
            .await;
    }
    let post = |path: &str, body: Body| Request::post(path).body(body).unwrap();
    let res = client.request(post("/", Body::from("eight!!!"))).await;
    assert_eq!(res.text(), "eight!!!");
}

#[tokio::test]
async fn spec_2_7_the_same_failure_of_another_body_stays_the_apps() {
    // A body the app got elsewhere (an upstream reply, say), too large for
    // it: the app's failure, a 500.
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let upstream = Body::from("a long upstream reply").collect(8).await?;
        sr.start(StatusCode::OK, text_headers())?;
        Ok::<_, BoxError>(Body::from(upstream))
    }));
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn spec_2_7_a_request_body_with_broken_framing_is_a_400() {
    let app = two_to_one(|mut env: Environ, sr: StartResponse| async move {
        let body = env.take_body().collect(1 << 10).await?;
        sr.start(StatusCode::OK, text_headers())?;
        Ok::<_, BoxError>(Body::from(body))
    });
    let addr = support::spawn_server(app).await;
    // A chunk size that is not hex.
    let reply = support::raw_response(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
}

#[tokio::test]
async fn spec_2_7_error_after_first_byte_aborts_connection() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, text_headers())?;
        write.write("some bytes").await?;
        Err::<Body, BoxError>("failed half-way".into())
    }));
    let got = support::get_aborted(&client, "/").await;
    assert!(b"some bytes".starts_with(&got));
}

#[tokio::test]
async fn spec_2_7_error_in_returned_body_aborts_connection() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        let items: Vec<Result<&'static str, BoxError>> = vec![Ok("one"), Err("two failed".into())];
        Ok::<_, BoxError>(Body::from_stream(futures_util::stream::iter(items)))
    }));
    let got = support::get_aborted(&client, "/").await;
    assert!(b"one".starts_with(&got));
}

#[tokio::test]
async fn spec_2_8_returned_body_follows_writes_and_is_dropped_once() {
    let drops = DropCounter::default();
    let d = drops.clone();
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let token = d.token();
        async move {
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            write.write("written;").await?;
            let body = futures_util::stream::iter(["returned;", "end"]).map(move |c| {
                let _ = &token; // the body owns the token
                Ok::<_, BoxError>(c)
            });
            Ok::<_, BoxError>(Body::from_stream(body))
        }
    }));
    let res = client.get("/").await;
    assert_eq!(res.text(), "written;returned;end");
    assert!(res.is_complete());
    assert_eq!(drops.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn spec_2_8_returned_body_dropped_once_on_disconnect() {
    let drops = DropCounter::default();
    let d = drops.clone();
    let client = TestClient::new(two_to_one(move |_env: Environ, sr: StartResponse| {
        let token = d.token();
        async move {
            sr.start(StatusCode::OK, HeaderMap::new())?;
            let endless = futures_util::stream::repeat_with(move || {
                let _ = &token;
                Ok::<_, BoxError>(vec![b'y'; 8 << 10])
            });
            Ok::<_, BoxError>(Body::from_stream(endless))
        }
    }));
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    assert!(body.chunk().await.unwrap().is_ok());
    drop(body);
    drops.dropped(1, "body dropped after disconnect").await;
    // Once every task has run its course, still one drop: not two.
    support::settle().await;
    assert_eq!(drops.count(), 1);
}

#[tokio::test]
async fn spec_2_9_concurrent_writes_from_clones_all_arrive() {
    let client = TestClient::new(two_to_one(|_env: Environ, sr: StartResponse| async move {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        let mut tasks = Vec::new();
        for t in 0..4 {
            let w = write.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    w.write(format!("{t}:{i};")).await?;
                }
                Ok::<_, gateway::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok::<_, BoxError>(Body::empty())
    }));
    let res = client.get("/").await;
    assert!(res.is_complete());
    let text = res.text();
    let parts: Vec<&str> = text.split(';').filter(|s| !s.is_empty()).collect();
    assert_eq!(parts.len(), 100);
    for t in 0..4 {
        // Each writer's chunks arrive in its own order.
        let mine: Vec<&str> = parts
            .iter()
            .copied()
            .filter(|p| p.starts_with(&format!("{t}:")))
            .collect();
        let expected: Vec<String> = (0..25).map(|i| format!("{t}:{i}")).collect();
        assert_eq!(mine, expected);
    }
}
