//! Any bytes, sent as a client connection to an app tree with every kind of
//! app the crate has, must never make the server panic or hang.

#![no_main]

use std::time::Duration;

use gateway::callback::StartResponse;
use gateway::http::{HeaderMap, StatusCode};
use gateway::routing::Router;
use gateway::ws::{self, WebSocket};
use gateway::{two_to_one, Body, BoxError, Environ, Response};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn hello(_env: Environ) -> Response {
    Response::new(Body::from("Hello, World!"))
}

/// Reads the request body (as far as the limit) and sends it back.
async fn echo_body(mut env: Environ) -> Response {
    match env.take_body().collect(64 << 10).await {
        Ok(bytes) => Response::new(Body::from(bytes)),
        Err(_) => Response::new(Body::from("body failed")),
    }
}

async fn legacy(mut env: Environ, start_response: StartResponse) -> Result<Body, BoxError> {
    let mut body = env.take_body();
    let write = start_response.start(StatusCode::OK, HeaderMap::new())?;
    write.write("callback: ").await?;
    while let Some(chunk) = body.chunk().await {
        write.write(chunk?).await?;
    }
    Ok(Body::empty())
}

async fn echo(mut ws: WebSocket) {
    while let Some(msg) = ws.recv().await {
        if ws.send(msg).await.is_err() {
            break;
        }
    }
}

fn app() -> Router {
    Router::new()
        .route("/", hello)
        .route("/echo", echo_body)
        .route("/ws", ws::endpoint(echo))
        .mount("/legacy", two_to_one(legacy))
}

fuzz_target!(|data: &[u8]| {
    // A runtime per input: dropping it ends whatever the input left running.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 << 10);
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let send = async {
            let _ = to_server.write_all(data).await;
            let _ = to_server.shutdown().await;
        };
        let receive = async {
            let mut sink = Vec::new();
            let _ = from_server.read_to_end(&mut sink).await;
        };
        let serve = async {
            // Errors are expected: most inputs are not valid HTTP.
            let _ = gateway::serve_connection(server, app()).await;
        };
        // Paused time: the bound costs nothing unless the server is stuck
        // with no timer left that could unstick it.
        let everything = async { tokio::join!(send, receive, serve) };
        if tokio::time::timeout(Duration::from_secs(600), everything)
            .await
            .is_err()
        {
            panic!("the connection was still open 10 (virtual) minutes after the client closed");
        }
    });
});
