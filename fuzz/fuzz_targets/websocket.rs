//! Any bytes, sent as frames on an accepted WebSocket to an echo endpoint,
//! must never make the server panic or hang.

#![no_main]

use std::time::Duration;

use gateway::ws::{self, WebSocket};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

const HANDSHAKE: &[u8] = b"GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    // A runtime per input: dropping it ends whatever the input left running.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 << 10);
        let serve = async {
            let _ = gateway::serve_connection(server, ws::endpoint(echo)).await;
        };
        let talk = async {
            let (mut from_server, mut to_server) = tokio::io::split(client);
            to_server.write_all(HANDSHAKE).await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let byte = from_server.read_u8().await.expect("a complete 101 head");
                head.push(byte);
            }
            assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
            let send = async {
                let _ = to_server.write_all(data).await;
                let _ = to_server.shutdown().await;
            };
            let receive = async {
                let mut sink = Vec::new();
                let _ = from_server.read_to_end(&mut sink).await;
            };
            tokio::join!(send, receive);
        };
        let everything = async { tokio::join!(serve, talk) };
        if tokio::time::timeout(Duration::from_secs(600), everything)
            .await
            .is_err()
        {
            panic!("the WebSocket was still open 10 (virtual) minutes after the client closed");
        }
    });
});
