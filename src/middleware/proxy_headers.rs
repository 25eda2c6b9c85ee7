use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderName, HeaderValue};
use ipnet::{IpNet, Ipv4Net};

use crate::app::{App, Response};
use crate::environ::Environ;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// For apps behind a reverse proxy (nginx, a load balancer): takes the
/// client's address from `X-Forwarded-For` and the scheme from
/// `X-Forwarded-Proto`, so that [`Environ::remote_addr`] and
/// [`Environ::scheme`] (and the access log, when this wraps
/// [`AccessLog`](super::AccessLog)) name the client, not the proxy.
///
/// Anyone can send those headers, so they count only on a request whose
/// connection comes from a trusted proxy: loopback addresses by default
/// (a proxy on the same host), more with [`trust`](ProxyHeaders::trust).
/// `X-Forwarded-For` is read from the right, past every trusted proxy that
/// appended to it; the first address that is not one is the client's (its
/// port is unknown: 0). An entry read before that which is not an address
/// makes the header count for nothing. The headers stay in the request as
/// they came. The standard `Forwarded` header (RFC 7239) is not read: the
/// proxies people run write the `X-Forwarded-*` pair.
///
/// The trusted proxy must append the address it got the request from to
/// `X-Forwarded-For`, and set `X-Forwarded-Proto` itself rather than pass
/// on the client's; with nginx:
///
/// ```text
/// proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
/// proxy_set_header X-Forwarded-Proto $scheme;
/// ```
///
/// ```
/// use gateway::middleware::{AccessLog, ProxyHeaders};
/// # use gateway::{Body, Environ, Response};
/// # let app = |env: Environ| async move { Response::new(Body::from(env.scheme())) };
/// // nginx on this host, and the load balancers in 10.0.0.0/8.
/// let app = ProxyHeaders::new(AccessLog::new(app)).trust("10.0.0.0/8");
/// ```
pub struct ProxyHeaders<A> {
    inner: A,
    trusted: Vec<IpNet>,
}

impl<A: App> ProxyHeaders<A> {
    /// Wraps `app`, trusting proxies on loopback addresses.
    pub fn new(app: A) -> Self {
        ProxyHeaders {
            inner: app,
            trusted: ["127.0.0.0/8", "::1/128"]
                .iter()
                .map(|net| net.parse().expect("a valid range"))
                .collect(),
        }
    }

    /// Also trusts proxies at `proxies`: one address (`"10.1.2.3"`) or a
    /// range (`"10.0.0.0/8"`, `"fd00::/8"`).
    ///
    /// # Panics
    ///
    /// If `proxies` is neither.
    pub fn trust(mut self, proxies: &str) -> Self {
        let net =
            parse_net(proxies).unwrap_or_else(|| panic!("not an address or a range: {proxies:?}"));
        self.trusted.push(net);
        self
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address by the proxies' word: the rightmost entry of
    /// `X-Forwarded-For` that is not a trusted proxy (the leftmost when
    /// all are); `None` when the header is absent or an entry met before
    /// the client's is not an address.
    fn client(&self, env: &Environ) -> Option<IpAddr> {
        let mut client = None;
        // Later header lines were appended later: read them, and the
        // entries in each, from the end. Split as bytes: what lies left
        // of the client's entry is the client's own text, and a byte that
        // is not text there must not cost the whole line.
        for value in env.headers().get_all(X_FORWARDED_FOR).iter().rev() {
            for entry in value.as_bytes().rsplit(|b| *b == b',') {
                let ip = parse_ip(std::str::from_utf8(entry).ok()?.trim())?;
                client = Some(ip);
                if !self.is_trusted(ip) {
                    return client;
                }
            }
        }
        client
    }
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:80`,
/// `[::1]:80`); an IPv4 one mapped into IPv6 as the IPv4 one.
fn parse_ip(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))?;
    Some(ip.to_canonical())
}

/// A range as [`ProxyHeaders::trust`] takes it; IPv4 addresses mapped into
/// IPv6 are compared as IPv4, so a mapped range is kept as the IPv4 one.
fn parse_net(text: &str) -> Option<IpNet> {
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96).ok().map(IpNet::V4),
            None => Some(net),
        },
        _ => Some(net),
    }
}

/// `X-Forwarded-Proto`'s last entry (the nearest proxy's), as TLS or not.
fn forwarded_secure(value: &HeaderValue) -> Option<bool> {
    let last = value.to_str().ok()?.rsplit(',').next()?.trim();
    if last.eq_ignore_ascii_case("https") || last.eq_ignore_ascii_case("wss") {
        Some(true)
    } else if last.eq_ignore_ascii_case("http") || last.eq_ignore_ascii_case("ws") {
        Some(false)
    } else {
        None
    }
}

impl<A: App> App for ProxyHeaders<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, mut env: Environ) -> impl Future<Output = Response> + Send {
        let from_proxy = env.remote_addr().is_some_and(|a| self.is_trusted(a.ip()));
        if from_proxy {
            if let Some(ip) = self.client(&env) {
                env.set_remote_addr(SocketAddr::new(ip, 0));
            }
            let proto = env.headers().get_all(X_FORWARDED_PROTO).iter().next_back();
            if let Some(secure) = proto.and_then(forwarded_secure) {
                env.set_secure(secure);
            }
        }
        self.inner.call(env)
    }
}

impl<A> fmt::Debug for ProxyHeaders<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyHeaders")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;
    use crate::environ::ConnInfo;

    /// What `ProxyHeaders` (also trusting 10.0.0.0/8) gives its app, for a
    /// request from `peer` forwarded for 203.0.113.7 over https.
    fn seen_from(peer: &str) -> (Option<SocketAddr>, &'static str) {
        let req = http::Request::get("/")
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap();
        let conn = ConnInfo {
            remote: Some(peer.parse().unwrap()),
            ..ConnInfo::default()
        };
        let app = |env: Environ| async move {
            let mut res = Response::new(Body::empty());
            res.extensions_mut()
                .insert((env.remote_addr(), env.scheme()));
            res
        };
        let app = ProxyHeaders::new(app).trust("10.0.0.0/8");
        let res = futures_util::FutureExt::now_or_never(app.call(Environ::with_conn(req, conn)))
            .expect("answers at once");
        *res.extensions().get().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let client = Some("203.0.113.7:0".parse().unwrap());
        assert_eq!(seen_from("10.1.2.3:4000"), (client, "https"));
        assert_eq!(seen_from("[::ffff:127.0.0.1]:4000"), (client, "https"));
        let stranger = "198.51.100.1:4000";
        assert_eq!(
            seen_from(stranger),
            (Some(stranger.parse().unwrap()), "http")
        );
    }

    #[test]
    fn a_mapped_range_is_trusted_as_the_ipv4_one() {
        assert_eq!(parse_net("::ffff:10.0.0.0/104"), parse_net("10.0.0.0/8"));
        assert_eq!(parse_net("::ffff:10.1.2.3"), parse_net("10.1.2.3/32"));
        assert_eq!(parse_net("fd00::/8"), Some("fd00::/8".parse().unwrap()));
        assert_eq!(parse_net("nginx"), None);
    }
}
