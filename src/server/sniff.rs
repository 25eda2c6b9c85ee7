//! Telling HTTP/2 (with prior knowledge) from HTTP/1 by a connection's
//! first bytes, and handing those bytes on to hyper.
//!
//! hyper-util's `auto` builder does this by reading exactly 24 bytes (the
//! length of the HTTP/2 preface). A request is longer than that, so hyper
//! then reads again for the rest, and its read buffer, holding 24 bytes
//! when it asks for room for a full read, is reallocated: a system call and
//! a 16 KiB allocation per connection. Here the first read takes up to
//! [`FIRST_READ`] bytes, which hyper's first read then gets from memory.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The most the first read takes: a typical request head, whole.
const FIRST_READ: usize = 4096;

/// The protocol a connection speaks, decided by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

/// The first bytes read so far, until they decide the protocol.
#[derive(Debug)]
pub(crate) struct Sniff {
    buf: Vec<u8>,
}

impl Sniff {
    pub(crate) fn new() -> Self {
        Sniff { buf: Vec::new() }
    }

    /// Reads until the protocol is known; `None` if the client closed
    /// before sending a byte.
    ///
    /// Reads go to the stack and only what came is kept, so a connection
    /// waiting for its first byte holds no buffer.
    pub(crate) fn poll_sniff<I: Read + Unpin>(
        &mut self,
        io: &mut I,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Protocol>>> {
        loop {
            let mut space = [MaybeUninit::<u8>::uninit(); FIRST_READ];
            let mut read = hyper::rt::ReadBuf::uninit(&mut space);
            ready!(Pin::new(&mut *io).poll_read(cx, read.unfilled()))?;
            if read.filled().is_empty() {
                // Closed: before any byte there is nothing to serve; after a
                // partial preface, hyper reports the short request.
                return Poll::Ready(Ok((!self.buf.is_empty()).then_some(Protocol::Http1)));
            }
            self.buf.extend_from_slice(read.filled());
            let seen = self.buf.len().min(H2_PREFACE.len());
            if self.buf[..seen] != H2_PREFACE[..seen] {
                return Poll::Ready(Ok(Some(Protocol::Http1)));
            }
            if seen == H2_PREFACE.len() {
                return Poll::Ready(Ok(Some(Protocol::Http2)));
            }
        }
    }

    /// `io`, reading first what was sniffed.
    pub(crate) fn replay<I>(self, io: I) -> Replay<I> {
        Replay {
            prefix: self.buf,
            pos: 0,
            io,
        }
    }
}

/// An IO that gives back the sniffed bytes before reading on.
#[derive(Debug)]
pub(crate) struct Replay<I> {
    prefix: Vec<u8>,
    pos: usize,
    io: I,
}

impl<I: Read + Unpin> Read for Replay<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.pos);
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                // Given back whole: the memory goes too.
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<I: Write + Unpin> Write for Replay<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn sniff(sent: &[&[u8]]) -> (Option<Protocol>, Vec<u8>) {
        let (client, server) = tokio::io::duplex(64);
        let sent: Vec<Vec<u8>> = sent.iter().map(|s| s.to_vec()).collect();
        let writer = tokio::spawn(async move {
            let mut client = client;
            for part in sent {
                client.write_all(&part).await.unwrap();
                tokio::task::yield_now().await;
            }
            client.shutdown().await.unwrap();
        });
        let mut io = TokioIo::new(server);
        let mut sniff = Sniff::new();
        let protocol = std::future::poll_fn(|cx| sniff.poll_sniff(&mut io, cx))
            .await
            .unwrap();
        writer.await.unwrap();
        // Everything, sniffed or not, reads back in order.
        let mut replay = TokioIo::new(sniff.replay(io));
        let mut all = Vec::new();
        replay.read_to_end(&mut all).await.unwrap();
        (protocol, all)
    }

    #[tokio::test]
    async fn a_request_is_http1_and_reads_back_whole() {
        let req: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(sniff(&[req]).await, (Some(Protocol::Http1), req.to_vec()));
    }

    #[tokio::test]
    async fn the_preface_in_pieces_is_http2() {
        let (protocol, all) = sniff(&[b"PRI * HT", b"TP/2.0\r\n\r\nSM\r\n\r\n", b"frames"]).await;
        assert_eq!(protocol, Some(Protocol::Http2));
        assert_eq!(all, [H2_PREFACE, b"frames"].concat());
    }

    #[tokio::test]
    async fn a_partial_preface_then_something_else_is_http1() {
        let (protocol, all) = sniff(&[b"PRI * HT", b"TP/1.1\r\n\r\n"]).await;
        assert_eq!(protocol, Some(Protocol::Http1));
        assert_eq!(all, b"PRI * HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_client_that_closes_at_once_has_no_protocol() {
        assert_eq!(sniff(&[]).await, (None, Vec::new()));
    }
}
