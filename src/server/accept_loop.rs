//! The accept and shutdown loop behind [`Server::serve_with_shutdown`]:
//! connections accepted under `max_connections`, each served in a task of
//! its own (over TLS when configured), then a graceful shutdown.
//!
//! [`Server::serve_with_shutdown`]: super::Server::serve_with_shutdown

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connection::{self, Protocols};
use super::limits::{Limits, Timeouts};
use super::service::AppService;
#[cfg(feature = "tls")]
use super::tls::{self, TlsConfig};
#[cfg(feature = "tls")]
use super::tls_accept;
use crate::app::App;
use crate::environ::ConnInfo;
use crate::hijack::Registry;
use crate::rt::{Raised, ShutdownFlag};

/// What a server holds for TLS: a config, or, without the `tls` feature, a
/// type with no values, so that the one code path needs no second form.
#[cfg(feature = "tls")]
pub(super) type Tls = TlsConfig;
#[cfg(not(feature = "tls"))]
pub(super) type Tls = std::convert::Infallible;

/// What the loop needs of a [`Server`](super::Server).
pub(super) struct Accepting<'a, S> {
    pub(super) protocols: Arc<Protocols>,
    pub(super) limits: &'a Limits,
    pub(super) tls: Option<&'a Tls>,
    pub(super) hijacks: &'a Registry,
    /// Makes a connection's service.
    pub(super) service: S,
}

/// Serves until `signal` completes, then shuts down gracefully; see
/// [`Server::serve_with_shutdown`](super::Server::serve_with_shutdown).
pub(super) async fn serve<A, S>(
    listener: TcpListener,
    signal: impl Future<Output = ()>,
    server: Accepting<'_, S>,
) -> io::Result<()>
where
    A: App,
    S: Fn(ConnInfo, Option<OwnedSemaphorePermit>) -> AppService<A>,
{
    let Accepting {
        protocols,
        limits,
        tls,
        hijacks,
        service,
    } = server;
    let draining = ShutdownFlag::default();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut signal = std::pin::pin!(signal);
    // Owns every connection task, so the end of the grace period can cut
    // them without each one watching for it.
    let mut connections = tokio::task::JoinSet::new();
    let listening = listener.local_addr().ok();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
            () = &mut signal => break,
        };
        let accepted = loop {
            tokio::select! {
                accepted = listener.accept() => break Some(accepted),
                // A finished connection leaves the set at once: its task
                // would otherwise hold memory until the next accept.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut signal => break None,
            }
        };
        let (stream, remote) = match accepted {
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) => {
                accept_error(e).await;
                continue;
            }
            None => break,
        };
        // Small responses should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let conn = ConnInfo {
            // A listener bound to one address accepts on that address;
            // only a wildcard one needs asking (a system call).
            local: match listening {
                Some(addr) if !addr.ip().is_unspecified() => Some(addr),
                _ => stream.local_addr().ok(),
            },
            remote: Some(remote),
            secure: tls.is_some(),
        };
        // The permit rides with the service, so that a hijacked
        // connection keeps counting against the limit.
        let service = service(conn, Some(permit));
        let watcher = draining.wait();
        let timeouts = limits.timeouts();
        // Two spawns, not one future with a branch: the TLS stream and
        // its handshake would size every plain connection's task too.
        match tls.cloned() {
            None => connections.spawn(serve_accepted(
                stream, &protocols, service, timeouts, watcher, remote,
            )),
            #[cfg(not(feature = "tls"))]
            Some(never) => match never {},
            #[cfg(feature = "tls")]
            Some(tls) => {
                let protocols = protocols.clone();
                connections.spawn(async move {
                    // The first byte and the handshake share one header
                    // timeout, counted from the accept.
                    let accepted = tokio::time::Instant::now();
                    let mut stream = stream;
                    if tls::done_before_tls(&mut stream, timeouts.header_read).await {
                        return;
                    }
                    let left = timeouts.header_read.saturating_sub(accepted.elapsed());
                    let served = tls_accept::serve(
                        &tls,
                        stream,
                        left,
                        &protocols,
                        service,
                        timeouts,
                        Some(watcher),
                    );
                    match served.await {
                        Ok(()) => {}
                        Err(e) if e.is_tls_handshake() => {
                            tracing::debug!(error = %e, %remote, "connection dropped");
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, %remote, "connection ended with an error");
                        }
                    }
                })
            }
        };
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        hijacked = hijacks.live(),
        grace = ?limits.shutdown_grace,
        "shutting down: no longer accepting connections; waiting for those open"
    );
    draining.raise();
    hijacks.begin_shutdown();
    let drained = async {
        while connections.join_next().await.is_some() {}
        hijacks.wait_idle().await;
    };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.shutdown_grace,
            "shutdown grace period over; cutting the remaining connections"
        );
    }
    if !connections.is_empty() {
        tracing::debug!(count = connections.len(), "cutting connections still open");
    }
    connections.abort_all();
    hijacks.cut();
    Ok(())
}

/// Serves one accepted connection (a TCP stream, or the TLS stream over it)
/// under graceful shutdown, logging how it ended. Not an `async fn`, for the
/// reason given at [`connection::serve`].
fn serve_accepted<I, A>(
    io: I,
    protocols: &Arc<Protocols>,
    service: AppService<A>,
    timeouts: Timeouts,
    watcher: Raised,
    remote: std::net::SocketAddr,
) -> impl Future<Output = ()> + Send
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    connection::serve(io, protocols, service, timeouts, Some(watcher)).map(move |result| {
        if let Err(e) = result {
            tracing::debug!(error = %e, %remote, "connection ended with an error");
        }
    })
}

/// Accept errors are mostly per-connection (the peer reset before we got to
/// it) or resource exhaustion (out of file descriptors); neither should stop
/// the server. Backing off a little lets descriptors free up.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock => {
            tracing::debug!(error = %e, "accept failed for one connection");
        }
        _ => {
            tracing::error!(error = %e, "accept failed; retrying in 100 ms");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app whose type can be named.
    #[derive(Clone)]
    struct Hello;

    impl App for Hello {
        async fn call(&self, _env: crate::environ::Environ) -> crate::app::Response {
            crate::app::Response::new(crate::body::Body::empty())
        }
    }

    fn size_of_output<X, R>(_: impl FnOnce(X) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// A plain connection's task is `serve_accepted`'s future: not an
    /// `async fn`, and spawned apart from the TLS one, so it holds neither
    /// its arguments twice nor a TLS stream and handshake. The bound:
    /// today's size (see the commit) and a little more.
    #[test]
    fn a_plain_connection_s_task_stays_small() {
        type Args = (
            tokio::net::TcpStream,
            Arc<Protocols>,
            AppService<Hello>,
            Timeouts,
            Raised,
            std::net::SocketAddr,
        );
        let size = size_of_output(
            |(io, protocols, service, timeouts, watcher, remote): Args| {
                serve_accepted(io, &protocols, service, timeouts, watcher, remote)
            },
        );
        assert!(
            size <= 2048,
            "a plain connection's task grew to {size} bytes"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn spec_6_8_accept_errors_back_off_only_when_resources_run_out() {
        let started = tokio::time::Instant::now();
        accept_error(io::Error::from(io::ErrorKind::ConnectionReset)).await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "a per-connection error is retried at once"
        );
        // EMFILE and the like: wait a little for descriptors to free up.
        accept_error(io::Error::other("too many open files")).await;
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}
