//! spec/10-blocking.md: blocking callback-style apps on the blocking pool.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::blocking::{self, Chunks, StartResponse};
use gateway::http::{HeaderMap, Request, StatusCode};
use gateway::routing::Router;
use gateway::server::{Limits, Server};
use gateway::testing::TestClient;
use gateway::{Body, BoxError, Environ, Response};

fn hello(_env: Environ, sr: StartResponse) -> Result<Chunks, BoxError> {
    let write = sr.start(StatusCode::OK, support::text_headers())?;
    write.write("Hello, ")?;
    Ok(Chunks::from("World!"))
}

#[tokio::test]
async fn spec_10_1_blocking_app_serves_writes_then_returned_chunks() {
    let res = TestClient::new(blocking::blocking(hello)).get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text(), "Hello, World!");
    assert!(res.is_complete());
}

#[tokio::test(flavor = "current_thread")]
async fn spec_10_1_a_sleeping_app_does_not_stall_the_server() {
    // The slow app says it started, then sleeps in ordinary blocking code
    // until the test has its fast answer (10 s at most): had it taken the
    // runtime's only thread, the fast request would wait those 10 s.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Mutex::new(Some(started_tx));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let slow = blocking::blocking(move |_env: Environ, sr: StartResponse| {
        if let Some(started) = started_tx.lock().unwrap().take() {
            let _ = started.send(());
        }
        let _ = release_rx
            .lock()
            .map(|rx| rx.recv_timeout(Duration::from_secs(10)));
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::from("slow"))
    });
    let app = Router::new()
        .route("/slow", slow)
        .route("/fast", |_env: Environ| async {
            Response::new(Body::from("fast"))
        });
    let client = Arc::new(TestClient::new(app));
    let c = client.clone();
    let slow = tokio::spawn(async move { c.get("/slow").await.text() });
    started_rx.await.unwrap();
    let started = Instant::now();
    assert_eq!(client.get("/fast").await.text(), "fast");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the runtime thread was blocked"
    );
    assert!(!slow.is_finished(), "answered while the slow app sleeps");
    drop(release_tx);
    assert_eq!(slow.await.unwrap(), "slow");
}

#[tokio::test(flavor = "current_thread")]
async fn spec_10_1_a_blocked_app_does_not_hold_up_other_blocking_requests() {
    // Every slow app holds its thread until the fast request is served:
    // the pool must find the fast one a thread of its own.
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let app = blocking::blocking(move |env: Environ, sr: StartResponse| {
        if env.path_info() == "/slow" {
            started_tx.send(())?;
            // Waits (for the mutex or the message) until the test is done.
            let _ = release_rx
                .lock()
                .map(|rx| rx.recv_timeout(Duration::from_secs(10)));
        }
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::from("done"))
    });
    let client = Arc::new(TestClient::new(app));
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get("/slow").await.text() })
        })
        .collect();
    let started = tokio::task::spawn_blocking(move || {
        (0..4).all(|_| started_rx.recv_timeout(Duration::from_secs(5)).is_ok())
    });
    assert!(started.await.unwrap(), "the slow apps run side by side");
    let fast = tokio::time::timeout(Duration::from_secs(5), client.get("/fast")).await;
    assert_eq!(
        fast.expect("served while the slow apps block").text(),
        "done"
    );
    drop(release_tx);
    for s in slow {
        assert_eq!(s.await.unwrap(), "done");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_10_1_many_blocking_requests_at_once_all_complete() {
    // Pool threads wake the responses in batches; none may be left behind.
    let client = Arc::new(TestClient::new(blocking::blocking(hello)));
    let requests: Vec<_> = (0..200)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get("/").await.text() })
        })
        .collect();
    for request in requests {
        let text = tokio::time::timeout(Duration::from_secs(10), request).await;
        assert_eq!(text.expect("every response came").unwrap(), "Hello, World!");
    }
}

#[tokio::test]
async fn spec_10_2_same_start_response_rules() {
    let no_start = blocking::blocking(|_env: Environ, _sr: StartResponse| {
        Ok::<_, BoxError>(Chunks::from("x"))
    });
    let res = TestClient::new(no_start).get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.text().contains("spec 2.1"), "{}", res.text());

    let twice = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        let err = sr.start(StatusCode::OK, HeaderMap::new()).unwrap_err();
        assert!(err.is_start_response_twice());
        Err::<Chunks, BoxError>(err.into())
    });
    let res = TestClient::new(twice).get("/").await;
    assert!(res.text().contains("spec 2.2"), "{}", res.text());

    let exc_info = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        let write =
            sr.start_with_error(StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new(), "db down")?;
        write.write("later")?;
        let late =
            sr.start_with_error(StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), "again");
        assert!(late.unwrap_err().is_headers_already_sent());
        Ok::<_, BoxError>(Chunks::empty())
    });
    let res = TestClient::new(exc_info).get("/").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.text(), "later");
}

#[tokio::test]
async fn spec_10_2_errors_before_and_after_the_first_byte() {
    let before = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Err::<Chunks, BoxError>("secret".into())
    });
    let res = TestClient::new(before).get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!res.text().contains("secret"));

    let after = blocking::blocking(|_env: Environ, sr: StartResponse| {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        write.write("partial")?;
        Err::<Chunks, BoxError>("failed".into())
    });
    let got = support::get_aborted(&TestClient::new(after), "/").await;
    assert!(b"partial".starts_with(&got));

    let panics = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        panic!("bug");
    });
    assert_eq!(
        TestClient::new(panics).get("/").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn spec_10_3_write_blocks_while_the_client_is_behind() {
    // The app reports each write that returned; the test reads nothing
    // until the app has blocked.
    const CHUNK: usize = 64 << 10;
    let (wrote_tx, mut wrote) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let begun = Arc::new(AtomicUsize::new(0));
    let b = begun.clone();
    let app = blocking::blocking(move |_env: Environ, sr: StartResponse| {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        for i in 1..=100 {
            b.store(i, Ordering::SeqCst);
            write.write(vec![b'x'; CHUNK])?;
            let _ = wrote_tx.send(i);
        }
        Ok::<_, BoxError>(Chunks::empty())
    });
    let client = TestClient::new(app);
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    // The bound: the queue's eight chunks, and what the pipe (64 KiB) and
    // the server's write buffer (400 KiB) hold, about seven more as in 2.6,
    // with one in the server's hands: 17. A blocked write resumes only once
    // the queue is down to one chunk, so the app stops with two to eight
    // chunks queued, depending on when the transport took its chunks
    // (10 to 16 as measured); never before the queue's eight.
    const BOUND: usize = 17;
    let mut early = 0;
    while early < 8 {
        early = tokio::time::timeout(Duration::from_secs(5), wrote.recv())
            .await
            .unwrap_or_else(|_| panic!("the app stopped after {early} writes, short of the queue"))
            .unwrap();
    }
    // The app then stops, inside a write: no write returns for 300 ms
    // (the pool thread has nothing else to do).
    while let Ok(Some(i)) = tokio::time::timeout(Duration::from_millis(300), wrote.recv()).await {
        early = i;
    }
    assert!(
        (8..=BOUND).contains(&early),
        "the app ran {early} writes ahead of a client that reads nothing"
    );
    assert_eq!(
        begun.load(Ordering::SeqCst),
        early + 1,
        "the app waits inside its next write"
    );
    // The client reads: the app goes on, never further ahead of it than
    // the bound.
    let mut body = res.into_body();
    let mut read = 0;
    let mut written = early;
    while let Some(chunk) = body.chunk().await {
        read += chunk.unwrap().len();
        while let Ok(i) = wrote.try_recv() {
            written = i;
        }
        assert!(
            written * CHUNK <= read + BOUND * CHUNK,
            "{written} writes returned for {read} bytes read"
        );
    }
    assert_eq!(read, 100 * CHUNK);
}

#[tokio::test]
async fn spec_10_4_a_blocked_write_fails_once_its_stalled_http2_stream_is_reset() {
    // An HTTP/2 client that never opens its stream's window: the connection
    // stays alive (the socket is never stuck), but no byte of the body can
    // go. The server resets the stream after the write timeout (6.5), and
    // the blocked write fails then; otherwise the app's pool thread would
    // wait for as long as the connection lives.
    let limit = Duration::from_millis(300);
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String, usize, Duration, Instant)>();
    let tx = std::sync::Mutex::new(tx);
    let app = blocking::blocking(move |_env: Environ, sr: StartResponse| {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        let mut written = 0;
        loop {
            let started = Instant::now();
            if let Err(e) = write.write(vec![b'x'; 16 << 10]) {
                let report = (
                    e.is_client_gone(),
                    e.to_string(),
                    written,
                    started.elapsed(),
                    Instant::now(),
                );
                let _ = tx.lock().unwrap().send(report);
                return Err(e.into());
            }
            written += 1;
        }
    });
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(app)
            .limits(Limits::default().write_timeout(limit))
            .serve_with_shutdown(listener, std::future::pending()),
    );
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, gateway::Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://{addr}/")).body(()).unwrap();
    let asked = Instant::now();
    let (res, _) = h2.send_request(req, true).unwrap();
    // The head is not flow-controlled: it arrives. The body is kept, not
    // dropped: dropping it would cancel the stream.
    let res = res.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (gone, message, written, waited, failed_at) =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("the app's write never failed: its pool thread is held");
    assert!(gone, "a stalled client counts as gone: {message}");
    assert!(
        written < 20,
        "{written} chunks went to a client that took none"
    );
    assert!(waited >= limit / 2, "gave up after {waited:?}");
    // Not before the limit counted from the request (the stream cannot
    // have stalled before it was asked for), and not long after.
    support::assert_after_limit(failed_at - asked, limit, "the write failed");
    drop(res);
}

#[tokio::test]
async fn spec_10_4_disconnect_fails_writes_and_drops_chunks_once() {
    let drops = support::DropCounter::default();
    let (tx, rx) = std::sync::mpsc::channel::<bool>();
    let tx = std::sync::Mutex::new(tx);
    let d = drops.clone();
    let app = blocking::blocking(move |_env: Environ, sr: StartResponse| {
        let write = sr.start(StatusCode::OK, HeaderMap::new())?;
        loop {
            if let Err(e) = write.write(vec![b'y'; 16 << 10]) {
                let _ = tx.lock().unwrap().send(e.is_client_gone());
                let token = d.token();
                // The returned chunks are dropped on this thread, once.
                return Ok::<_, BoxError>(Chunks::lazy(std::iter::repeat_with(move || {
                    let _ = &token;
                    vec![b'z'; 10]
                })));
            }
        }
    });
    let client = TestClient::new(app);
    let res = client
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    assert!(body.chunk().await.unwrap().is_ok());
    drop(body);
    let gone = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("the app's write failed after the disconnect");
    assert!(gone, "write fails with client_gone");
    drops.dropped(1, "returned chunks dropped").await;
    assert_eq!(drops.count(), 1);
}

#[tokio::test]
async fn spec_10_5_single_buffer_keeps_length_lazy_chunks_stream() {
    let full = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::from("exactly 13 b!"))
    });
    let res = TestClient::new(full).get("/").await;
    assert_eq!(res.header("content-length"), Some("13"));

    let lazy = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::lazy((0..3).map(|i| format!("{i};"))))
    });
    let res = TestClient::new(lazy).get("/").await;
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    assert_eq!(res.text(), "0;1;2;");

    let failing = blocking::blocking(|_env: Environ, sr: StartResponse| {
        sr.start(StatusCode::OK, HeaderMap::new())?;
        let items: Vec<Result<&'static str, BoxError>> = vec![Ok("a"), Err("b broke".into())];
        Ok::<_, BoxError>(Chunks::try_lazy(items))
    });
    let got = support::get_aborted(&TestClient::new(failing), "/").await;
    assert!(b"a".starts_with(&got));
}

#[tokio::test]
async fn spec_10_6_read_body_from_blocking_code() {
    let app = blocking::blocking(|mut env: Environ, sr: StartResponse| {
        let body = blocking::read_body(&mut env, 1024)?;
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::from(format!("got {} bytes", body.len())))
    });
    let req = Request::post("/")
        .body(Body::from_chunks(["ab", "cde"]))
        .unwrap();
    assert_eq!(
        TestClient::new(app).request(req).await.text(),
        "got 5 bytes"
    );
}

#[tokio::test]
async fn spec_10_6_a_stalled_body_lets_go_of_the_blocking_thread() {
    use futures_util::StreamExt;
    // The thread returns once the read timed out; the client gets 408 (2.7).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let app = blocking::blocking(move |mut env: Environ, sr: StartResponse| {
        let read = blocking::read_body(&mut env, 1024);
        let _ = done_tx.send(
            read.as_ref()
                .map(|b| b.len())
                .map_err(|e| e.is_body_timeout()),
        );
        let body = read?;
        sr.start(StatusCode::OK, HeaderMap::new())?;
        Ok::<_, BoxError>(Chunks::from(body))
    });
    let client = TestClient::with_limits(
        app,
        Limits::default().body_read_timeout(Duration::from_millis(200)),
    );
    let stalled = futures_util::stream::iter([Ok::<_, BoxError>("ab")])
        .chain(futures_util::stream::pending());
    let req = Request::post("/").body(Body::from_stream(stalled)).unwrap();
    let res = client.request(req).await;
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        done_rx.recv_timeout(Duration::from_secs(5)),
        Ok(Err(true)),
        "the app's read failed with the body timeout"
    );
}
