//! The router's cost per request with 10 and with 1,000 routes (and as many
//! pattern routes and mounts), measured side by side in one run.
//!
//! ```text
//! cargo bench --bench router
//! ```

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gateway::http::Request;
use gateway::routing::Router;
use gateway::{App, Body, Environ, Response};

async fn ok(_env: Environ) -> Response {
    Response::new(Body::empty())
}

fn router(n: usize) -> Router {
    (0..n).fold(Router::new(), |r, i| {
        r.route(&format!("/route/{i}"), ok)
            .route(&format!("/param/{i}/{{id}}"), ok)
            .mount(&format!("/mount/{i}"), ok)
    })
}

fn env(path: &str) -> Environ {
    Environ::from_request(Request::get(path).body(Body::empty()).unwrap())
}

fn routing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("router");
    for n in [10usize, 1000] {
        let app = router(n);
        let route = format!("/route/{}", n - 1);
        let mount = format!("/mount/{}/deep/path", n / 2);
        group.bench_with_input(BenchmarkId::new("exact_route", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(app.call(env(&route)).await) })
        });
        let param = format!("/param/{}/ada%20l", n - 1);
        group.bench_with_input(BenchmarkId::new("param_route", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(app.call(env(&param)).await) })
        });
        group.bench_with_input(BenchmarkId::new("mount", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(app.call(env(&mount)).await) })
        });
        group.bench_with_input(BenchmarkId::new("not_found", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| async { black_box(app.call(env("/nowhere")).await) })
        });
    }
    // The request itself, for scale: building the environ alone.
    group.bench_function("environ_only", |b| b.iter(|| black_box(env("/route/1"))));
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
