//! A request body from the wire, bounded in size (`max_body_bytes`) and in
//! how long it may keep a reading app waiting (`body_read_timeout`).
//!
//! hyper puts neither bound on a request body: a client that sends its head
//! and then trickles the body, or stops, holds the app reading it (and, for
//! a blocking app, a thread) for as long as it likes. The clock runs from
//! the first read that finds nothing since the last bytes came until bytes
//! come; time before the app reads, and between bytes and its next read,
//! never counts. A read that has to wait arms one sleep per body, kept and
//! re-armed, so a large upload costs a timer reset per wait, not an
//! allocation.
//!
//! Every failure is the client's (`Error::on_client_side`), and sticks: every
//! later read fails too, rather than the body ending as if complete, and
//! hyper's side is dropped at once, so it stops reading the connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::error::{BoxError, Error, Kind};

pub(super) struct Incoming {
    /// `None` once the body failed.
    body: Option<hyper::body::Incoming>,
    /// The bytes it may still bring.
    remaining: u64,
    /// How long a read may wait for bytes; `None`: as long as it takes.
    timeout: Option<Duration>,
    /// Runs while a read waits; kept between waits.
    sleep: Option<Pin<Box<Sleep>>>,
    /// `sleep` is armed for the current wait.
    waiting: bool,
    /// Why the body failed, said again by every later read.
    failed: Option<Kind>,
}

type Polled = Poll<Option<Result<Frame<Bytes>, BoxError>>>;

impl Incoming {
    pub(super) fn new(body: hyper::body::Incoming, limit: u64, timeout: Option<Duration>) -> Self {
        Incoming {
            body: Some(body),
            remaining: limit,
            timeout,
            sleep: None,
            waiting: false,
            failed: None,
        }
    }

    pub(super) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Polled {
        let Some(body) = &mut self.body else {
            let kind = self.failed.unwrap_or(Kind::Body);
            return Poll::Ready(Some(Err(Error::new(kind).on_client_side().into())));
        };
        let frame = match http_body::Body::poll_frame(Pin::new(body), cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                ready!(self.poll_stalled(cx));
                return self.fail(Error::new(Kind::BodyTimeout));
            }
        };
        self.waiting = false;
        match frame {
            None => {
                self.sleep = None;
                Poll::Ready(None)
            }
            // The client broke the body's framing, or went away; hyper's
            // error is the source.
            Some(Err(e)) => self.fail(Error::with(Kind::Body, e)),
            Some(Ok(frame)) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                if len > self.remaining {
                    return self.fail(Error::new(Kind::BodyTooLarge));
                }
                self.remaining -= len;
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    /// Ready once the current wait has lasted the timeout; arms the sleep
    /// at the first wait since bytes last came.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        if !self.waiting {
            // A timeout too large to add to now is no timeout; and with no
            // runtime to time it (a body moved off the server's), neither.
            let deadline = Instant::now().checked_add(timeout);
            let Some(deadline) = deadline.filter(|_| tokio::runtime::Handle::try_current().is_ok())
            else {
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

    fn fail(&mut self, error: Error) -> Polled {
        self.failed = Some(error.kind());
        self.body = None;
        self.sleep = None;
        Poll::Ready(Some(Err(error.on_client_side().into())))
    }

    pub(super) fn is_end_stream(&self) -> bool {
        self.body
            .as_ref()
            .is_some_and(http_body::Body::is_end_stream)
    }

    pub(super) fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(SizeHint::default, http_body::Body::size_hint)
    }
}
