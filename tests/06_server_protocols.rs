//! spec/06-server.md, 6.1: HTTP/1.1 with keep-alive and HTTP/2 with prior
//! knowledge, on one port.

mod support;

use gateway::http::{Request, StatusCode};
use gateway::{Body, Environ, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::hello;

#[tokio::test]
async fn spec_6_1_keep_alive_serves_several_requests_on_one_connection() {
    let addr = support::spawn_server(hello).await;
    let reply = support::raw_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.matches("HTTP/1.1 200 OK").count(), 2, "{reply}");
    assert_eq!(reply.matches("Hello, World!").count(), 2);
}

#[tokio::test]
async fn spec_6_1_http2_prior_knowledge_on_the_same_port() {
    let addr = support::spawn_server(|env: Environ| async move {
        Response::new(Body::from(format!("{:?}", env.version())))
    })
    .await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://{addr}/"))
        .body(Body::empty())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "HTTP/2.0");
}
