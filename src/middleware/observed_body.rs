//! A response body that reports, once, how it went: for middleware that logs
//! or checks what was actually sent.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::body::Body;
use crate::error::BoxError;

/// How a body's sending went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub(crate) bytes: u64,
    pub(crate) chunks: u64,
    /// The body ended cleanly (not failed, not dropped half-way).
    pub(crate) complete: bool,
    /// From the wrapping to the end of the body.
    pub(crate) elapsed: Duration,
}

impl Outcome {
    /// A body that was never sent (HEAD, 204, 304): nothing, and complete.
    pub(crate) fn empty() -> Self {
        Outcome {
            bytes: 0,
            chunks: 0,
            complete: true,
            elapsed: Duration::ZERO,
        }
    }
}

type Report = Box<dyn FnOnce(Outcome) + Send>;

#[pin_project::pin_project(PinnedDrop)]
pub(crate) struct ObservedBody {
    #[pin]
    inner: Body,
    outcome: Outcome,
    started: Instant,
    report: Option<Report>,
}

impl ObservedBody {
    /// Wraps `inner`; `report` runs once, when the body ends, fails or is
    /// dropped.
    pub(crate) fn wrap(inner: Body, report: impl FnOnce(Outcome) + Send + 'static) -> Body {
        Body::new(ObservedBody {
            inner,
            outcome: Outcome {
                bytes: 0,
                chunks: 0,
                complete: false,
                elapsed: Duration::ZERO,
            },
            started: Instant::now(),
            report: Some(Box::new(report)),
        })
    }
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref() {
                    this.outcome.bytes += data.len() as u64;
                    this.outcome.chunks += 1;
                }
            }
            Some(Err(_)) => finish(this.outcome, this.started, this.report, false),
            None => finish(this.outcome, this.started, this.report, true),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn finish(outcome: &mut Outcome, started: &Instant, report: &mut Option<Report>, complete: bool) {
    if let Some(report) = report.take() {
        outcome.complete = complete;
        outcome.elapsed = started.elapsed();
        report(*outcome);
    }
}

#[pin_project::pinned_drop]
impl PinnedDrop for ObservedBody {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        // Dropped before its end was polled: complete only if nothing was
        // left (an empty body, which hyper need not poll at all).
        let complete = http_body::Body::is_end_stream(&*this.inner);
        finish(this.outcome, this.started, this.report, complete);
    }
}
