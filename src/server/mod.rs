//! The server: hyper underneath, any [`App`] on top.
//!
//! [`serve`] runs an app on a listener the caller bound (like eventlet's
//! `wsgi.server(sock, app)`); [`serve_connection`] serves one connection of
//! any async IO (TLS streams, in-memory pipes in tests). [`Server`] is the
//! same with [`Limits`], graceful shutdown and, given a `TlsConfig` (the
//! `tls` feature), HTTPS.
//!
//! The server speaks HTTP/1.1 (keep-alive, chunked or Content-Length bodies,
//! HEAD) and HTTP/2 (prior knowledge, or ALPN over TLS) on the same port.
//! What it promises apps and clients is in `spec/06-server.md`.

mod accept_loop;
mod activity;
mod connection;
mod limits;
mod listener;
mod response_body;
mod service;
mod sniff;
mod stream_stall;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
mod tls_accept;
mod write_timeout;

use std::future::Future;
use std::io;
use std::sync::Arc;

use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;

pub use limits::Limits;
pub use listener::{bind, LISTEN_BACKLOG};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
/// The rustls that gateway's TLS runs on, for building a `ServerConfig` by
/// hand ([`TlsConfig::from_rustls`]).
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;

use crate::app::App;
use crate::environ::ConnInfo;
use crate::error::{Error, Kind};
use crate::hijack::Registry;
use accept_loop::Tls;
use connection::Protocols;
use service::AppService;

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
    tls: Option<Tls>,
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
    /// [`Environ::scheme`](crate::Environ::scheme) say `"https"`. Needs the
    /// `tls` feature.
    #[cfg(feature = "tls")]
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
            #[cfg(feature = "tls")]
            peer: None,
            http2: false,
        }
    }

    /// Serves one connection over any async IO; with TLS (`Server::tls`),
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
        let service = self.service(ConnInfo::default(), None);
        match &self.tls {
            None => connection::serve(io, &protocols, service, timeouts, None)
                .await
                .map_err(|e| Error::with(Kind::Http, e)),
            #[cfg(feature = "tls")]
            Some(tls) => {
                let timeout = timeouts.header_read;
                tls_accept::serve(tls, io, timeout, &protocols, service, timeouts, None).await
            }
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
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
        let accepting = accept_loop::Accepting {
            protocols: self.protocols(),
            limits: &self.limits,
            tls: self.tls.as_ref(),
            hijacks: &self.hijacks,
            service: |conn, permit| self.service(conn, permit),
        };
        accept_loop::serve(listener, signal, accepting).await
    }

    /// How many hijack handlers (WebSockets, tunnels) are running now.
    pub fn live_hijacks(&self) -> usize {
        self.hijacks.live()
    }
}
