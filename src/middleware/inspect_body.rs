use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;

use super::observed_body::{ObservedBody, Outcome};
use crate::app::{App, Response};
use crate::environ::Environ;
use crate::hijack::takes_over;
use crate::response::rules::is_bodiless;

/// What [`InspectBody`] saw of one response.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BodyReport {
    /// The request path.
    pub path: String,
    /// The response status.
    pub status: StatusCode,
    /// Data chunks sent.
    pub chunks: u64,
    /// Body bytes sent.
    pub bytes: u64,
    /// Whether the body ended cleanly.
    pub complete: bool,
    /// From the call to the head.
    pub time_to_head: Duration,
    /// From the call to the end of the body.
    pub total: Duration,
}

type Reporter = Arc<dyn Fn(BodyReport) + Send + Sync>;

/// A profiling wrapper that iterates every response body as it streams (the
/// kind of middleware that broke under `ALREADY_HANDLED`): it counts chunks,
/// bytes and time, and reports them at debug level (target
/// `gateway::inspect`) or to a function of yours. Bodies are passed on chunk
/// by chunk, never buffered; hijacked connections pass untouched.
pub struct InspectBody<A> {
    inner: A,
    report: Reporter,
}

impl<A: App> InspectBody<A> {
    /// Wraps `app`, reporting to the log.
    pub fn new(app: A) -> Self {
        InspectBody {
            inner: app,
            report: Arc::new(|r: BodyReport| {
                tracing::debug!(target: "gateway::inspect", report = ?r, "response body");
            }),
        }
    }

    /// Reports to `f` instead of the log.
    pub fn on_report(mut self, f: impl Fn(BodyReport) + Send + Sync + 'static) -> Self {
        self.report = Arc::new(f);
        self
    }
}

impl<A: App> App for InspectBody<A> {
    async fn call(&self, env: Environ) -> Response {
        let path = env.uri().path().to_owned();
        let method = env.method().clone();
        let started = Instant::now();
        let res = self.inner.call(env).await;
        let time_to_head = started.elapsed();
        if takes_over(&res, &method) {
            return res; // no HTTP body to look at
        }
        let status = res.status();
        let report = self.report.clone();
        let make = move |o: Outcome| BodyReport {
            path,
            status,
            chunks: o.chunks,
            bytes: o.bytes,
            complete: o.complete,
            time_to_head,
            total: started.elapsed(),
        };
        if is_bodiless(status, &method) {
            report(make(Outcome::empty()));
            return res;
        }
        let (head, body) = res.into_parts();
        let body = ObservedBody::wrap(body, move |o| report(make(o)));
        Response::from_parts(head, body)
    }
}

impl<A> fmt::Debug for InspectBody<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InspectBody").finish_non_exhaustive()
    }
}
