//! Measures what the server promises under faults (spec 6), in one run:
//!
//! - server memory while a client stalls a 1 GiB download, in each style;
//! - how long after a client disconnects a writing app is interrupted;
//! - how long a client that stops reading keeps its connection, and an
//!   HTTP/2 client that never opens its stream's window keeps its stream;
//! - how long uploads that stop halfway hold the blocking threads reading
//!   them;
//! - how long a graceful shutdown takes with WebSockets open.
//!
//! ```text
//! cargo run --release --example hardening
//! ```
//!
//! Everything runs in this process on 127.0.0.1; the numbers are printed
//! as a Markdown table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gateway::callback::StartResponse;
use gateway::http::{HeaderMap, StatusCode};
use gateway::routing::Router;
use gateway::server::{Limits, Server};
use gateway::ws::{self, WebSocket};
use gateway::{blocking, two_to_one, Body, BoxError, Bytes, Environ, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GIB_CHUNKS: usize = 16 * 1024; // of 64 KiB

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn chunk() -> Bytes {
    Bytes::from(vec![b'x'; 64 << 10])
}

/// When the writing app's future was dropped, in µs since `EPOCH`.
static DROPPED_AT: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

struct MarkDrop;
impl Drop for MarkDrop {
    fn drop(&mut self) {
        let epoch = EPOCH.get_or_init(Instant::now);
        DROPPED_AT.store(epoch.elapsed().as_micros() as u64, Ordering::SeqCst);
    }
}

fn app() -> Router {
    Router::new()
        .route("/return", |_env: Environ| async {
            Response::new(Body::from_chunks(std::iter::repeat_n(chunk(), GIB_CHUNKS)))
        })
        .route(
            "/callback",
            two_to_one(|_env: Environ, sr: StartResponse| async move {
                let _mark = MarkDrop;
                let write = sr.start(StatusCode::OK, HeaderMap::new())?;
                let chunk = chunk();
                for _ in 0..GIB_CHUNKS {
                    write.write(chunk.clone()).await?;
                }
                Ok::<_, BoxError>(Body::empty())
            }),
        )
        .route(
            "/blocking",
            blocking::blocking(|_env: Environ, sr: blocking::StartResponse| {
                let write = sr.start(StatusCode::OK, HeaderMap::new())?;
                let chunk = chunk();
                for _ in 0..GIB_CHUNKS {
                    write.write(chunk.clone())?;
                }
                Ok::<_, BoxError>(blocking::Chunks::empty())
            }),
        )
        .route(
            "/upload",
            blocking::blocking(|mut env: Environ, sr: blocking::StartResponse| {
                let body = blocking::read_body(&mut env, 1 << 20)?;
                sr.start(StatusCode::OK, HeaderMap::new())?;
                Ok::<_, BoxError>(blocking::Chunks::from(format!("got {}", body.len())))
            }),
        )
        .route(
            "/ws",
            ws::endpoint(|mut ws: WebSocket| async move { while ws.recv().await.is_some() {} }),
        )
}

/// Starts a 1 GiB download, reads 1 MiB, then stalls for `stall`; returns
/// the RSS growth seen meanwhile.
async fn stalled_download(addr: std::net::SocketAddr, path: &str, stall: Duration) -> u64 {
    let before = rss_kib();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut read = 0;
    while read < (1 << 20) {
        read += tcp.read(&mut buf).await.unwrap();
    }
    tokio::time::sleep(stall).await;
    let during = rss_kib();
    drop(tcp);
    during.saturating_sub(before)
}

async fn interrupt_time(addr: std::net::SocketAddr) -> Duration {
    let epoch = *EPOCH.get_or_init(Instant::now);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /callback HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let _ = tcp.read(&mut buf).await.unwrap();
    DROPPED_AT.store(0, Ordering::SeqCst);
    let closed_at = epoch.elapsed();
    drop(tcp);
    loop {
        let dropped = DROPPED_AT.load(Ordering::SeqCst);
        if dropped != 0 {
            return Duration::from_micros(dropped).saturating_sub(closed_at);
        }
        tokio::time::sleep(Duration::from_micros(100)).await;
    }
}

/// How a stalled client stalls.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// Asks over HTTP/1.1 and never reads its socket.
    Http1,
    /// Asks over HTTP/2 and reads its socket, but never opens the stream's
    /// flow-control window.
    Http2ZeroWindow,
}

/// Starts a 1 GiB download that the client never takes, against a server
/// whose write timeout is `timeout`: how long until the server lets go of
/// the app.
async fn stalled_reader_time(timeout: Duration, stall: Stall) -> Duration {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(app())
            .limits(Limits::default().write_timeout(timeout))
            .serve_with_shutdown(listener, std::future::pending()),
    );
    let epoch = *EPOCH.get_or_init(Instant::now);
    DROPPED_AT.store(0, Ordering::SeqCst);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // Whatever keeps the client's side alive until the end.
    let _client: Box<dyn std::any::Any + Send> = match stall {
        Stall::Http1 => {
            tcp.write_all(b"GET /callback HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            Box::new(tcp)
        }
        Stall::Http2ZeroWindow => {
            let (h2, conn) = h2::client::Builder::new()
                .initial_window_size(0)
                .handshake::<_, Bytes>(tcp)
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut h2 = h2.ready().await.unwrap();
            let req = gateway::http::Request::get(format!("http://{addr}/callback"))
                .body(())
                .unwrap();
            let (response, _) = h2.send_request(req, true).unwrap();
            Box::new((h2, response))
        }
    };
    let asked_at = epoch.elapsed();
    let deadline = Instant::now() + timeout * 10;
    loop {
        let dropped = DROPPED_AT.load(Ordering::SeqCst);
        if dropped != 0 {
            return Duration::from_micros(dropped).saturating_sub(asked_at);
        }
        assert!(
            Instant::now() < deadline,
            "the stalled reader was never cut"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `clients` uploads to a blocking app that reads its body, each sending
/// half of what it declared and then nothing, against a server whose body
/// read timeout is `timeout`: how long until every one was answered, and
/// how many of the answers were `408`.
async fn stalled_uploads(clients: usize, timeout: Duration) -> (Duration, usize) {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(app())
            .limits(Limits::default().body_read_timeout(timeout))
            .serve_with_shutdown(listener, std::future::pending()),
    );
    let started = Instant::now();
    let uploads: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(async move {
                let mut tcp = TcpStream::connect(addr).await.unwrap();
                let head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n";
                tcp.write_all(head.as_bytes()).await.unwrap();
                tcp.write_all(&[b'x'; 1000]).await.unwrap();
                let mut answer = Vec::new();
                let _ = tcp.read_to_end(&mut answer).await;
                answer.starts_with(b"HTTP/1.1 408")
            })
        })
        .collect();
    let mut timed_out = 0;
    for upload in uploads {
        timed_out += usize::from(upload.await.unwrap_or(false));
    }
    (started.elapsed(), timed_out)
}

async fn shutdown_time(sockets: usize) -> Duration {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::new(app())
            .limits(Limits::default().shutdown_grace(Duration::from_secs(10)))
            .serve_with_shutdown(listener, async {
                let _ = stop_rx.await;
            }),
    );
    let mut clients = Vec::new();
    for _ in 0..sockets {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
            .await
            .unwrap();
        // Each client answers the server's close, as browsers do.
        clients.push(tokio::spawn(async move {
            let (mut tx, mut rx) = socket.split();
            while let Some(Ok(msg)) = rx.next().await {
                if msg.is_close() {
                    let _ = tx.close().await;
                    break;
                }
            }
        }));
    }
    let started = Instant::now();
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    let took = started.elapsed();
    for c in clients {
        let _ = c.await;
    }
    took
}

#[tokio::main]
async fn main() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve(listener, app()));

    println!("| measurement | result |\n|---|---|");
    for path in ["/return", "/callback", "/blocking"] {
        let grown = stalled_download(addr, path, Duration::from_secs(2)).await;
        println!("| RSS growth while a client stalls a 1 GiB download ({path}) | {grown} KiB |");
    }
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        times.push(interrupt_time(addr).await);
    }
    times.sort();
    println!(
        "| app interrupted after the client disconnects (median of 20) | {:.2} ms |",
        times[10].as_secs_f64() * 1000.0
    );
    let cut = stalled_reader_time(Duration::from_secs(1), Stall::Http1).await;
    println!(
        "| a client that stops reading, `write_timeout` of 1 s: app let go after | {:.2} s |",
        cut.as_secs_f64()
    );
    let cut = stalled_reader_time(Duration::from_secs(1), Stall::Http2ZeroWindow).await;
    println!(
        "| an HTTP/2 client that never opens its stream's window, `write_timeout` of 1 s: app let go after | {:.2} s |",
        cut.as_secs_f64()
    );
    let (took, timed_out) = stalled_uploads(200, Duration::from_secs(1)).await;
    println!(
        "| 200 uploads to a blocking app stalled halfway, `body_read_timeout` of 1 s: all answered after | {:.2} s ({timed_out} of them `408`) |",
        took.as_secs_f64()
    );
    let took = shutdown_time(200).await;
    println!(
        "| graceful shutdown with 200 open WebSockets (all closed with 1001) | {:.1} ms |",
        took.as_secs_f64() * 1000.0
    );
}
