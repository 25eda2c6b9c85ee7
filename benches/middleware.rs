//! The cost of the demo's middleware stack (access log with request ids,
//! error catcher, validator, a response header) and router per request,
//! side by side with the bare app in one run.
//!
//! Apps are called directly and their bodies drained in the benchmark's own
//! task: no sockets, so the numbers are the layers' own cost.
//!
//! ```text
//! cargo bench --bench middleware
//! ```

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

mod common;

use common::drain;
use criterion::{criterion_group, criterion_main, Criterion};
use gateway::http::{header, HeaderMap, HeaderValue};
use gateway::middleware::{AccessLog, CatchErrors, SetHeaders, Validator};
use gateway::routing::Router;
use gateway::{Body, Environ, Response};

/// The load benchmark's hello: a body and a Content-Type.
async fn hello(_env: Environ) -> Response {
    let mut res = Response::new(Body::from("Hello, World!"));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    *res.headers_mut() = headers;
    res
}

fn per_request(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("stack_per_request");
    let bare = hello;
    let routed = Router::new().route("/hello", hello);
    let stacked = AccessLog::new(CatchErrors::new(Validator::new(
        SetHeaders::new(Router::new().route("/hello", hello))
            .if_absent("x-content-type-options", "nosniff"),
    )));
    group.bench_function("bare_app", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&bare).await) })
    });
    group.bench_function("router", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&routed).await) })
    });
    group.bench_function("demo_stack", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&stacked).await) })
    });
    group.finish();
}

criterion_group!(benches, per_request);
criterion_main!(benches);
