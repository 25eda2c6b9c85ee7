//! spec/08-websocket.md, 8.11 and 8.16: the bounded queues: a handler's
//! sends wait for a peer that does not read, and a handler that does not
//! read stops the server reading the peer, without the peer being dropped.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::ws::{self, Config, Message, WebSocket};
use support::raw_ws;
use support::ws_connect as connect;

#[tokio::test]
async fn spec_8_11_sends_wait_when_the_peer_does_not_read() {
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
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
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            };
            if let Some(done) = done {
                let _ = done.send(failed);
            }
        }
    })
    .config(Config::default().ping_timeout(Duration::from_millis(500)));
    let addr = support::spawn_server(endpoint).await;
    // Handshake, then never read.
    let (raw, head) = raw_ws::connect(addr, "/").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stalled = sent.load(std::sync::atomic::Ordering::SeqCst);
    // Socket buffers, the write buffer and the queue hold a bounded number.
    assert!(
        stalled < 400,
        "{stalled} messages of 64 KiB queued for a peer that reads nothing"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        later <= stalled + 1,
        "sends kept completing: {stalled} then {later}"
    );
    // A write that cannot finish within ping_timeout drops the peer, and
    // the handler's sends then fail.
    let failed = tokio::time::timeout(Duration::from_secs(5), done_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(failed);
    drop(raw);
}

#[tokio::test]
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
    let addr = support::spawn_server(endpoint).await;
    let (mut sink, mut stream) = connect(addr, "/").await.split();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let payload = vec![7u8; 64 << 10];
        for _ in 0..300 {
            sink.send(Message::binary(payload.clone())).await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        sink
    });
    // Well past ping_interval + ping_timeout: the server read at most its
    // queue's worth and left the rest to TCP flow control, and it does not
    // take the silence it caused for a dead peer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stuck = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        stuck < 300,
        "all {stuck} messages of 64 KiB went into a paused server"
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
