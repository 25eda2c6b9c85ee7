//! The body the server hands to hyper: the app's body, held to its
//! Content-Length, with panics and errors turned into an aborted connection.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::activity::InFlight;
use super::stream_stall::Progress;
use crate::body::Body;
use crate::error::{BoxError, Error, Kind};

/// The app's body on its way out.
///
/// When the app declared a Content-Length, sending more or fewer bytes fails
/// the body, and hyper aborts the connection: a client never sees extra bytes
/// or a short body that looks complete (spec 6.4).
#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct ResponseBody {
    #[pin]
    inner: Body,
    /// Bytes still allowed by the declared Content-Length, if any.
    remaining: Option<u64>,
    /// Report no size (for bodiless responses framed by their header).
    hide_size: bool,
    failed: bool,
    /// Keeps the request counted in flight until hyper is done with the
    /// body (the connection's header timeout waits meanwhile).
    in_flight: Option<InFlight>,
    /// On HTTP/2, where the stream's task is told what hyper takes
    /// (`stream_stall`); looked up on the first poll, in that task.
    progress: Option<Arc<Progress>>,
    /// Nothing (more) to look up: done, or not on HTTP/2.
    looked_up: bool,
}

impl ResponseBody {
    pub(crate) fn new(inner: Body, declared: Option<u64>) -> Self {
        ResponseBody {
            inner,
            remaining: declared,
            hide_size: false,
            failed: false,
            in_flight: None,
            progress: None,
            looked_up: false,
        }
    }

    /// Holds `in_flight` until the body is done with.
    pub(crate) fn holding(mut self, in_flight: Option<InFlight>) -> Self {
        self.in_flight = in_flight;
        self
    }

    /// Marks the body as sent on an HTTP/2 stream, whose task watches for
    /// a client that takes nothing (`stream_stall`); HTTP/1 has no such
    /// task to look up.
    pub(crate) fn on_http2(mut self, http2: bool) -> Self {
        self.looked_up = !http2;
        self
    }

    /// An empty body of unknown size: for HEAD, 204 and 304 responses whose
    /// Content-Length header must stand as the app set it.
    pub(crate) fn bodiless() -> Self {
        ResponseBody {
            hide_size: true,
            ..ResponseBody::new(Body::empty(), None)
        }
    }

    fn fail(this: &mut bool, error: Error) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        tracing::error!(error = %error, "response body failed after the head was sent; aborting the connection");
        *this = true;
        Poll::Ready(Some(Err(error.into())))
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        if !*this.looked_up {
            *this.looked_up = true;
            *this.progress = Progress::current();
        }
        if let Some(progress) = this.progress.as_deref() {
            progress.polled();
        }
        let mut inner = this.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_frame(cx)));
        let frame = match polled {
            Err(panic) => {
                let msg = crate::error::panic_message(&panic);
                return Self::fail(this.failed, Error::with(Kind::Panic, msg));
            }
            Ok(poll) => ready!(poll),
        };
        let out = match (frame, this.remaining.as_mut()) {
            (Some(Err(e)), _) => Self::fail(this.failed, Error::from_boxed(e, Kind::App)),
            (Some(Ok(frame)), Some(remaining)) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > *remaining {
                        let msg = format!("{} bytes past the declared length", len - *remaining);
                        return Self::fail(
                            this.failed,
                            Error::with(Kind::ContentLengthMismatch, msg),
                        );
                    }
                    *remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            (Some(Ok(frame)), None) => Poll::Ready(Some(Ok(frame))),
            (None, Some(&mut remaining)) if remaining > 0 => {
                let msg = format!("body ended {remaining} bytes short of the declared length");
                Self::fail(this.failed, Error::with(Kind::ContentLengthMismatch, msg))
            }
            (None, _) => Poll::Ready(None),
        };
        if let (Some(progress), Poll::Ready(Some(Ok(frame)))) = (this.progress.as_deref(), &out) {
            if frame.is_data() {
                progress.taken();
            }
        }
        out
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            _ if self.hide_size => SizeHint::default(),
            Some(n) => SizeHint::with_exact(n),
            None => self.inner.size_hint(),
        }
    }
}
