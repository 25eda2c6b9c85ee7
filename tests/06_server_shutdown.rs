//! spec/06-server.md, 6.7: graceful shutdown finishes the requests in
//! flight and closes the connections that have none.

mod support;

use std::time::Duration;

use gateway::server::{Limits, Server};
use gateway::{Body, Environ, Response};
use support::{assert_closed, hello};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn spec_6_7_graceful_shutdown_finishes_in_flight_requests() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    // The app says it started, then answers only once the test saw the
    // listener closed: the request is in flight across the shutdown.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Mutex::new(Some(started_tx));
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let app = move |_env: Environ| {
        let started = started_tx.lock().unwrap().take();
        let mut release = release_rx.clone();
        async move {
            if let Some(tx) = started {
                let _ = tx.send(());
            }
            let _ = release.wait_for(|r| *r).await;
            Response::new(Body::from("finished"))
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(app).serve_with_shutdown(listener, async {
        let _ = stop_rx.await;
    }));
    let in_flight = tokio::spawn(support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    started_rx.await.unwrap();
    stop_tx.send(()).unwrap();
    // The server closes its listener first (6.7, step 1); a connection
    // made before that is idle, and closed by the shutdown too.
    tokio::time::timeout(Duration::from_secs(5), async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the listener closes once the signal fires");
    assert!(!in_flight.is_finished(), "the request is still in flight");
    release_tx.send(true).unwrap();
    let reply = in_flight.await.unwrap();
    assert!(reply.ends_with("finished"), "{reply}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn spec_6_7_graceful_shutdown_closes_connections_that_sent_nothing() {
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // A header timeout far beyond the test: only the shutdown can end it.
    let server = tokio::spawn(
        Server::new(hello)
            .limits(Limits::default().header_read_timeout(Duration::from_secs(600)))
            .serve_with_shutdown(listener, async {
                let _ = stop_rx.await;
            }),
    );
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"PRI * HTTP/2").await.unwrap();
    // Both accepted before the shutdown begins.
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("Hello, World!"), "{reply}");
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the shutdown waits for no one that has no request")
        .unwrap()
        .unwrap();
    assert_closed(&mut silent, "a silent client").await;
    assert_closed(&mut partial, "a client mid-preface").await;
}
