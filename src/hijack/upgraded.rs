use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::shutdown::ShutdownSignal;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The raw connection after the server sent the upgrade head: read and write
/// it with tokio's `AsyncRead` / `AsyncWrite`.
///
/// Bytes the client sent right after its request, which the HTTP layer had
/// already buffered, are read first: nothing is lost.
#[pin_project::pin_project]
pub struct Upgraded {
    #[pin]
    io: TokioIo<hyper::upgrade::Upgraded>,
    shutdown: ShutdownSignal,
}

impl Upgraded {
    pub(crate) fn new(io: hyper::upgrade::Upgraded, shutdown: ShutdownSignal) -> Self {
        Upgraded {
            io: TokioIo::new(io),
            shutdown,
        }
    }

    /// A signal that fires when the server begins a graceful shutdown; keep
    /// it beside the IO and wait on both (see [`ShutdownSignal`]).
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.shutdown.clone()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded").finish_non_exhaustive()
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
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
