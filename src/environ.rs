//! [`Environ`]: the request as an app sees it.

use std::fmt;
use std::net::SocketAddr;

use http::{Extensions, HeaderMap, Method, Request, Uri, Version};
#[cfg(feature = "tls")]
use tokio_rustls::rustls::pki_types::CertificateDer;

use crate::body::Body;

/// The request as an app sees it: the `http` request head, a streaming body,
/// where the app is mounted, and what is known about the connection.
///
/// As in WSGI, the path is split in two: [`script_name`](Environ::script_name)
/// is the prefix the app is mounted at, [`path_info`](Environ::path_info) the
/// rest, so an app mounted at `/legacy` sees `/legacy/env` as script name
/// `/legacy` and path info `/env`. `script_name + path_info` is always the
/// request's path. Both are slices of the request URI (percent-encoded, as
/// received); nothing is copied.
///
/// ```
/// use gateway::{Body, Environ};
///
/// let req = http::Request::get("/legacy/env?x=1").body(Body::empty()).unwrap();
/// let mut env = Environ::from_request(req);
/// assert_eq!(env.shift_path_info(), Some("legacy"));
/// assert_eq!(env.script_name(), "/legacy");
/// assert_eq!(env.path_info(), "/env");
/// assert_eq!(env.query_string(), "x=1");
/// ```
pub struct Environ {
    // Boxed: an environ is handed down through every middleware layer and
    // the router, and moving the whole request head at each step cost more
    // than one allocation (`environ_moves_as_one_pointer` below).
    inner: Box<Inner>,
}

struct Inner {
    head: http::request::Parts,
    body: Body,
    script_len: usize,
    conn: ConnInfo,
    /// Path parameters the router matched (spec 7.8), outermost router
    /// first: empty, and never allocated, for routes without any.
    params: Vec<(Box<str>, Box<str>)>,
}

/// The certificate chain a TLS client presented (leaf first), carried in
/// the request's extensions of every request on its connection.
#[cfg(feature = "tls")]
#[derive(Debug, Clone)]
pub(crate) struct PeerCertificates(pub(crate) std::sync::Arc<[CertificateDer<'static>]>);

/// What the server knows about the connection a request came on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnInfo {
    pub(crate) local: Option<SocketAddr>,
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) secure: bool,
}

impl Environ {
    /// Builds an environ from a request, mounted at the root, with no
    /// connection information. Servers and test clients fill in the rest.
    pub fn from_request(req: Request<Body>) -> Self {
        Environ::with_conn(req, ConnInfo::default())
    }

    pub(crate) fn with_conn(req: Request<Body>, conn: ConnInfo) -> Self {
        let (head, body) = req.into_parts();
        Environ {
            inner: Box::new(Inner {
                head,
                body,
                script_len: 0,
                conn,
                params: Vec::new(),
            }),
        }
    }

    /// Turns the environ back into a request (for handing to `http`-based code).
    /// The mount point is lost; the URI is the full original one.
    pub fn into_request(self) -> Request<Body> {
        let inner = *self.inner;
        Request::from_parts(inner.head, inner.body)
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.inner.head.method
    }

    /// The full request URI as received.
    pub fn uri(&self) -> &Uri {
        &self.inner.head.uri
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.inner.head.version
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.head.headers
    }

    /// The request headers, for middleware that adds or removes some.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.inner.head.headers
    }

    /// Typed values attached to the request by the server or by middleware.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.head.extensions
    }

    /// Typed values attached to the request, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.inner.head.extensions
    }

    /// The part of the path where this app is mounted (`""` at the root).
    /// Never ends with `/`.
    pub fn script_name(&self) -> &str {
        &self.inner.head.uri.path()[..self.inner.script_len]
    }

    /// The rest of the path, below the mount point. Starts with `/`, or is
    /// empty when the request names the mount point itself (`/legacy`).
    pub fn path_info(&self) -> &str {
        &self.inner.head.uri.path()[self.inner.script_len..]
    }

    /// The query string without the `?` (`""` when there is none).
    pub fn query_string(&self) -> &str {
        self.inner.head.uri.query().unwrap_or("")
    }

    /// `"https"` when the connection is TLS, else `"http"`; behind
    /// [`ProxyHeaders`](crate::middleware::ProxyHeaders), what a trusted
    /// proxy said.
    pub fn scheme(&self) -> &'static str {
        if self.inner.conn.secure {
            "https"
        } else {
            "http"
        }
    }

    /// The server's address on this connection, when it is a socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.conn.local
    }

    /// The client's address, when the connection is a socket; behind
    /// [`ProxyHeaders`](crate::middleware::ProxyHeaders), the one a trusted
    /// proxy named (port 0).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.conn.remote
    }

    /// Replaces the client's address: a proxy said who the client is.
    pub(crate) fn set_remote_addr(&mut self, remote: SocketAddr) {
        self.inner.conn.remote = Some(remote);
    }

    /// Replaces whether the client's connection is TLS: a proxy that
    /// terminated it said so.
    pub(crate) fn set_secure(&mut self, secure: bool) {
        self.inner.conn.secure = secure;
    }

    /// The certificate chain the client presented over TLS, leaf first:
    /// only when the server asked for one (a
    /// [`TlsConfig::from_rustls`](crate::server::TlsConfig::from_rustls)
    /// config with a client verifier), which has then verified it.
    #[cfg(feature = "tls")]
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.inner
            .head
            .extensions
            .get::<PeerCertificates>()
            .map(|p| &*p.0)
    }

    /// The value of the path parameter `name` of the route that matched
    /// (spec 7.8), percent-decoded: for a route `/users/{id}`, a request for
    /// `/users/ada%20l` has `param("id") == Some("ada l")`. A catch-all
    /// `{*rest}` holds the rest of the path, without its leading `/`.
    ///
    /// When routers nest and two of them name the same parameter, the inner
    /// router's value wins. `None` when no route named `name`.
    ///
    /// ```
    /// use gateway::routing::Router;
    /// use gateway::testing::TestClient;
    /// use gateway::Environ;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let app = Router::new().route("/users/{id}", |env: Environ| async move {
    ///     format!("user {}", env.param("id").unwrap_or("?"))
    /// });
    /// let res = TestClient::new(app).get("/users/ada%20l").await;
    /// assert_eq!(res.text(), "user ada l");
    /// # }
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .params
            .iter()
            .rev()
            .find(|(key, _)| &**key == name)
            .map(|(_, value)| &**value)
    }

    /// Every path parameter the matching routes named (spec 7.8), as
    /// `(name, percent-decoded value)`, outermost router first.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner.params.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Records a path parameter the router matched.
    pub(crate) fn push_param(&mut self, name: &str, value: Box<str>) {
        self.inner.params.push((name.into(), value));
    }

    /// The request body, to read from in place.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.inner.body
    }

    /// Takes the request body out, leaving an empty one.
    pub fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.inner.body)
    }

    /// Moves the first segment of [`path_info`](Environ::path_info) to the end
    /// of [`script_name`](Environ::script_name) and returns it, like
    /// `wsgiref.util.shift_path_info`. `None` when path info is empty.
    ///
    /// A trailing slash stays in path info: shifting `/a/` gives `a` and
    /// leaves `/`.
    pub fn shift_path_info(&mut self) -> Option<&str> {
        let info = self.path_info();
        // Empty segments (`//`) are skipped, as wsgiref does, so script
        // name never ends with `/`.
        let slashes = info.len() - info.trim_start_matches('/').len();
        let rest = &info[slashes..];
        if slashes == 0 || rest.is_empty() {
            return None;
        }
        let seg_len = rest.find('/').unwrap_or(rest.len());
        let start = self.inner.script_len + slashes;
        self.inner.script_len = start + seg_len;
        Some(&self.inner.head.uri.path()[start..self.inner.script_len])
    }

    /// Mounts the app `prefix_len` more bytes down the path. The caller has
    /// checked that the cut falls on a segment boundary.
    pub(crate) fn mount(&mut self, prefix_len: usize) {
        debug_assert!(self.inner.script_len + prefix_len <= self.inner.head.uri.path().len());
        self.inner.script_len += prefix_len;
    }
}

impl fmt::Debug for Environ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environ")
            .field("method", self.method())
            .field("uri", self.uri())
            .field("version", &self.version())
            .field("script_name", &self.script_name())
            .field("path_info", &self.path_info())
            .field("remote_addr", &self.remote_addr())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(uri: &str) -> Environ {
        Environ::from_request(Request::get(uri).body(Body::empty()).unwrap())
    }

    #[test]
    fn environ_moves_as_one_pointer() {
        assert_eq!(std::mem::size_of::<Environ>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn shift_path_info_walks_segments() {
        let mut e = env("/a/bb/");
        assert_eq!(e.shift_path_info(), Some("a"));
        assert_eq!((e.script_name(), e.path_info()), ("/a", "/bb/"));
        assert_eq!(e.shift_path_info(), Some("bb"));
        assert_eq!((e.script_name(), e.path_info()), ("/a/bb", "/"));
        assert_eq!(e.shift_path_info(), None);
    }

    #[test]
    fn shift_path_info_skips_empty_segments() {
        let mut e = env("/a//b");
        assert_eq!(e.shift_path_info(), Some("a"));
        assert_eq!(e.shift_path_info(), Some("b"));
        assert_eq!((e.script_name(), e.path_info()), ("/a//b", ""));
        let mut e = env("//");
        assert_eq!(e.shift_path_info(), None);
        assert_eq!(e.script_name(), "");
    }

    #[test]
    fn root_has_empty_script_name() {
        let e = env("http://example.com/x?q");
        assert_eq!(e.script_name(), "");
        assert_eq!(e.path_info(), "/x");
        assert_eq!(e.query_string(), "q");
        assert_eq!(e.scheme(), "http");
    }
}
