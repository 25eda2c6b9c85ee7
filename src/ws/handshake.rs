//! The opening handshake (RFC 6455 section 4.2): every check happens before
//! the 101, and every failure is a [`Rejection`] with its own status and
//! reason.

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::config::{Config, Origins};
use super::run::run;
use super::settings::Settings;
use super::socket::WebSocket;
use crate::app::Response;
use crate::environ::Environ;
use crate::hijack::Claim;

/// A checked WebSocket handshake, ready to be accepted.
///
/// Made by [`Upgrade::from_environ`] inside any app, so the app can look at
/// the request (session, auth) and decide: accept with
/// [`on_upgrade`](Upgrade::on_upgrade), or answer with any other response.
///
/// ```
/// use gateway::ws::{Config, Upgrade};
/// use gateway::{Environ, Response};
///
/// async fn app(mut env: Environ) -> Response {
///     match Upgrade::from_environ(&mut env, &Config::default()) {
///         Ok(upgrade) => upgrade.on_upgrade(|mut ws| async move {
///             while let Some(msg) = ws.recv().await {
///                 if ws.send(msg).await.is_err() {
///                     break;
///                 }
///             }
///         }),
///         Err(rejection) => rejection.into_response(),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Upgrade {
    accept: HeaderValue,
    protocol: Option<HeaderValue>,
    claim: Claim,
    settings: Settings,
}

impl Upgrade {
    /// Checks that `env` is a valid WebSocket handshake that `config`
    /// allows, and claims the connection.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying what was wrong; turn it into the right 4xx
    /// with [`Rejection::into_response`].
    pub fn from_environ(env: &mut Environ, config: &Config) -> Result<Upgrade, Rejection> {
        use RejectionKind::*;
        let headers = env.headers();
        if !has_token(headers, &header::UPGRADE, "websocket") {
            return Err(Rejection(NotWebSocket));
        }
        if env.method() != Method::GET {
            return Err(Rejection(MethodNotGet));
        }
        if env.version() != Version::HTTP_11 {
            return Err(Rejection(NotHttp11));
        }
        if !has_token(headers, &header::CONNECTION, "upgrade") {
            return Err(Rejection(ConnectionNotUpgrade));
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .map(HeaderValue::as_bytes)
            != Some(b"13")
        {
            return Err(Rejection(UnsupportedVersion));
        }
        let key = match headers.get(header::SEC_WEBSOCKET_KEY) {
            None => return Err(Rejection(MissingKey)),
            Some(key) if !valid_key(key) => return Err(Rejection(InvalidKey)),
            Some(key) => key,
        };
        if !origin_allowed(headers, &config.origins) {
            return Err(Rejection(OriginNotAllowed));
        }
        // The string's own buffer becomes the header value's: no copy.
        let accept = HeaderValue::from_maybe_shared(Bytes::from(derive_accept_key(key.as_bytes())))
            .expect("base64 is a valid header value");
        let protocol = choose_protocol(headers, &config.protocols);
        let claim = Claim::take(env).map_err(|_| Rejection(NotUpgradable))?;
        Ok(Upgrade {
            accept,
            protocol,
            claim,
            settings: Settings::from(config),
        })
    }

    /// The subprotocol chosen from the client's offer, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_ref().and_then(|p| p.to_str().ok())
    }

    /// Accepts: the `101 Switching Protocols` response that, once sent,
    /// runs `handler` with the [`WebSocket`]. Return it from the app (or,
    /// in a callback-style app, pass its head to `start_parts`).
    pub fn on_upgrade<F, Fut>(self, handler: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept);
        let protocol = self.protocol.clone();
        if let Some(p) = self.protocol {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        let settings = self.settings;
        let protocol = protocol.and_then(|p| p.to_str().ok().map(str::to_owned));
        self.claim
            .with_handler(move |io| run(io, settings, protocol, handler))
            .into_response(StatusCode::SWITCHING_PROTOCOLS, headers)
    }
}

/// Why a request could not become a WebSocket.
pub struct Rejection(RejectionKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RejectionKind {
    NotWebSocket,
    MethodNotGet,
    NotHttp11,
    ConnectionNotUpgrade,
    UnsupportedVersion,
    MissingKey,
    InvalidKey,
    OriginNotAllowed,
    NotUpgradable,
}

impl Rejection {
    /// The status this rejection answers with.
    pub fn status(&self) -> StatusCode {
        use RejectionKind::*;
        match self.0 {
            NotWebSocket | UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            OriginNotAllowed => StatusCode::FORBIDDEN,
            NotHttp11 | ConnectionNotUpgrade | MissingKey | InvalidKey | NotUpgradable => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The request is an ordinary HTTP request (no `Upgrade: websocket`):
    /// an endpoint with a fallback app hands these to it.
    pub fn is_not_websocket(&self) -> bool {
        self.0 == RejectionKind::NotWebSocket
    }

    /// The `Origin` is not allowed (403).
    pub fn is_origin_not_allowed(&self) -> bool {
        self.0 == RejectionKind::OriginNotAllowed
    }

    /// The response: the status, the reason as a plain-text body, and the
    /// headers RFC 6455 asks for (`Upgrade` and `Sec-WebSocket-Version` on
    /// 426, `Allow` on 405).
    pub fn into_response(self) -> Response {
        let status = self.status();
        let mut res = crate::status_page::status_page(status, &self.to_string());
        let headers = res.headers_mut();
        match self.0 {
            RejectionKind::NotWebSocket | RejectionKind::UnsupportedVersion => {
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            RejectionKind::MethodNotGet => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        res
    }
}

impl From<Rejection> for Response {
    fn from(rejection: Rejection) -> Response {
        rejection.into_response()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RejectionKind::*;
        f.write_str(match self.0 {
            NotWebSocket => {
                "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)"
            }
            MethodNotGet => "a WebSocket handshake must use GET",
            NotHttp11 => "a WebSocket handshake must use HTTP/1.1",
            ConnectionNotUpgrade => "a WebSocket handshake needs `Connection: Upgrade`",
            UnsupportedVersion => {
                "unsupported Sec-WebSocket-Version: this server speaks version 13"
            }
            MissingKey => "the Sec-WebSocket-Key header is missing",
            InvalidKey => "the Sec-WebSocket-Key header is not 16 bytes in base64",
            OriginNotAllowed => "this Origin may not open a WebSocket here",
            NotUpgradable => "this connection cannot be upgraded",
        })
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Rejection").field(&self.0).finish()
    }
}

impl std::error::Error for Rejection {}

/// Whether a comma-separated header (possibly repeated) has `token`,
/// compared case-insensitively. On bytes: a token is ASCII, and a value
/// need not be UTF-8 for its other tokens.
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// Sixteen bytes in padded base64 are 24 characters.
const KEY_CHARS: usize = 24;

fn valid_key(key: &HeaderValue) -> bool {
    let key = key.as_bytes();
    if key.len() != KEY_CHARS {
        return false;
    }
    // On the stack: 24 characters decode to at most 18 bytes, which is
    // also the output length `decode_mut` wants for them.
    let mut decoded = [0u8; KEY_CHARS / 4 * 3];
    data_encoding::BASE64
        .decode_mut(key, &mut decoded)
        .is_ok_and(|n| n == 16)
}

fn choose_protocol(headers: &HeaderMap, ours: &[String]) -> Option<HeaderValue> {
    if ours.is_empty() {
        return None;
    }
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .collect();
    ours.iter()
        .find(|p| offered.contains(&p.as_str()))
        .and_then(|p| HeaderValue::from_str(p).ok())
}

fn origin_allowed(headers: &HeaderMap, origins: &Origins) -> bool {
    // No Origin: not a browser, so no cross-site page behind it.
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    match origins {
        Origins::Any => true,
        Origins::List(list) => list
            .iter()
            .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        Origins::SameAsHost => {
            let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
                return false;
            };
            same_origin(origin, host)
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names `host` (`host[:port]`),
/// default ports included.
fn same_origin(origin: &HeaderValue, host: &str) -> bool {
    let Ok(uri) = origin.to_str().unwrap_or("").parse::<http::Uri>() else {
        return false;
    };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return false;
    };
    let default_port = match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        _ => return false,
    };
    let Ok(host) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    authority.host().eq_ignore_ascii_case(host.host())
        && authority.port_u16().unwrap_or(default_port) == host.port_u16().unwrap_or(default_port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_host_and_port() {
        let o = |s: &'static str| HeaderValue::from_static(s);
        assert!(same_origin(&o("http://127.0.0.1:7000"), "127.0.0.1:7000"));
        assert!(same_origin(&o("http://Example.com"), "example.com:80"));
        assert!(same_origin(&o("https://example.com"), "example.com:443"));
        assert!(!same_origin(&o("http://evil.com:7000"), "127.0.0.1:7000"));
        assert!(!same_origin(&o("http://127.0.0.1:7001"), "127.0.0.1:7000"));
        assert!(!same_origin(&o("null"), "127.0.0.1:7000"));
    }

    #[test]
    fn tokens_are_case_insensitive_and_comma_separated() {
        let mut h = HeaderMap::new();
        h.append(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(has_token(&h, &header::CONNECTION, "upgrade"));
        assert!(!has_token(&h, &header::CONNECTION, "close"));
        assert!(!has_token(&h, &header::CONNECTION, "keep"));
        let mut h = HeaderMap::new();
        h.append(header::UPGRADE, HeaderValue::from_static("h2c"));
        h.append(header::UPGRADE, HeaderValue::from_static(" WebSocket\t"));
        assert!(
            has_token(&h, &header::UPGRADE, "websocket"),
            "the second of two headers, padded"
        );
        assert!(!has_token(&h, &header::UPGRADE, "web"));
    }

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        assert!(valid_key(&HeaderValue::from_static(
            "dGhlIHNhbXBsZSBub25jZQ=="
        )));
        assert!(!valid_key(&HeaderValue::from_static("dGhlIHNhbXBsZQ==")));
        assert!(!valid_key(&HeaderValue::from_static(
            "not base64 at all!!!!!!"
        )));
        // 24 characters, but 17 and 18 bytes; and 16 bytes left unpadded.
        assert!(!valid_key(&HeaderValue::from_static(
            "AAAAAAAAAAAAAAAAAAAAAAA="
        )));
        assert!(!valid_key(&HeaderValue::from_static(
            "AAAAAAAAAAAAAAAAAAAAAAAA"
        )));
        assert!(!valid_key(&HeaderValue::from_static(
            "AAAAAAAAAAAAAAAAAAAAAA"
        )));
    }
}
