//! A connection over TLS: the handshake within the time left of the header
//! read timeout, the client's certificates told to the service, then the
//! connection. The one place both [`Server::serve_connection`] and the
//! accept loop go through for TLS.
//!
//! [`Server::serve_connection`]: super::Server::serve_connection

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{self, Protocols};
use super::limits::Timeouts;
use super::service::AppService;
use super::tls::{peer_certificates, TlsConfig};
use crate::app::App;
use crate::error::{Error, Kind};
use crate::rt::Raised;

/// Serves `io` over TLS, the handshake given `handshake_timeout`.
///
/// # Errors
///
/// A failed handshake ([`Error::is_tls_handshake`]), or the connection's
/// error (`Kind::Http`).
pub(super) async fn serve<I, A>(
    tls: &TlsConfig,
    io: I,
    handshake_timeout: Duration,
    protocols: &Arc<Protocols>,
    mut service: AppService<A>,
    timeouts: Timeouts,
    draining: Option<Raised>,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    let io = tls.accept(io, handshake_timeout).await?;
    service.conn.secure = true;
    service.peer = peer_certificates(&io);
    connection::serve(io, protocols, service, timeouts, draining)
        .await
        .map_err(|e| Error::with(Kind::Http, e))
}
