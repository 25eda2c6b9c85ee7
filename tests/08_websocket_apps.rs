//! spec/08-websocket.md, 8.14 and 8.15: an endpoint is an app: it hands
//! plain requests to a fallback and mounts in a router.

mod support;

use futures_util::{SinkExt, StreamExt};
use gateway::routing::Router;
use gateway::testing::TestClient;
use gateway::ws::{self, Message};
use gateway::{Body, Environ, Response};
use support::echo;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn spec_8_14_fallback_serves_plain_requests() {
    let endpoint =
        ws::endpoint(echo).fallback(|_env: Environ| async { Response::new(Body::from("a page")) });
    let client = TestClient::new(endpoint);
    assert_eq!(client.get("/").await.text(), "a page");
    let mut socket = client.websocket("/").await.unwrap();
    socket.send(Message::text("ws too")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("ws too")
    );
}

#[tokio::test]
async fn spec_8_15_endpoint_mounts_in_a_router() {
    let client = TestClient::new(Router::new().route("/echo", ws::endpoint(echo)));
    let mut socket = client.websocket("/echo").await.unwrap();
    socket.send(Message::text("routed")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("routed")
    );
    let mut req = "ws://localhost/echo".into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "http://localhost".parse().unwrap());
    assert!(
        client.websocket_request(req).await.is_ok(),
        "same origin as Host: localhost"
    );
}
