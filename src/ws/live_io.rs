//! The upgraded connection, noting when bytes last arrived: any byte from
//! the peer (even a fragment of a large frame) shows it is alive.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::hijack::Upgraded;

#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct LiveIo {
    #[pin]
    io: Upgraded,
    last_read: Instant,
}

impl LiveIo {
    pub(crate) fn new(io: Upgraded) -> Self {
        LiveIo {
            io,
            last_read: Instant::now(),
        }
    }

    /// When the peer last sent any bytes.
    pub(crate) fn last_read(&self) -> Instant {
        self.last_read
    }
}

impl AsyncRead for LiveIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let poll = this.io.poll_read(cx, buf);
        if buf.filled().len() > before {
            *this.last_read = Instant::now();
        }
        poll
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
