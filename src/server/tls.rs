//! [`TlsConfig`]: a certificate chain and its key, for serving HTTPS and WSS.
//!
//! rustls does the work, with aws-lc-rs for the cryptography: rustls'
//! default backend, and the one of its two that offers post-quantum key
//! exchange (X25519MLKEM768, which current browsers offer first). *ring*
//! builds faster but has none, and rustls deprecated its provider for that.
//! A C compiler is all aws-lc-rs needs to build here. The server offers HTTP/2 and HTTP/1.1 through
//! ALPN; see `spec/06-server.md`, 6.9.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::environ::PeerCertificates;
use crate::error::{BoxError, Error, Kind};

/// The protocols offered to clients, most preferred first. WebSockets still
/// work from browsers on an HTTP/2 site: the server does not announce
/// extended CONNECT (RFC 8441), so browsers open their WebSockets over
/// HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// What the server needs to speak TLS: a certificate chain and its private
/// key, read from PEM. Hand it to [`Server::tls`](super::Server::tls).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use gateway::server::{Server, TlsConfig};
/// use gateway::{Body, Environ, Response};
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let app = |env: Environ| async move { Response::new(Body::from(env.scheme())) };
/// let listener = gateway::server::bind("127.0.0.1:7443".parse().unwrap())?;
/// Server::new(app)
///     .tls(tls)
///     .serve_with_shutdown(listener, async { let _ = tokio::signal::ctrl_c().await; })
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads the certificate chain (leaf first, as issued) from the PEM file
    /// at `cert_path` and the private key (PKCS#8, PKCS#1 or SEC1) from the
    /// PEM file at `key_path`. Both may be the same file.
    ///
    /// # Errors
    ///
    /// An error for which [`Error::is_tls_config`] holds and whose message
    /// names the file at fault: when a file cannot be read, holds no
    /// certificate or no private key, is not valid PEM, or when the key
    /// does not belong to the certificate.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let (cert_path, key_path) = (cert_path.as_ref(), key_path.as_ref());
        let cert = std::fs::read(cert_path).map_err(|e| {
            config_error(
                format!("cannot read certificate file {}", cert_path.display()),
                e,
            )
        })?;
        let key = std::fs::read(key_path).map_err(|e| {
            config_error(
                format!("cannot read private key file {}", key_path.display()),
                e,
            )
        })?;
        Self::build(
            &cert,
            &key,
            &cert_path.display().to_string(),
            &key_path.display().to_string(),
        )
    }

    /// The same as [`from_pem_files`](Self::from_pem_files) with the PEM
    /// text in memory.
    ///
    /// # Errors
    ///
    /// As for [`from_pem_files`](Self::from_pem_files), less the reading.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        Self::build(
            cert_chain,
            key,
            "the certificate PEM",
            "the private key PEM",
        )
    }

    /// Uses a rustls `ServerConfig` built by hand, for what PEM files do not
    /// say: client certificates, certificates picked by SNI, other
    /// protocol versions or cipher suites. Build it with the same rustls
    /// as gateway's, re-exported as [`gateway::server::rustls`](super::rustls).
    ///
    /// With a client verifier, apps see each verified client's chain in
    /// [`Environ::peer_certificates`](crate::Environ::peer_certificates).
    ///
    /// When the config offers no ALPN protocols, gateway offers `h2` and
    /// `http/1.1`, as the other constructors do (6.9); a list of its own is
    /// kept as it is (the server tells the protocol from the first bytes
    /// either way).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gateway::server::rustls::crypto::aws_lc_rs;
    /// use gateway::server::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    /// use gateway::server::rustls::server::WebPkiClientVerifier;
    /// use gateway::server::rustls::{RootCertStore, ServerConfig};
    /// use gateway::server::TlsConfig;
    ///
    /// /// Only clients with a certificate signed by `client_ca` get in.
    /// fn mutual_tls(
    ///     chain: Vec<CertificateDer<'static>>,
    ///     key: PrivateKeyDer<'static>,
    ///     client_ca: CertificateDer<'static>,
    /// ) -> Result<TlsConfig, Box<dyn std::error::Error>> {
    ///     let provider = Arc::new(aws_lc_rs::default_provider());
    ///     let mut roots = RootCertStore::empty();
    ///     roots.add(client_ca)?;
    ///     let verifier =
    ///         WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
    ///             .build()?;
    ///     let config = ServerConfig::builder_with_provider(provider)
    ///         .with_safe_default_protocol_versions()?
    ///         .with_client_cert_verifier(verifier)
    ///         .with_single_cert(chain, key)?;
    ///     Ok(TlsConfig::from_rustls(Arc::new(config)))
    /// }
    /// ```
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        let config = if config.alpn_protocols.is_empty() {
            let mut config = ServerConfig::clone(&config);
            config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        } else {
            config
        };
        TlsConfig {
            acceptor: TlsAcceptor::from(config),
        }
    }

    /// `cert_from` and `key_from` say where the PEM came from, for errors.
    fn build(cert: &[u8], key: &[u8], cert_from: &str, key_from: &str) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config_error(format!("invalid PEM in {cert_from}"), e))?;
        if chain.is_empty() {
            return Err(no_items(format!("no certificate found in {cert_from}")));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            pem::Error::NoItemsFound => no_items(format!("no private key found in {key_from}")),
            e => config_error(format!("invalid PEM in {key_from}"), e),
        })?;
        // An explicit provider, so that another crate in the program turning
        // on rustls' other backend cannot make the default ambiguous.
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| config_error("no usable TLS protocol version".to_owned(), e))?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| {
                    config_error(
                        format!(
                            "cannot use the certificate in {cert_from} with the key in {key_from}"
                        ),
                        e,
                    )
                })?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Runs the server side of the handshake on `io`, giving up after
    /// `timeout`.
    pub(crate) async fn accept<I>(&self, io: I, timeout: Duration) -> Result<TlsStream<I>, Error>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(timeout, self.acceptor.accept(io)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(Error::with(Kind::TlsHandshake, e)),
            Err(elapsed) => Err(Error::with(Kind::TlsHandshake, elapsed)),
        }
    }
}

/// Waits for a new connection's first byte (within `timeout`, as for a
/// request head) and returns `true` when the connection is done with
/// before any TLS: it sent nothing in time, or closed, or spoke plain HTTP
/// to the TLS port (`http://` typed for `https://`). Plain HTTP gets a
/// readable `400` saying so, as nginx answers, rather than a TLS alert its
/// browser shows as a broken page.
///
/// A TLS connection starts with a handshake record (0x16); a request line
/// starts with its method's capitals. One peek tells them apart.
pub(crate) async fn done_before_tls(stream: &mut TcpStream, timeout: Duration) -> bool {
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0].is_ascii_uppercase() => {}
        Ok(Ok(1)) => return false,
        _ => return true,
    }
    tracing::debug!("plain HTTP on the TLS port; answering 400");
    let body = "This port speaks HTTPS: use https:// in the address.\n";
    let res = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // Read what the client sent before answering, and until it closes
    // after (for a second at most): closing on unread bytes would reset
    // the connection, and the client might lose the answer.
    let mut sink = [0u8; 4096];
    let exchange = async {
        let _ = stream.read(&mut sink).await;
        let _ = stream.write_all(res.as_bytes()).await;
        let _ = stream.shutdown().await;
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), exchange).await;
    true
}

/// The chain the client presented, when the handshake asked for one.
pub(crate) fn peer_certificates<I>(stream: &TlsStream<I>) -> Option<PeerCertificates> {
    let chain = stream.get_ref().1.peer_certificates()?;
    let owned: Vec<_> = chain.iter().map(|c| c.clone().into_owned()).collect();
    Some(PeerCertificates(owned.into()))
}

/// What is wrong with a certificate or key, naming where it came from; the
/// cause, when there is one, stays reachable as the source.
#[derive(Debug)]
struct ConfigError {
    what: String,
    source: Option<BoxError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

fn config_error(what: String, source: impl Into<BoxError>) -> Error {
    let source = Some(source.into());
    Error::with(Kind::TlsConfig, ConfigError { what, source })
}

fn no_items(what: String) -> Error {
    Error::with(Kind::TlsConfig, ConfigError { what, source: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<TlsConfig>();
    }

    #[test]
    fn empty_pem_says_what_is_missing() {
        let err = TlsConfig::from_pem(b"", b"").unwrap_err();
        assert!(err.is_tls_config());
        assert!(
            err.to_string()
                .contains("no certificate found in the certificate PEM"),
            "{err}"
        );
    }
}
