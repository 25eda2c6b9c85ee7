//! Helpers shared by the spec tests.
#![allow(dead_code, unreachable_pub)]

pub mod raw_ws;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gateway::http::{header, HeaderMap, HeaderValue};

/// `Content-Type: text/plain` headers.
pub fn text_headers() -> HeaderMap {
    HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))])
}

/// Counts drops of the values it hands out: proves "closed exactly once".
#[derive(Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
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
