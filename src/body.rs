//! [`Body`]: a stream of [`Bytes`] chunks, for requests and responses alike.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::stream::Stream;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

use crate::error::{BoxError, Error, Kind};

mod incoming;

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// A streaming body of [`Bytes`] chunks.
///
/// The same type carries request bodies (read them with [`Body::chunk`] or
/// [`Body::collect`]) and response bodies (build them with [`Body::empty`],
/// `From<Bytes | String | &'static str | Vec<u8>>`, [`Body::from_stream`] or
/// [`Body::from_chunks`]). A body whose length is known up front is sent with
/// a `Content-Length`; a streamed one with chunked encoding (HTTP/1.1).
///
/// Dropping a body closes it: whatever produces the chunks (a stream, an
/// iterator, a callback-style app) is dropped with it.
///
/// ```
/// use gateway::Body;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut body = Body::from_chunks(["Hello, ", "World!"]);
/// assert_eq!(body.chunk().await.unwrap().unwrap(), "Hello, ");
/// assert_eq!(body.collect(1024).await.unwrap(), "World!");
/// # }
/// ```
#[must_use = "a body does nothing unless polled"]
pub struct Body {
    kind: BodyKind,
}

enum BodyKind {
    Empty,
    Full(Option<Bytes>),
    Stream(BoxStream),
    /// A request body from the wire, with its size and time bounds.
    Incoming(incoming::Incoming),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// A body with no bytes (`Content-Length: 0`).
    pub const fn empty() -> Self {
        Body {
            kind: BodyKind::Empty,
        }
    }

    /// A body whose chunks come from a stream; sent chunked, as they arrive.
    ///
    /// An `Err` item aborts the response: the client sees a broken
    /// connection, never a truncated body that looks complete.
    pub fn from_stream<S, B, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: Into<Bytes> + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_util::TryStreamExt;
        Body {
            kind: BodyKind::Stream(Box::pin(stream.map_ok(Into::into).map_err(Into::into))),
        }
    }

    /// A body produced lazily from an iterator: each item is taken only when
    /// the transport is ready for the next chunk.
    pub fn from_chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Into<Bytes>,
    {
        let iter = chunks.into_iter().map(|c| Ok::<_, BoxError>(c.into()));
        Body {
            kind: BodyKind::Stream(Box::pin(futures_util::stream::iter(iter))),
        }
    }

    /// Wraps any [`http_body::Body`] (for interop with other hyper-based crates).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body {
            kind: BodyKind::Boxed(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// A body from the wire; reading past `limit` bytes fails with
    /// [`Error::is_body_too_large`], and a read that waits `timeout` for
    /// bytes with [`Error::is_body_timeout`].
    pub(crate) fn incoming(
        body: hyper::body::Incoming,
        limit: u64,
        timeout: Option<std::time::Duration>,
    ) -> Self {
        Body {
            kind: BodyKind::Incoming(incoming::Incoming::new(body, limit, timeout)),
        }
    }

    /// The next chunk of data, or `None` at the end. Trailers are skipped.
    ///
    /// # Errors
    ///
    /// Whatever the underlying source reports (for a request body: the client
    /// went away or sent a malformed body).
    pub async fn chunk(&mut self) -> Option<Result<Bytes, BoxError>> {
        futures_util::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads the whole body into one buffer, refusing more than `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::is_body_too_large`] past `limit`; otherwise the source's error.
    pub async fn collect(mut self, limit: usize) -> Result<Bytes, Error> {
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        let mut total = 0usize;
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk.map_err(|e| Error::from_boxed(e, Kind::Body))?;
            total = total.saturating_add(chunk.len());
            if total > limit {
                let error = Error::new(Kind::BodyTooLarge);
                // Past the app's limit, a request body is the client's doing.
                return Err(match self.kind {
                    BodyKind::Incoming(_) => error.on_client_side(),
                    _ => error,
                });
            }
            // The common single-chunk case costs no copy.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                Some(prev) => {
                    buf.extend_from_slice(&prev);
                    buf.extend_from_slice(&chunk);
                }
                None => buf.extend_from_slice(&chunk),
            }
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        loop {
            match std::task::ready!(http_body::Body::poll_frame(Pin::new(&mut *self), cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
            }
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            BodyKind::Empty => "Empty",
            BodyKind::Full(_) => "Full",
            BodyKind::Stream(_) => "Stream",
            BodyKind::Incoming(_) => "Incoming",
            BodyKind::Boxed(_) => "Boxed",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            BodyKind::Empty => Poll::Ready(None),
            BodyKind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            BodyKind::Stream(s) => s
                .as_mut()
                .poll_next(cx)
                .map(|item| item.map(|r| r.map(Frame::data))),
            BodyKind::Incoming(b) => b.poll_frame(cx),
            BodyKind::Boxed(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Empty => true,
            BodyKind::Full(b) => b.is_none(),
            BodyKind::Stream(_) => false,
            BodyKind::Incoming(b) => b.is_end_stream(),
            BodyKind::Boxed(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Empty => SizeHint::with_exact(0),
            BodyKind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            BodyKind::Stream(_) => SizeHint::default(),
            BodyKind::Incoming(b) => b.size_hint(),
            BodyKind::Boxed(b) => b.size_hint(),
        }
    }
}

impl Stream for Body {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body {
            kind: BodyKind::Full(Some(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Body::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_body_has_exact_size_and_yields_once() {
        let mut body = Body::from("abc");
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(3));
        assert_eq!(body.chunk().await.unwrap().unwrap(), "abc");
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn collect_refuses_past_limit() {
        let body = Body::from_chunks(["12345", "67890"]);
        let err = body.collect(8).await.unwrap_err();
        assert!(err.is_body_too_large());
        let body = Body::from_chunks(["12345", "67890"]);
        assert_eq!(body.collect(10).await.unwrap(), "1234567890");
    }

    #[test]
    fn body_is_send() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<Body>();
    }
}
