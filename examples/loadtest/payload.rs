//! What every server sends, so that all of them send the same bytes.

use gateway::Bytes;

/// The body of `GET /hello`.
pub(crate) const HELLO: &[u8] = b"Hello, World!";

/// `GET /stream` sends this many chunks of [`STREAM_CHUNK_SIZE`]: 1 MiB.
pub(crate) const STREAM_CHUNKS: usize = 16;
pub(crate) const STREAM_CHUNK_SIZE: usize = 64 << 10;
pub(crate) const STREAM_BYTES: usize = STREAM_CHUNKS * STREAM_CHUNK_SIZE;

/// Buffers shared by every response, so streaming costs no copies.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    /// One chunk of `GET /stream`, cloned (a reference count) per chunk.
    pub(crate) chunk: Bytes,
}

impl Payload {
    pub(crate) fn new() -> Self {
        Payload {
            chunk: Bytes::from(vec![b'x'; STREAM_CHUNK_SIZE]),
        }
    }
}
