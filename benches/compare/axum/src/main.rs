//! `GET /hello` on axum 0.8, on one current-thread runtime as the other
//! servers of the comparison. usage: compare-axum PORT

use axum::http::header;
use axum::routing::get;
use axum::Router;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: compare-axum PORT");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let app = Router::new().route(
            "/hello",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "Hello, World!",
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is free");
        axum::serve(listener, app).await.expect("serving");
    });
}
