//! The server: hyper underneath, any [`App`] on top.
//!
//! [`serve`] runs an app on a listener the caller bound (like eventlet's
//! `wsgi.server(sock, app)`); [`serve_connection`] serves one connection of
//! any async IO (TLS streams, in-memory pipes in tests). [`Server`] is the
//! same with [`Limits`], graceful shutdown and, given a [`TlsConfig`],
//! HTTPS.
//!
//! The server speaks HTTP/1.1 (keep-alive, chunked or Content-Length bodies,
//! HEAD) and HTTP/2 (prior knowledge, or ALPN over TLS) on the same port.
//! What it promises apps and clients is in `spec/06-server.md`.

mod activity;
mod connection;
mod limits;
mod listener;
mod response_body;
mod service;
mod sniff;
mod stream_stall;
mod tls;
mod write_timeout;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use limits::Limits;
pub use listener::{bind, LISTEN_BACKLOG};
pub use tls::TlsConfig;
/// The rustls that gateway's TLS runs on, for building a `ServerConfig` by
/// hand ([`TlsConfig::from_rustls`]).
pub use tokio_rustls::rustls;

use crate::app::App;
use crate::environ::ConnInfo;
use crate::error::{Error, Kind};
use crate::hijack::Registry;
use crate::rt::{Raised, ShutdownFlag};
use connection::Protocols;
use limits::Timeouts;
use service::AppService;
use tls::peer_certificates;

/// Serves `app` on `listener` until an unrecoverable error; with default
/// [`Limits`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use gateway::{Body, Environ, Response};
///
/// let listener = gateway::server::bind("127.0.0.1:7000".parse().unwrap())?;
/// gateway::serve(listener, |_env: Environ| async { Response::new(Body::from("Hello, World!")) }).await
/// # }
/// ```
///
/// # Errors
///
/// Never returns in normal operation. Transient accept errors (such as
/// running out of file descriptors) are logged and retried.
pub async fn serve<A: App>(listener: TcpListener, app: A) -> io::Result<()> {
    Server::new(app)
        .serve_with_shutdown(listener, std::future::pending())
        .await
}

/// Serves one connection over any async IO, with default [`Limits`].
///
/// # Errors
///
/// The connection's error, if it ended with one (a client going away
/// mid-response, a malformed request the server had to close on...).
pub async fn serve_connection<I, A>(io: I, app: A) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    Server::new(app).serve_connection(io).await
}

/// A server for one app, with its [`Limits`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use gateway::server::{Limits, Server};
/// use gateway::{Body, Environ, Response};
///
/// let app = |_env: Environ| async { Response::new(Body::from("hi")) };
/// let listener = gateway::server::bind("127.0.0.1:7000".parse().unwrap())?;
/// Server::new(app)
///     .limits(Limits::default().max_connections(1_000))
///     .serve_with_shutdown(listener, async { let _ = tokio::signal::ctrl_c().await; })
///     .await
/// # }
/// ```
pub struct Server<A> {
    app: Arc<A>,
    limits: Limits,
    tls: Option<TlsConfig>,
    hijacks: Registry,
}

impl<A> std::fmt::Debug for Server<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl<A: App> Server<A> {
    /// A server for `app` with default [`Limits`].
    pub fn new(app: A) -> Self {
        Server {
            app: Arc::new(app),
            limits: Limits::default(),
            tls: None,
            hijacks: Registry::default(),
        }
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves HTTPS (and WSS) instead of plain HTTP: every connection
    /// starts with a TLS handshake, which must finish within the
    /// [header read timeout](Limits::header_read_timeout). Apps see
    /// [`Environ::scheme`](crate::Environ::scheme) say `"https"`.
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    fn protocols(&self) -> Arc<Protocols> {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            // The header timeout is kept per connection (`activity`), not
            // by a timer hyper would arm for every request.
            .header_read_timeout(None)
            .max_buf_size(self.limits.max_header_bytes)
            // Exact: the buffer alone lets a head that arrives in one read
            // run past its limit by the buffer's spare capacity.
            .max_header_size(self.limits.max_header_bytes)
            .keep_alive(true);
        // Setting hyper's header count at all, even to its default, moves
        // its parser from a stack array to a heap one: only when changed.
        if self.limits.max_headers != limits::HYPER_DEFAULT_MAX_HEADERS {
            http1.max_headers(self.limits.max_headers);
        }
        // Streams run as tasks that end when their client takes nothing for
        // the write timeout (`stream_stall`).
        let streams = stream_stall::StreamExecutor::new(self.limits.write_timeout);
        let mut http2 = hyper::server::conn::http2::Builder::new(streams);
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(self.limits.max_concurrent_streams)
            .max_header_list_size(u32::try_from(self.limits.max_header_bytes).unwrap_or(u32::MAX));
        Arc::new(Protocols { http1, http2 })
    }

    fn service(&self, conn: ConnInfo, permit: Option<OwnedSemaphorePermit>) -> AppService<A> {
        AppService {
            activity: None,
            app: self.app.clone(),
            conn,
            hijacks: self.hijacks.clone(),
            max_body: self.limits.max_body_bytes,
            body_timeout: self.limits.body_read_timeout,
            permit: permit.map(|p| Arc::new(std::sync::Mutex::new(Some(p)))),
            peer: None,
            http2: false,
        }
    }

    /// Serves one connection over any async IO; with [TLS](Self::tls),
    /// after a handshake on it.
    ///
    /// # Errors
    ///
    /// As for [`serve_connection`]; with TLS, also a failed handshake
    /// ([`Error::is_tls_handshake`]).
    pub async fn serve_connection<I>(&self, io: I) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let protocols = self.protocols();
        let timeouts = self.limits.timeouts();
        let result = match &self.tls {
            None => {
                let service = self.service(ConnInfo::default(), None);
                connection::serve(io, &protocols, service, timeouts, None).await
            }
            Some(tls) => {
                let io = tls.accept(io, timeouts.header_read).await?;
                let conn = ConnInfo {
                    secure: true,
                    ..ConnInfo::default()
                };
                let mut service = self.service(conn, None);
                service.peer = peer_certificates(&io);
                connection::serve(io, &protocols, service, timeouts, None).await
            }
        };
        result.map_err(|e| Error::with(Kind::Http, e))
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops
    /// accepting, lets in-flight requests finish, tells hijack handlers
    /// (WebSockets close with 1001), and returns once all are done or the
    /// [grace period](Limits::shutdown_grace) ran out.
    ///
    /// # Errors
    ///
    /// Only if the listener fails for good; transient accept errors are
    /// logged and retried.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let protocols = self.protocols();
        let draining = ShutdownFlag::default();
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
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
                secure: self.tls.is_some(),
            };
            // The permit rides with the service, so that a hijacked
            // connection keeps counting against the limit.
            let service = self.service(conn, Some(permit));
            let watcher = draining.wait();
            let timeouts = self.limits.timeouts();
            // Two spawns, not one future with a branch: the TLS stream and
            // its handshake would size every plain connection's task too.
            match self.tls.clone() {
                None => connections.spawn(serve_accepted(
                    stream, &protocols, service, timeouts, watcher, remote,
                )),
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
                        match tls.accept(stream, left).await {
                            Ok(stream) => {
                                let mut service = service;
                                service.peer = peer_certificates(&stream);
                                serve_accepted(
                                    stream, &protocols, service, timeouts, watcher, remote,
                                )
                                .await;
                            }
                            Err(e) => tracing::debug!(error = %e, %remote, "connection dropped"),
                        }
                    })
                }
            };
        }
        drop(listener);
        tracing::info!(
            open = connections.len(),
            hijacked = self.hijacks.live(),
            grace = ?self.limits.shutdown_grace,
            "shutting down: no longer accepting connections; waiting for those open"
        );
        draining.raise();
        self.hijacks.begin_shutdown();
        let drained = async {
            while connections.join_next().await.is_some() {}
            self.hijacks.wait_idle().await;
        };
        if tokio::time::timeout(self.limits.shutdown_grace, drained)
            .await
            .is_err()
        {
            tracing::warn!(
                grace = ?self.limits.shutdown_grace,
                "shutdown grace period over; cutting the remaining connections"
            );
        }
        if !connections.is_empty() {
            tracing::debug!(count = connections.len(), "cutting connections still open");
        }
        connections.abort_all();
        self.hijacks.cut();
        Ok(())
    }

    /// How many hijack handlers (WebSockets, tunnels) are running now.
    pub fn live_hijacks(&self) -> usize {
        self.hijacks.live()
    }
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
