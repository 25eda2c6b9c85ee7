//! spec/06-server.md, 6.2 to 6.4: what the server does with the app's
//! response: panics stay with their request, HEAD drops the body, and a
//! Content-Length is honoured or the response refused.

mod support;

use futures_util::StreamExt;
use gateway::http::{header, HeaderValue, StatusCode};
use gateway::testing::TestClient;
use gateway::{Body, BoxError, Environ, Response};

#[tokio::test]
async fn spec_6_2_panic_gives_500_and_server_keeps_serving() {
    let addr = support::spawn_server(|env: Environ| async move {
        if env.path_info() == "/panic" {
            panic!("app bug");
        }
        Response::new(Body::from("still here"))
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    assert!(
        !reply.contains("app bug"),
        "panic text must not leak: {reply}"
    );
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("still here"), "{reply}");
}

#[tokio::test]
async fn spec_6_2_panic_in_body_aborts_only_that_response() {
    let client = TestClient::new(|env: Environ| async move {
        if env.path_info() == "/ok" {
            return Response::new(Body::from("fine"));
        }
        let body = futures_util::stream::iter(0..3).map(|i| {
            if i == 1 {
                panic!("body bug");
            }
            Ok::<_, BoxError>("chunk")
        });
        Response::new(Body::from_stream(body))
    });
    let got = support::get_aborted(&client, "/").await;
    assert!(b"chunk".starts_with(&got));
    assert_eq!(client.get("/ok").await.text(), "fine");
}

#[tokio::test]
async fn spec_6_3_head_has_get_headers_and_no_body() {
    let addr = support::spawn_server(|env: Environ| async move {
        let mut res = Response::new(Body::from("Hello, World!"));
        if env.path_info() == "/declared" {
            // An app answering HEAD itself declares the GET length.
            res = Response::new(Body::empty());
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1234"));
        }
        res
    })
    .await;
    let reply = support::raw_exchange(
        addr,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("content-length: 13\r\n"), "{reply}");
    assert!(
        reply.ends_with("\r\n\r\n"),
        "no body after the head: {reply:?}"
    );
    let reply = support::raw_exchange(
        addr,
        b"HEAD /declared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.contains("content-length: 1234\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\n"), "{reply:?}");
}

fn with_length(body: Body, length: &'static str) -> Response {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static(length));
    res
}

#[tokio::test]
async fn spec_6_4_content_length_contradicting_known_body_is_500() {
    let client = TestClient::new(|_env: Environ| async { with_length(Body::from("four"), "10") });
    let res = client.get("/").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.text().contains("Content-Length"));
}

#[tokio::test]
async fn spec_6_4_invalid_content_length_is_500() {
    let client = TestClient::new(|_env: Environ| async { with_length(Body::from("four"), "4x") });
    assert_eq!(
        client.get("/").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn spec_6_4_streamed_body_longer_than_declared_aborts() {
    let client = TestClient::new(|_env: Environ| async {
        with_length(Body::from_chunks(["12345", "67890"]), "7")
    });
    let got = support::get_aborted(&client, "/").await;
    assert!(got.len() <= 7, "never more than declared: {got:?}");
}

#[tokio::test]
async fn spec_6_4_streamed_body_shorter_than_declared_aborts() {
    let client =
        TestClient::new(|_env: Environ| async { with_length(Body::from_chunks(["123"]), "7") });
    let got = support::get_aborted(&client, "/").await;
    assert!(b"123".starts_with(&got));
}

#[tokio::test]
async fn spec_6_4_streamed_body_matching_declared_length_is_fine() {
    let client = TestClient::new(|_env: Environ| async {
        with_length(Body::from_chunks(["123", "4567"]), "7")
    });
    let res = client.get("/").await;
    assert!(res.is_complete());
    assert_eq!(res.header("content-length"), Some("7"));
    assert_eq!(res.text(), "1234567");
}
