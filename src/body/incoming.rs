//! A request body from the wire, bounded in size (`max_body_bytes`) and in
//! how long it may keep a reading app waiting (`body_read_timeout`).
//!
//! hyper puts neither bound on a request body: a client that sends its head
//! and then trickles the body, or stops, holds the app reading it (and, for
//! a blocking app, a thread) for as long as it likes. The clock runs from
//! the first read that finds nothing since the last bytes came until bytes
//! come; time before the app reads, and between bytes and its next read,
//! never counts (an [`rt::Deadline`](crate::rt::Deadline)).
//!
//! Every failure is the client's (`Error::on_client_side`), and sticks: every
//! later read fails too, rather than the body ending as if complete, and
//! hyper's side is dropped at once, so it stops reading the connection.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::error::{BoxError, Error, Kind};
use crate::rt::Deadline;

pub(super) struct Incoming {
    /// `None` once the body failed.
    body: Option<hyper::body::Incoming>,
    /// The bytes it may still bring.
    remaining: u64,
    /// How long a read may wait for bytes; `None`: as long as it takes.
    timeout: Option<Duration>,
    /// Runs while a read waits.
    deadline: Deadline,
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
            deadline: Deadline::default(),
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
        Pin::new(&mut self.deadline).progress();
        match frame {
            None => {
                Pin::new(&mut self.deadline).release();
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

    /// Ready once the current wait has lasted the timeout.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        // With no runtime to time it (a body moved off the server's), no
        // timeout.
        if !self.deadline.is_armed() && tokio::runtime::Handle::try_current().is_err() {
            return Poll::Pending;
        }
        Pin::new(&mut self.deadline).poll_wait(timeout, cx)
    }

    fn fail(&mut self, error: Error) -> Polled {
        self.failed = Some(error.kind());
        self.body = None;
        Pin::new(&mut self.deadline).release();
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
