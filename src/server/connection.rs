//! One HTTP connection as the server runs it: hyper's connection, the
//! header read timeout (see `activity`), and graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use pin_project::pin_project;
use tokio::io::{AsyncRead, AsyncWrite};

use super::activity::{self, Activity};
use super::limits::Timeouts;
use super::service::AppService;
use super::sniff::{Protocol, Replay, Sniff};
use super::stream_stall::StreamExecutor;
use super::write_timeout::WriteTimeout;
use crate::app::App;
use crate::error::BoxError;
use crate::rt::Raised;

/// hyper's settings for both protocols, shared by every connection.
#[derive(Debug)]
pub(crate) struct Protocols {
    pub(crate) http1: http1::Builder,
    pub(crate) http2: http2::Builder<StreamExecutor>,
}

type Io<I> = Replay<TokioIo<WriteTimeout<I>>>;

/// Serves one connection (under graceful shutdown, given `draining`),
/// closing it once it has waited the header read timeout for a request
/// head: from now for the first (so also a client that sends nothing), from
/// the end of each response for the next; or once a write has waited the
/// write timeout (see `write_timeout`). HTTP/1 or HTTP/2 is told by the
/// first bytes (see `sniff`).
///
/// A plain struct rather than an `async fn`: this future is the whole of a
/// connection's task, moved on spawn and when the task ends, and an `async
/// fn` would hold its arguments (the IO, the service) beside the hyper
/// connection that took them over.
pub(crate) fn serve<I, A>(
    io: I,
    protocols: &Arc<Protocols>,
    mut service: AppService<A>,
    timeouts: Timeouts,
    draining: Option<Raised>,
) -> Connection<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    let activity = Activity::new();
    service.activity = Some(activity.clone());
    let io = WriteTimeout::new(io, timeouts.write, activity.clone());
    let timeout = timeouts.header_read;
    Connection {
        state: State::Sniffing {
            io: Some(TokioIo::new(io)),
            sniff: Sniff::new(),
            service: Some(service),
            protocols: protocols.clone(),
        },
        draining,
        expired: activity::expired(activity, timeout),
        timeout,
    }
}

// The connection spends its life in one of the large states; boxing them
// would cost an allocation per connection to save nothing.
#[allow(clippy::large_enum_variant)]
#[pin_project(project = StateProj)]
enum State<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    /// Waiting for the first bytes, which tell the protocol.
    Sniffing {
        io: Option<TokioIo<WriteTimeout<I>>>,
        sniff: Sniff,
        service: Option<AppService<A>>,
        protocols: Arc<Protocols>,
    },
    Http1(#[pin] http1::UpgradeableConnection<Io<I>, AppService<A>>),
    Http2(#[pin] http2::Connection<Io<I>, AppService<A>, StreamExecutor>),
}

/// The future [`serve`] returns.
#[pin_project]
pub(crate) struct Connection<I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    #[pin]
    state: State<I, A>,
    draining: Option<Raised>,
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
        // One atomic load while nothing happens (see `rt::shutdown_flag`).
        if let Some(wait) = this.draining {
            if Pin::new(wait).poll(cx).is_ready() {
                *this.draining = None;
                // Finish the request in flight, then close; a connection
                // that has not sent a byte yet has none.
                match this.state.as_mut().project() {
                    StateProj::Sniffing { .. } => return Poll::Ready(Ok(())),
                    StateProj::Http1(conn) => conn.graceful_shutdown(),
                    StateProj::Http2(conn) => conn.graceful_shutdown(),
                }
            }
        }
        // The connection first: the timeout is rarely due.
        let served = loop {
            match this.state.as_mut().project() {
                StateProj::Sniffing {
                    io,
                    sniff,
                    service,
                    protocols,
                } => {
                    let found = io
                        .as_mut()
                        .map(|io| sniff.poll_sniff(io, cx))
                        .expect("the IO stays until the protocol is known");
                    let protocol = match found {
                        Poll::Pending => break Poll::Pending,
                        Poll::Ready(Err(e)) => break Poll::Ready(Err(e.into())),
                        // Closed before sending anything.
                        Poll::Ready(Ok(None)) => break Poll::Ready(Ok(())),
                        Poll::Ready(Ok(Some(protocol))) => protocol,
                    };
                    let io = std::mem::replace(sniff, Sniff::new())
                        .replay(io.take().expect("the IO stays until the protocol is known"));
                    let mut service = service
                        .take()
                        .expect("the service stays until the protocol is known");
                    service.http2 = protocol == Protocol::Http2;
                    let next = match protocol {
                        Protocol::Http1 => State::Http1(
                            protocols
                                .http1
                                .serve_connection(io, service)
                                .with_upgrades(),
                        ),
                        Protocol::Http2 => {
                            State::Http2(protocols.http2.serve_connection(io, service))
                        }
                    };
                    this.state.set(next);
                }
                StateProj::Http1(conn) => break conn.poll(cx).map_err(Into::into),
                StateProj::Http2(conn) => break conn.poll(cx).map_err(Into::into),
            }
        };
        if served.is_ready() {
            return served;
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
