//! The cost of the callback-style adapter over the return-style path, per
//! request and per chunk, measured side by side in one run.
//!
//! Apps are called directly and their bodies drained in the benchmark's own
//! task: no sockets, so the numbers are the layers' own cost.
//!
//! ```text
//! cargo bench --bench adapter
//! ```

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

mod common;

use common::drain;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gateway::callback::StartResponse;
use gateway::http::{HeaderMap, Request, StatusCode};
use gateway::{two_to_one, App, Body, BoxError, Bytes, Environ, Response};

async fn hello_return(_env: Environ) -> Response {
    Response::new(Body::from("Hello, World!"))
}

async fn hello_write(_env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    let write = sr.start(StatusCode::OK, HeaderMap::new())?;
    write.write("Hello, World!").await?;
    Ok(Body::empty())
}

async fn hello_returned_body(_env: Environ, sr: StartResponse) -> Result<Body, BoxError> {
    sr.start(StatusCode::OK, HeaderMap::new())?;
    Ok(Body::from("Hello, World!"))
}

const CHUNK: Bytes = Bytes::from_static(&[b'x'; 64]);

fn per_request(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("per_request");
    let ret = hello_return;
    let write = two_to_one(hello_write);
    let returned = two_to_one(hello_returned_body);
    group.bench_function("return_style", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&ret).await) })
    });
    group.bench_function("callback_write", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&write).await) })
    });
    group.bench_function("callback_returned_body", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(drain(&returned).await) })
    });
    group.finish();
}

fn per_chunk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("per_chunk");
    for n in [16usize, 256] {
        group.throughput(Throughput::Elements(n as u64));
        let stream = move |_env: Environ| async move {
            Response::new(Body::from_chunks(std::iter::repeat_n(CHUNK, n)))
        };
        let writes = two_to_one(move |_env: Environ, sr: StartResponse| async move {
            let write = sr.start(StatusCode::OK, HeaderMap::new())?;
            for _ in 0..n {
                write.write(CHUNK).await?;
            }
            Ok::<_, BoxError>(Body::empty())
        });
        group.bench_with_input(BenchmarkId::new("return_stream", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(drain(&stream).await) })
        });
        group.bench_with_input(BenchmarkId::new("callback_writes", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(drain(&writes).await) })
        });
    }
    group.finish();
}

/// A keep-alive HTTP/1.1 connection to `app` over an in-memory pipe: the
/// whole server path (parsing, the service, the response body) per request.
async fn connection<A: App>(app: A) -> hyper::client::conn::http1::SendRequest<Body> {
    let (client, server) = tokio::io::duplex(64 << 10);
    tokio::spawn(async move {
        let _ = gateway::serve_connection(server, app).await;
    });
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(client))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

async fn round_trip(sender: &mut hyper::client::conn::http1::SendRequest<Body>) -> usize {
    let req = Request::get("/hello")
        .header("host", "bench")
        .body(Body::empty())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let mut body = Body::new(res.into_body());
    let mut n = 0;
    while let Some(chunk) = body.chunk().await {
        n += chunk.unwrap().len();
    }
    n
}

fn through_server(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("through_server");
    let mut ret = rt.block_on(connection(hello_return));
    let mut write = rt.block_on(connection(two_to_one(hello_write)));
    let mut returned = rt.block_on(connection(two_to_one(hello_returned_body)));
    group.bench_function("return_style", |b| {
        b.iter(|| rt.block_on(round_trip(&mut ret)))
    });
    group.bench_function("callback_write", |b| {
        b.iter(|| rt.block_on(round_trip(&mut write)))
    });
    group.bench_function("callback_returned_body", |b| {
        b.iter(|| rt.block_on(round_trip(&mut returned)))
    });
    group.finish();
}

criterion_group!(benches, per_request, per_chunk, through_server);
criterion_main!(benches);
