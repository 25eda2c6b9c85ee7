//! spec/08-websocket.md, 8.11: sending: from any task, in each task's
//! order, failing at once after a close, and never deafening the driver.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::testing::TestClient;
use gateway::ws::{self, CloseCode, Message, WebSocket};
use support::ws_connect as connect;

#[tokio::test]
async fn spec_8_11_concurrent_sends_from_other_tasks() {
    let endpoint = ws::endpoint(|ws: WebSocket| async move {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let sender = ws.sender();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    sender.send(format!("{t}:{i}")).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let client = TestClient::new(endpoint);
    let mut socket = client.websocket("/").await.unwrap();
    let mut per_task = vec![Vec::new(); 4];
    for _ in 0..200 {
        let msg = socket.next().await.unwrap().unwrap();
        let text = msg.into_text().unwrap();
        let (t, i) = text.split_once(':').unwrap();
        per_task[t.parse::<usize>().unwrap()].push(i.parse::<usize>().unwrap());
    }
    for list in per_task {
        assert_eq!(list, (0..50).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn spec_8_11_sends_after_close_fail_at_once() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let tx = tx.lock().unwrap().take();
        async move {
            ws.close(CloseCode::Normal, "done").await.unwrap();
            let after = ws.send("too late").await;
            let again = ws.close(CloseCode::Away, "twice").await;
            if let Some(tx) = tx {
                let _ = tx.send((after.map_err(|e| e.is_client_gone()), again.is_err()));
            }
        }
    });
    let client = TestClient::new(endpoint);
    let mut socket = client.websocket("/").await.unwrap();
    match socket.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.reason, "done"),
        other => panic!("expected the close, got {other:?}"),
    }
    let (after, again) = rx.await.unwrap();
    assert_eq!(after, Err(true), "send after close fails with client_gone");
    assert!(again, "a second close fails");
}

#[tokio::test]
async fn spec_8_11_a_handler_sending_without_pause_still_hears_the_peer() {
    let (tx, rx) = tokio::sync::oneshot::channel::<usize>();
    let tx = std::sync::Mutex::new(Some(tx));
    let endpoint = ws::endpoint(move |ws: WebSocket| {
        let tx = tx.lock().unwrap().take();
        async move {
            let mut sent = 0;
            // Floods until the peer's close makes sends fail.
            while ws.send("tick").await.is_ok() {
                sent += 1;
            }
            if let Some(tx) = tx {
                let _ = tx.send(sent);
            }
        }
    });
    let addr = support::spawn_server(endpoint).await;
    let mut socket = connect(addr, "/").await;
    for _ in 0..100 {
        socket.next().await.unwrap().unwrap();
    }
    socket
        .send(Message::Ping(vec![1, 2, 3].into()))
        .await
        .unwrap();
    socket.close(None).await.unwrap();
    // Read on until the server's close reply ends the stream.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    assert!(
        drained.is_ok(),
        "the server must answer our close while its handler floods"
    );
    let sent = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .unwrap()
        .unwrap();
    assert!(sent >= 100);
}
