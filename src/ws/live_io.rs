//! The upgraded connection, as the WebSocket codec reads it: it notes when
//! bytes last arrived (any byte shows the peer is alive, even part of a
//! large frame), and it sizes reads to the traffic.
//!
//! The codec reads through a small buffer (`Config::read_buffer_size`, a
//! few KiB) so that idle connections cost little. When a read fills that
//! buffer, more is likely waiting (a large frame): the next reads go
//! through a 64 KiB read-ahead buffer, one syscall instead of many, and the
//! codec is served from it. The read-ahead buffer is given back once the
//! connection goes quiet.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::hijack::Upgraded;

/// The read-ahead buffer's size, used while large frames arrive.
const READ_AHEAD: usize = 64 << 10;

#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct LiveIo {
    #[pin]
    io: Upgraded,
    last_read: Instant,
    /// Read-ahead bytes; `ahead[start..end]` is not yet handed out.
    ahead: Vec<u8>,
    start: usize,
    end: usize,
    /// The last read filled the reader's buffer: more is likely waiting.
    busy: bool,
}

impl LiveIo {
    pub(crate) fn new(io: Upgraded) -> Self {
        LiveIo {
            io,
            last_read: Instant::now(),
            ahead: Vec::new(),
            start: 0,
            end: 0,
            busy: false,
        }
    }

    /// When the peer last sent any bytes.
    pub(crate) fn last_read(&self) -> Instant {
        self.last_read
    }

    /// Gives the read-ahead buffer back if nothing is waiting in it.
    pub(crate) fn release_idle(&mut self) {
        if self.start == self.end && !self.ahead.is_empty() {
            self.ahead = Vec::new();
            self.busy = false;
        }
    }
}

impl AsyncRead for LiveIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if *this.start < *this.end {
            let n = buf.remaining().min(*this.end - *this.start);
            buf.put_slice(&this.ahead[*this.start..*this.start + n]);
            *this.start += n;
            return Poll::Ready(Ok(()));
        }
        if !*this.busy || buf.remaining() >= READ_AHEAD {
            // Straight into the reader's buffer.
            let before = buf.filled().len();
            std::task::ready!(this.io.poll_read(cx, buf))?;
            let n = buf.filled().len() - before;
            if n > 0 {
                *this.last_read = Instant::now();
            }
            *this.busy = n > 0 && buf.remaining() == 0;
            return Poll::Ready(Ok(()));
        }
        if this.ahead.is_empty() {
            this.ahead.resize(READ_AHEAD, 0);
        }
        let mut ahead = ReadBuf::new(this.ahead);
        std::task::ready!(this.io.poll_read(cx, &mut ahead))?;
        let got = ahead.filled().len();
        if got > 0 {
            *this.last_read = Instant::now();
        }
        *this.busy = got == READ_AHEAD;
        let n = buf.remaining().min(got);
        buf.put_slice(&this.ahead[..n]);
        *this.start = n;
        *this.end = got;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for LiveIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
