//! The write timeout: a client that takes none of the bytes it is sent for
//! [`Limits::write_timeout`](super::Limits::write_timeout) is disconnected
//! (spec 6.5). Without it, a client that stops reading mid-response holds
//! its connection, and its slot under `max_connections`, for as long as it
//! likes.
//!
//! The timer costs nothing while writes go through: it is armed only while
//! a write waits (an [`rt::Deadline`](crate::rt::Deadline)). Hijacked connections are their handler's to time (WebSockets
//! have `ping_timeout`), so the timeout stops applying once the app
//! hijacks.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::activity::Activity;
use crate::rt::Deadline;

/// A connection's IO, with its writes timed.
#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct WriteTimeout<I> {
    #[pin]
    io: I,
    stall: Stall,
}

impl<I> WriteTimeout<I> {
    pub(crate) fn new(io: I, timeout: Duration, activity: Arc<Activity>) -> Self {
        WriteTimeout {
            io,
            stall: Stall {
                timeout,
                deadline: Deadline::default(),
                activity,
            },
        }
    }
}

/// How long the current write has waited.
#[derive(Debug)]
struct Stall {
    timeout: Duration,
    /// Boxed, so that a connection whose writes never wait does not carry
    /// a timer in its task.
    deadline: Deadline,
    /// Whether the app hijacked the connection.
    activity: Arc<Activity>,
}

impl Stall {
    /// Passes on a write's result; a write that has waited the whole
    /// timeout fails instead.
    fn after<T>(
        &mut self,
        polled: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            Pin::new(&mut self.deadline).progress();
            return polled;
        }
        if self.activity.is_hijacked() {
            return Poll::Pending;
        }
        let timeout = self.timeout;
        match Pin::new(&mut self.deadline).poll_wait(timeout, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                tracing::debug!(
                    ?timeout,
                    "closing a connection whose client stopped reading"
                );
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client took no bytes for {timeout:?} (write_timeout)"),
                )))
            }
        }
    }
}

impl<I: AsyncRead> AsyncRead for WriteTimeout<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> AsyncWrite for WriteTimeout<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        this.stall.after(this.io.poll_write(cx, buf), cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        this.stall.after(this.io.poll_write_vectored(cx, bufs), cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        this.stall.after(this.io.poll_flush(cx), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        this.stall.after(this.io.poll_shutdown(cx), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::time::Instant;

    type Pipe = tokio::io::DuplexStream;

    /// A duplex pipe, and its other end: writes wait once its buffer is
    /// full while nobody reads that end.
    fn pipe(timeout: Duration) -> (WriteTimeout<Pipe>, Pipe, Arc<Activity>) {
        let (ours, theirs) = tokio::io::duplex(1024);
        let activity = Activity::new();
        let io = WriteTimeout::new(ours, timeout, activity.clone());
        (io, theirs, activity)
    }

    /// The timer is boxed: a connection whose writes never wait carries a
    /// pointer, not a `Sleep`. The bound: today's size (see the commit)
    /// and a little more.
    #[test]
    fn the_timed_io_stays_small() {
        let size = std::mem::size_of::<WriteTimeout<tokio::net::TcpStream>>();
        assert!(size <= 80, "WriteTimeout<TcpStream> grew to {size} bytes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_the_whole_timeout_fails() {
        let (mut io, _silent, _activity) = pipe(Duration::from_secs(60));
        let started = Instant::now();
        let error = io.write_all(&[0; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn progress_restarts_the_clock() {
        let (mut io, mut theirs, _activity) = pipe(Duration::from_secs(60));
        // The reader takes 1 KiB every 50 s: slow, but never 60 s without
        // progress.
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0; 1024];
            let mut total = 0;
            while total < 8192 {
                tokio::time::sleep(Duration::from_secs(50)).await;
                total += theirs.read(&mut buf).await.unwrap();
            }
        });
        io.write_all(&[0; 8192])
            .await
            .expect("never stalled for 60 s");
        reader.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_hijacked_connection_is_not_timed() {
        let (mut io, _silent, activity) = pipe(Duration::from_secs(60));
        activity.hijacked();
        let write = tokio::time::timeout(Duration::from_secs(600), io.write_all(&[0; 4096])).await;
        assert!(write.is_err(), "still waiting after 600 s");
    }
}
