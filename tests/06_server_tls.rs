//! spec/06-server.md, 6.9: TLS. Each test makes its own self-signed
//! certificate for `localhost` and `127.0.0.1`, and connects with a rustls
//! client that trusts exactly that certificate.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gateway::routing::Router;
use gateway::server::{Limits, Server, TlsConfig};
use gateway::ws;
use gateway::{Body, Environ, Response};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use support::echo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

/// A fresh self-signed certificate: its PEM (certificate, key) and DER.
fn self_signed() -> (String, String, CertificateDer<'static>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    (
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().clone(),
    )
}

async fn scheme(env: Environ) -> Response {
    Response::new(Body::from(env.scheme()))
}

/// How many certificates the client presented, and the leaf's size.
async fn peer(env: Environ) -> Response {
    let said = match env.peer_certificates() {
        Some(chain) => format!(
            "{} certificate(s), leaf {} bytes",
            chain.len(),
            chain[0].len()
        ),
        None => "none".to_owned(),
    };
    Response::new(Body::from(said))
}

fn app() -> Router {
    Router::new()
        .route("/scheme", scheme)
        .route("/peer", peer)
        .route("/echo", ws::endpoint(echo))
}

/// Serves `app()` over TLS on 127.0.0.1:0; returns its address and the
/// certificate clients should trust.
async fn spawn_tls_server(limits: Limits) -> (SocketAddr, CertificateDer<'static>) {
    let (cert, key, der) = self_signed();
    let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(app()).limits(limits).tls(tls);
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    (addr, der)
}

fn connector(trusted: &CertificateDer<'static>, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

async fn tls_connect<I>(io: I, trusted: &CertificateDer<'static>, alpn: &[&[u8]]) -> TlsStream<I>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from("localhost").unwrap();
    connector(trusted, alpn).connect(name, io).await.unwrap()
}

/// `GET path` over HTTP/1.1 on `io`; returns the body.
async fn get_http1<I>(io: I, path: &str) -> String
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = gateway::http::Request::get(path)
        .header("host", "localhost")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn spec_6_9_apps_see_https_over_http1() {
    let (addr, cert) = spawn_tls_server(Limits::default()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &cert, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(get_http1(tls, "/scheme").await, "https");
    // No client certificate was asked for.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &cert, &[b"http/1.1"]).await;
    assert_eq!(get_http1(tls, "/peer").await, "none");
}

/// A client that offers the post-quantum hybrid, as current browsers do,
/// gets it; one that offers only X25519 still connects.
#[tokio::test]
async fn spec_6_9_post_quantum_key_exchange_when_offered() {
    use tokio_rustls::rustls::NamedGroup;
    let (addr, der) = spawn_tls_server(Limits::default()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &der, &[b"http/1.1"]).await;
    let group = tls.get_ref().1.negotiated_key_exchange_group().unwrap();
    assert_eq!(group.name(), NamedGroup::X25519MLKEM768);

    let mut provider = aws_lc_rs::default_provider();
    provider.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    let mut roots = RootCertStore::empty();
    roots.add(der.clone()).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let group = tls.get_ref().1.negotiated_key_exchange_group().unwrap();
    assert_eq!(group.name(), NamedGroup::X25519);
    assert_eq!(get_http1(tls, "/scheme").await, "https");
}

#[tokio::test]
async fn spec_6_9_alpn_picks_h2_without_extended_connect() {
    let (addr, cert) = spawn_tls_server(Limits::default()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &cert, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(conn);
    let req = gateway::http::Request::get("https://localhost/scheme")
        .body(())
        .unwrap();
    let (res, _) = sender.send_request(req, true).unwrap();
    let res = res.await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let mut got = Vec::new();
    while let Some(chunk) = body.data().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, b"https");
    // The server's SETTINGS came before its response: browsers see no
    // extended CONNECT and open their WebSockets over HTTP/1.1.
    assert!(!sender.is_extended_connect_protocol_enabled());
}

#[tokio::test]
async fn spec_6_9_websocket_over_tls() {
    let (addr, cert) = spawn_tls_server(Limits::default()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &cert, &[b"http/1.1"]).await;
    let (mut socket, res) = tokio_tungstenite::client_async("wss://localhost/echo", tls)
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    socket.send(Message::text("over TLS")).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply, Message::text("over TLS"));
    let big = vec![7u8; 200_000];
    socket.send(Message::binary(big.clone())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply.into_data(), big);
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn spec_6_9_plaintext_is_not_served_but_told_to_use_https() {
    let (addr, cert) = spawn_tls_server(Limits::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /scheme HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut reply)).await;
    assert!(
        closed.is_ok(),
        "the server kept a plaintext connection open"
    );
    // Not served: a readable 400 that says what to do instead.
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.ends_with("use https:// in the address.\n"), "{reply}");

    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_connect(tcp, &cert, &[b"http/1.1"]).await;
    assert_eq!(get_http1(tls, "/scheme").await, "https");
}

#[tokio::test]
async fn spec_6_9_a_stalled_handshake_is_closed_after_the_header_timeout() {
    let limit = Duration::from_millis(200);
    let (addr, _) = spawn_tls_server(Limits::default().header_read_timeout(limit)).await;
    let connected = std::time::Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The first byte of a TLS record: past the first-byte wait, into the
    // handshake, which then never gets the rest.
    tcp.write_all(&[0x16]).await.unwrap();
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut reply)).await;
    assert!(closed.is_ok(), "a stalled handshake was kept open");
    // Counted from the accept, which came after `connected`.
    support::assert_after_limit(connected.elapsed(), limit, "the handshake was cut");
}

#[tokio::test]
async fn spec_6_9_serve_connection_does_the_handshake_too() {
    let (tls, cert) = self_signed_config();
    let (client, io) = tokio::io::duplex(64 << 10);
    tokio::spawn(async move { Server::new(app()).tls(tls).serve_connection(io).await });
    let tls = tls_connect(client, &cert, &[b"http/1.1"]).await;
    assert_eq!(get_http1(tls, "/scheme").await, "https");

    // A client that is no TLS client gets a handshake error back.
    let (tls, _) = self_signed_config();
    let (mut client, io) = tokio::io::duplex(64 << 10);
    let served =
        tokio::spawn(async move { Server::new(app()).tls(tls).serve_connection(io).await });
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let err = served.await.unwrap().unwrap_err();
    assert!(err.is_tls_handshake(), "{err}");
}

fn self_signed_config() -> (TlsConfig, CertificateDer<'static>) {
    let (cert, key, der) = self_signed();
    (
        TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap(),
        der,
    )
}

#[test]
fn spec_6_9_config_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("gateway-09-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, _) = self_signed();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    assert!(TlsConfig::from_pem_files(&cert_path, &key_path).is_ok());

    let missing = dir.join("missing.pem");
    let err = TlsConfig::from_pem_files(&missing, &key_path).unwrap_err();
    assert!(err.is_tls_config());
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "cannot read certificate file {}",
            missing.display()
        )),
        "{msg}"
    );
    let err = TlsConfig::from_pem_files(&cert_path, &missing).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "cannot read private key file {}",
            missing.display()
        )),
        "{err}"
    );
    // The certificate where the key should be.
    let err = TlsConfig::from_pem_files(&cert_path, &cert_path).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("no private key found in {}", cert_path.display())),
        "{err}"
    );
    // A key that is not the certificate's.
    let (_, other_key, _) = self_signed();
    std::fs::write(&key_path, other_key).unwrap();
    let err = TlsConfig::from_pem_files(&cert_path, &key_path).unwrap_err();
    assert!(
        err.to_string().contains("cannot use the certificate"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A CA, and a client certificate it signed: (CA certificate, client
/// certificate, client key).
fn client_identity() -> (
    CertificateDer<'static>,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(client_key.serialize_der()));
    (ca.der().clone(), client.der().clone(), key)
}

#[tokio::test]
async fn spec_6_9_a_rustls_config_of_its_own_requires_client_certificates() {
    use gateway::server::rustls::server::WebPkiClientVerifier;
    use gateway::server::rustls::ServerConfig;

    let (ca, client_cert, client_key) = client_identity();
    let (server_pem, server_key_pem, server_der) = self_signed();
    let provider = Arc::new(aws_lc_rs::default_provider());
    let mut client_roots = RootCertStore::empty();
    client_roots.add(ca).unwrap();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), provider.clone())
            .build()
            .unwrap();
    let chain = CertificateDer::pem_slice_iter(server_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let server_key = PrivateKeyDer::from_pem_slice(server_key_pem.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, server_key)
        .unwrap();
    // No ALPN of its own: gateway offers h2 and http/1.1.
    let tls = TlsConfig::from_rustls(Arc::new(config));
    let listener = gateway::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(app())
            .tls(tls)
            .serve_with_shutdown(listener, std::future::pending()),
    );

    // With the certificate: served, and h2 was on offer.
    let with_cert = || Some((client_cert.clone(), client_key.clone_key()));
    let tls = mtls_connect(addr, &server_der, &[b"h2", b"http/1.1"], with_cert())
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    drop(tls);
    let tls = mtls_connect(addr, &server_der, &[b"http/1.1"], with_cert())
        .await
        .unwrap();
    // The app sees the chain the client presented (the CA is not sent).
    let said = get_http1(tls, "/peer").await;
    assert_eq!(
        said,
        format!("1 certificate(s), leaf {} bytes", client_cert.len())
    );

    // Without one: refused. With TLS 1.3 the client may finish its side of
    // the handshake first, and then read the server's alert.
    let refused = match mtls_connect(addr, &server_der, &[b"http/1.1"], None).await {
        Err(_) => true,
        Ok(mut tls) => {
            let _ = tls
                .write_all(b"GET /scheme HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await;
            let mut buf = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buf))
                .await
                .expect("the server answers or closes");
            read.is_err() || buf.is_empty()
        }
    };
    assert!(refused, "a client without a certificate must not be served");
}

/// Connects to `addr` over TLS, trusting `trusted`, offering `alpn`, and
/// presenting `identity` (certificate, key) when given.
async fn mtls_connect(
    addr: SocketAddr,
    trusted: &CertificateDer<'static>,
    alpn: &[&[u8]],
    identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}
