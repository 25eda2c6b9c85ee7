//! spec/08-websocket.md, 8.11 and 8.16: the bounded queues: a handler's
//! sends wait for a peer that does not read, and a handler that does not
//! read stops the server reading the peer, without the peer being dropped.
//!
//! Both run under paused time over TestClient's in-memory pipe (64 KiB):
//! `settle()` returns once every task is stuck, so the counts are exact,
//! and the keepalive and write timers fire at their virtual times.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::testing::TestClient;
use gateway::ws::{self, Config, Message, WebSocket};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn spec_8_11_sends_wait_when_the_peer_does_not_read() {
    let sent = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<bool>();
    let done_tx = std::sync::Mutex::new(Some(done_tx));
    let counter = sent.clone();
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let counter = counter.clone();
        let done = done_tx.lock().unwrap().take();
        async move {
            let chunk = vec![0u8; 64 << 10];
            let failed = loop {
                if ws.send(chunk.clone()).await.is_err() {
                    break true;
                }
                counter.fetch_add(1, Ordering::SeqCst);
            };
            if let Some(done) = done {
                let _ = done.send(failed);
            }
        }
    })
    .config(Config::default().ping_timeout(Duration::from_millis(500)));
    let client = TestClient::new(endpoint);
    // Handshake, then never read.
    let socket = client.websocket("/").await;
    assert!(socket.is_ok(), "101: {:?}", socket.as_ref().err());
    let opened = Instant::now();
    support::settle().await;
    let stalled = sent.load(Ordering::SeqCst);
    // The queue's 16 complete at once; the pipe and the driver's write in
    // progress take a few more (19 as measured); then sends wait.
    assert!(
        (16..=20).contains(&stalled),
        "{stalled} messages of 64 KiB queued for a peer that reads nothing"
    );
    tokio::time::advance(Duration::from_millis(200)).await;
    support::settle().await;
    let later = sent.load(Ordering::SeqCst);
    assert!(
        later <= stalled + 1,
        "sends kept completing: {stalled} then {later}"
    );
    // A write that cannot finish within ping_timeout drops the peer, and
    // the handler's sends then fail: not before the timeout, nor long after.
    let failed = tokio::time::timeout(Duration::from_secs(5), done_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(failed);
    let limit = Duration::from_millis(500);
    support::assert_after_limit(opened.elapsed(), limit, "the peer was dropped");
    assert!(
        opened.elapsed() <= limit + Duration::from_millis(10),
        "dropped {:?} after the writes stalled, for a timeout of {limit:?}",
        opened.elapsed()
    );
    drop(socket);
}

#[tokio::test(start_paused = true)]
async fn spec_8_16_handler_not_reading_pauses_the_socket_without_dropping_the_peer() {
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let endpoint = ws::endpoint(move |mut ws: WebSocket| {
        let mut go = go_rx.clone();
        async move {
            // Busy elsewhere: not reading for a while.
            let _ = go.wait_for(|g| *g).await;
            let mut n = 0usize;
            while let Some(_msg) = ws.recv().await {
                n += 1;
                if n == 300 {
                    let _ = ws.send(format!("got {n}")).await;
                }
            }
        }
    })
    .config(
        Config::default()
            .ping_interval(Some(Duration::from_millis(100)))
            .ping_timeout(Duration::from_millis(200)),
    );
    let client = TestClient::new(endpoint);
    let (mut sink, mut stream) = client.websocket("/").await.unwrap().split();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let payload = vec![7u8; 64 << 10];
        for _ in 0..300 {
            sink.send(Message::binary(payload.clone())).await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
        }
        sink
    });
    // The server reads its queue's worth (16) and the one message that did
    // not fit, then leaves the rest to the pipe: the writer gets that far
    // and a part of a message further (18 as measured), and waits.
    support::settle().await;
    let stuck = sent.load(Ordering::SeqCst);
    assert!(
        (17..=20).contains(&stuck),
        "{stuck} messages of 64 KiB went into a paused server"
    );
    // Well past ping_interval + ping_timeout, every keepalive check at its
    // time: the server reads nothing more, and does not take the silence
    // it caused for a dead peer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    support::settle().await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        stuck,
        "the server read on while its handler did not"
    );
    go_tx.send(true).unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
                Some(Ok(_)) => continue,
                other => panic!("connection lost: {other:?}"),
            }
        }
    })
    .await
    .expect("the handler caught up");
    assert_eq!(reply, "got 300");
    let _sink = writer.await.unwrap();
}
