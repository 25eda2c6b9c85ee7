//! A request body from the wire, bounded in size (`max_body_bytes`) and in
//! how long it may keep a reading app waiting (`body_read_timeout`).
//!
//! hyper puts neither bound on a request body: a client that sends its head
//! and then trickles the body, or stops, holds the app reading it (and, for
//! a blocking app, a thread) for as long as it likes. The time counts only
//! while the app waits: from the first read that finds nothing since the
//! last bytes came, restarted by any bytes. A read that has to wait arms
//! one sleep per body, kept and re-armed, so a large upload costs a timer
//! reset per wait, not an allocation.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::error::{BoxError, Error, Kind};

pub(super) struct Incoming {
    body: hyper::body::Incoming,
    /// The bytes it may still bring.
    remaining: u64,
    /// How long a read may wait for bytes; `None`: as long as it takes.
    timeout: Option<Duration>,
    /// Runs while a read waits; kept between waits.
    sleep: Option<Pin<Box<Sleep>>>,
    /// `sleep` is armed for the current wait.
    waiting: bool,
    /// The body failed for good; every later read says so again, never
    /// ending it as if it were complete.
    failed: Option<Kind>,
}

impl Incoming {
    pub(super) fn new(body: hyper::body::Incoming, limit: u64, timeout: Option<Duration>) -> Self {
        Incoming {
            body,
            remaining: limit,
            timeout,
            sleep: None,
            waiting: false,
            failed: None,
        }
    }

    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(kind) = self.failed {
            return Poll::Ready(Some(Err(Error::new(kind).into())));
        }
        let frame = match http_body::Body::poll_frame(Pin::new(&mut self.body), cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                ready!(self.poll_stalled(cx));
                return self.fail(Kind::BodyTimeout);
            }
        };
        self.waiting = false;
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
            let len = data.map_or(0, |d| d.len() as u64);
            if len > self.remaining {
                return self.fail(Kind::BodyTooLarge);
            }
            self.remaining -= len;
        }
        // Ours, naming the cause (the client broke the body's framing, or
        // went away), with hyper's error as the source.
        Poll::Ready(frame.map(|f| f.map_err(|e| Error::with(Kind::Body, e).into())))
    }

    /// Ready once the current wait has lasted the timeout; arms the sleep
    /// at the first wait since bytes last came.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        if !self.waiting {
            // A timeout too large to add to now is no timeout.
            let Some(deadline) = Instant::now().checked_add(timeout) else {
                return Poll::Pending;
            };
            match &mut self.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.waiting = true;
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    fn fail(&mut self, kind: Kind) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = Some(kind);
        self.sleep = None;
        Poll::Ready(Some(Err(Error::new(kind).into())))
    }

    pub(super) fn is_end_stream(&self) -> bool {
        self.failed.is_none() && http_body::Body::is_end_stream(&self.body)
    }

    pub(super) fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.body)
    }
}
