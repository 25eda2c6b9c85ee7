use std::fmt;

use bytes::Bytes;

use crate::error::BoxError;

type Iter = Box<dyn Iterator<Item = Result<Bytes, BoxError>> + Send>;

/// The body a blocking app returns: one buffer (sent with its length), or
/// chunks produced one by one on the app's thread, each only when the
/// client is ready for it (like a WSGI app returning a generator).
pub struct Chunks(pub(crate) Inner);

pub(crate) enum Inner {
    Full(Bytes),
    Iter(Iter),
}

impl Chunks {
    /// No body.
    pub fn empty() -> Self {
        Chunks(Inner::Full(Bytes::new()))
    }

    /// Chunks from an iterator, pulled lazily on the app's thread (so it
    /// may block: read files, query databases).
    pub fn lazy<I, B>(chunks: I) -> Self
    where
        I: IntoIterator<Item = B>,
        I::IntoIter: Send + 'static,
        B: Into<Bytes>,
    {
        Chunks(Inner::Iter(Box::new(
            chunks.into_iter().map(|c| Ok(c.into())),
        )))
    }

    /// Chunks from an iterator that may fail: an `Err` aborts the response.
    pub fn try_lazy<I, B, E>(chunks: I) -> Self
    where
        I: IntoIterator<Item = Result<B, E>>,
        I::IntoIter: Send + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        Chunks(Inner::Iter(Box::new(
            chunks
                .into_iter()
                .map(|c| c.map(Into::into).map_err(Into::into)),
        )))
    }
}

impl<T: Into<Bytes>> From<T> for Chunks {
    fn from(bytes: T) -> Self {
        Chunks(Inner::Full(bytes.into()))
    }
}

impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Full(b) => f.debug_tuple("Chunks::Full").field(&b.len()).finish(),
            Inner::Iter(_) => f.write_str("Chunks::Iter"),
        }
    }
}
