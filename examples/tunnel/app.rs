//! An HTTP CONNECT tunnel as a hijacking app (the eventlet port-forwarder
//! idea): the client asks for `CONNECT host:port`, the app checks the target
//! against an allow-list, dials it, answers `200`, and the hijack handler
//! copies bytes both ways until either side closes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gateway::hijack::{Hijack, Upgraded};
use gateway::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use gateway::{App, Body, Environ, Response};
use tokio::net::TcpStream;

/// How long dialling a target may take before the client gets a 504.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A tunnel that only reaches the `host:port` targets in `allowed`.
pub(crate) fn app(allowed: impl IntoIterator<Item = String>) -> impl App {
    let allowed: Arc<HashSet<String>> = Arc::new(
        allowed
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect(),
    );
    move |env: Environ| {
        let allowed = allowed.clone();
        async move { tunnel(env, &allowed).await }
    }
}

fn answer(status: StatusCode, text: String) -> Response {
    let mut res = Response::new(Body::from(text + "\n"));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

async fn tunnel(mut env: Environ, allowed: &HashSet<String>) -> Response {
    if env.method() != Method::CONNECT {
        let mut res = answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "this is a CONNECT tunnel: use it as an HTTP proxy".to_owned(),
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("CONNECT"));
        return res;
    }
    let Some(target) = env
        .uri()
        .authority()
        .map(|a| a.as_str().to_ascii_lowercase())
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            "CONNECT needs a host:port target".to_owned(),
        );
    };
    if !allowed.contains(&target) {
        tracing::info!(%target, "tunnel refused: target not allowed");
        return answer(
            StatusCode::FORBIDDEN,
            format!("{target} is not an allowed target"),
        );
    }
    // Dial before answering, so a dead target is a clean 502/504, not a
    // tunnel that closes at once.
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&target)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return answer(
                StatusCode::BAD_GATEWAY,
                format!("cannot reach {target}: {e}"),
            )
        }
        Err(_) => {
            return answer(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{target} did not answer in time"),
            )
        }
    };
    let hijack = Hijack::new(&mut env, move |client: Upgraded| {
        forward(client, upstream, target)
    });
    match hijack {
        Ok(hijack) => hijack.into_response(StatusCode::OK, HeaderMap::new()),
        Err(refused) => refused.into_response(),
    }
}

/// Copies both ways until either side closes; one function serves both
/// directions.
async fn forward(mut client: Upgraded, mut upstream: TcpStream, target: String) {
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((up, down)) => tracing::info!(%target, up, down, "tunnel closed"),
        Err(e) => tracing::info!(%target, error = %e, "tunnel broke"),
    }
}
