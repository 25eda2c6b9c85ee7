//! Helpers shared by the spec tests.
#![allow(dead_code, unreachable_pub)]

pub mod apps;
pub mod raw_ws;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::http::{header, HeaderMap, HeaderValue};
use tokio::io::AsyncReadExt;

#[allow(unused_imports)]
pub use apps::{echo, hello, read_body};

/// `Content-Type: text/plain` headers.
pub fn text_headers() -> HeaderMap {
    HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))])
}

/// Counts drops of the values it hands out: proves "closed exactly once".
/// Tokens may be dropped on any thread (the blocking pool's included);
/// [`DropCounter::dropped`] waits for a count without polling.
#[derive(Clone)]
pub struct DropCounter(Arc<tokio::sync::watch::Sender<usize>>);

impl Default for DropCounter {
    fn default() -> Self {
        DropCounter(Arc::new(tokio::sync::watch::channel(0).0))
    }
}

impl DropCounter {
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    pub fn count(&self) -> usize {
        *self.0.borrow()
    }
    /// Waits until at least `n` tokens were dropped (5 s at most, then
    /// panics naming `what`).
    pub async fn dropped(&self, n: usize, what: &str) {
        let mut count = self.0.subscribe();
        tokio::time::timeout(Duration::from_secs(5), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("{what}: {} of {n} drops", self.count()))
            .unwrap();
    }
}

pub struct DropToken(Arc<tokio::sync::watch::Sender<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.send_modify(|c| *c += 1);
    }
}

/// Returns once no task of this runtime can run any further: under paused
/// time (`#[tokio::test(start_paused = true)]`) the clock moves only when
/// the runtime is idle, so this 1 ms sleep ends exactly then. Only for
/// in-memory IO (`TestClient`, `tokio::io::duplex`): a task waiting on a
/// real socket or on another thread counts as idle. Timers due within the
/// millisecond fire first; the servers' limits are far longer.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// Sends `GET path` and checks the response was aborted: either no head
/// arrived at all (hyper had not flushed it yet) or the body broke off.
/// Returns the body bytes that did arrive.
pub async fn get_aborted<A: gateway::App>(
    client: &gateway::testing::TestClient<A>,
    path: &str,
) -> Vec<u8> {
    let req = gateway::http::Request::get(path)
        .body(gateway::Body::empty())
        .unwrap();
    let Ok(res) = client.send(req).await else {
        return Vec::new();
    };
    let mut body = res.into_body();
    let mut got = Vec::new();
    loop {
        match body.chunk().await {
            Some(Ok(chunk)) => got.extend_from_slice(&chunk),
            Some(Err(_)) => return got,
            None => panic!(
                "response ended cleanly; expected an abort (got {} bytes)",
                got.len()
            ),
        }
    }
}

/// Serves `app` on 127.0.0.1:0 in the background; returns its address.
pub async fn spawn_server<A: gateway::App>(app: A) -> std::net::SocketAddr {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve(listener, app));
    addr
}

/// Serves `app` with `limits` on 127.0.0.1:0 in the background; returns its
/// address.
pub async fn serve_app(
    app: impl gateway::App,
    limits: gateway::server::Limits,
) -> std::net::SocketAddr {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        gateway::server::Server::new(app)
            .limits(limits)
            .serve_with_shutdown(listener, std::future::pending()),
    );
    addr
}

/// Asserts that the server closes `stream` (within 5 s) without sending
/// anything; returns when it did.
pub async fn assert_closed(stream: &mut tokio::net::TcpStream, who: &str) -> Instant {
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "{who} must be disconnected: {n:?}"
    );
    Instant::now()
}

/// Asserts that `elapsed` is at least `limit` (the server did not act
/// before its limit) and less than `limit` + 5 s (it acted).
#[track_caller]
pub fn assert_after_limit(elapsed: Duration, limit: Duration, what: &str) {
    assert!(
        elapsed >= limit,
        "{what} after {elapsed:?}, before the limit of {limit:?}"
    );
    assert!(
        elapsed < limit + Duration::from_secs(5),
        "{what} only after {elapsed:?}, for a limit of {limit:?}"
    );
}

/// Posts to `path`, on an app that reads its body with `collect(8)` and
/// passes the error up, a body of more than 8 bytes, then one that stalls
/// after three: the answers are `413`, then `408` no sooner than
/// `body_timeout` (the client's limit) and not long after (spec 2.7, 3.9).
pub async fn assert_body_failures_answer_413_and_408<A: gateway::App>(
    client: &gateway::testing::TestClient<A>,
    path: &str,
    body_timeout: Duration,
) {
    use futures_util::StreamExt;
    use gateway::http::{Request, StatusCode};
    use gateway::{Body, BoxError};

    let post = |body: Body| Request::post(path).body(body).unwrap();
    let res = client.request(post(Body::from("more than eight"))).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    assert!(
        res.text().contains("larger than the limit"),
        "{}",
        res.text()
    );

    let stalled = futures_util::stream::iter([Ok::<_, BoxError>("abc")])
        .chain(futures_util::stream::pending());
    let started = Instant::now();
    let res = client.request(post(Body::from_stream(stalled))).await;
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT, "{path}");
    assert!(res.text().contains("timed out"), "{}", res.text());
    assert_after_limit(started.elapsed(), body_timeout, "408");
}

/// Opens a WebSocket to `path` on `addr` with tokio-tungstenite, over TCP.
pub async fn ws_connect(
    addr: std::net::SocketAddr,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp)
        .await
        .unwrap();
    socket
}

/// Writes `raw` bytes to `addr` and reads the reply until the server closes
/// (or 5 s pass).
pub async fn raw_exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `raw` to `addr` and reads one response: its head and, when it has
/// a Content-Length, its body. Leaves the connection open (for responses
/// after which the server keeps it, like a 101 or a keep-alive 4xx).
pub async fn raw_response(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let read = async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            out.extend_from_slice(&chunk[..n]);
            let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), read).await;
    String::from_utf8_lossy(&out).into_owned()
}
