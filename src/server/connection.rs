//! One HTTP connection as the server runs it: hyper's connection, the
//! header read timeout (see `activity`), and graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use pin_project::pin_project;
use tokio::io::{AsyncRead, AsyncWrite};

use super::activity::{self, Activity};
use super::service::AppService;
use crate::app::App;
use crate::drain::Wait;
use crate::error::BoxError;

type Hyper<I, A> = auto::UpgradeableConnection<'static, TokioIo<I>, AppService<A>, TokioExecutor>;

/// Serves one connection (under graceful shutdown, given `draining`),
/// closing it once it has waited `timeout` for a request head: from now
/// for the first (so also a client that sends nothing, which hyper's own
/// timeout would not see while the server sniffs for HTTP/2), from the end
/// of each response for the next.
///
/// A plain struct rather than an `async fn`: this future is the whole of a
/// connection's task, moved on spawn and when the task ends, and an `async
/// fn` would hold its arguments (the IO, the service) beside the hyper
/// connection that took them over.
pub(crate) fn serve<I, A>(
    io: I,
    builder: &auto::Builder<TokioExecutor>,
    mut service: AppService<A>,
    timeout: Duration,
    draining: Option<Wait>,
) -> Connection<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    let activity = Activity::new();
    service.activity = Some(activity.clone());
    Connection {
        hyper: builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned(),
        draining,
        expired: activity::expired(activity, timeout),
        timeout,
    }
}

/// The future [`serve`] returns.
#[pin_project]
pub(crate) struct Connection<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    #[pin]
    hyper: Hyper<I, A>,
    draining: Option<Wait>,
    #[pin]
    expired: activity::Expired,
    timeout: Duration,
}

impl<I, A> Future for Connection<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    type Output = Result<(), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // One atomic load while nothing happens (see `drain`).
        if let Some(wait) = this.draining {
            if Pin::new(wait).poll(cx).is_ready() {
                // Finish the request in flight, then close.
                this.hyper.as_mut().graceful_shutdown();
                *this.draining = None;
            }
        }
        // The connection first: the timeout is rarely due.
        if let Poll::Ready(result) = this.hyper.poll(cx) {
            return Poll::Ready(result);
        }
        match this.expired.poll(cx) {
            Poll::Ready(()) => {
                let timeout = *this.timeout;
                tracing::debug!(
                    ?timeout,
                    "closed a connection that sent no request head in time"
                );
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
