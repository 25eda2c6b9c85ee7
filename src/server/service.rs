//! The hyper service that turns each request into one app call.

use std::convert::Infallible;
use std::future::Ready;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::future::Either;
use futures_util::FutureExt;
use http::header::{CONTENT_LENGTH, HOST};
use http::{Method, Request, StatusCode, Version};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;

use super::activity::{Activity, InFlight};
use super::response_body::ResponseBody;
use crate::app::{App, BoxFuture, Response};
use crate::body::Body;
#[cfg(feature = "tls")]
use crate::environ::PeerCertificates;
use crate::environ::{ConnInfo, Environ};
use crate::hijack;
use crate::response::rules::is_bodiless;
use crate::status_page::status_page;

pub(crate) struct AppService<A> {
    pub(crate) app: Arc<A>,
    pub(crate) conn: ConnInfo,
    pub(crate) hijacks: hijack::Registry,
    pub(crate) max_body: u64,
    /// How long a read of the request body may wait for bytes.
    pub(crate) body_timeout: std::time::Duration,
    /// The connection's slot in the connection limit; a hijack takes it
    /// along, so an upgraded connection still counts.
    pub(crate) permit: Option<Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>>,
    /// The connection's requests in flight, for its header timeout.
    pub(crate) activity: Option<Arc<Activity>>,
    /// What a TLS client's certificate said, for every request's
    /// extensions.
    #[cfg(feature = "tls")]
    pub(crate) peer: Option<PeerCertificates>,
    /// The connection speaks HTTP/2: response bodies report to their
    /// stream's task (`stream_stall`).
    pub(crate) http2: bool,
}

impl<A> Clone for AppService<A> {
    fn clone(&self) -> Self {
        AppService {
            app: self.app.clone(),
            conn: self.conn,
            hijacks: self.hijacks.clone(),
            max_body: self.max_body,
            body_timeout: self.body_timeout,
            permit: self.permit.clone(),
            activity: self.activity.clone(),
            #[cfg(feature = "tls")]
            peer: self.peer.clone(),
            http2: self.http2,
        }
    }
}

impl<A: App> hyper::service::Service<Request<Incoming>> for AppService<A> {
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Either<
        Ready<Result<Self::Response, Infallible>>,
        BoxFuture<'static, Result<Self::Response, Infallible>>,
    >;

    #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        #[cfg(feature = "tls")]
        if let Some(peer) = &self.peer {
            req.extensions_mut().insert(peer.clone());
        }
        let in_flight = self.activity.as_ref().map(Activity::begin);
        let app = self.app.clone();
        let hijacks = self.hijacks.clone();
        let permit = self.permit.clone();
        let method = req.method().clone();
        let http2 = self.http2;
        if let Err(reason) = host_is_sound(&req) {
            tracing::debug!(reason, "refused a request before the app");
            let res = bad_request(reason).map(|body| body.holding(in_flight).on_http2(http2));
            return Either::Left(std::future::ready(Ok(res)));
        }
        // hyper knows a declared length already (as the body's exact size).
        if http_body::Body::size_hint(req.body()).lower() > self.max_body {
            let res = too_large(self.max_body).map(|body| body.holding(in_flight).on_http2(http2));
            return Either::Left(std::future::ready(Ok(res)));
        }
        let (max_body, timeout) = (self.max_body, Some(self.body_timeout));
        let env = Environ::with_conn(req.map(|b| Body::incoming(b, max_body, timeout)), self.conn);
        let mut answer: BoxFuture<'static, _> = Box::pin(async move {
            let res = match AssertUnwindSafe(app.call(env)).catch_unwind().await {
                Ok(res) => res,
                Err(panic) => {
                    let msg = crate::error::panic_message(&panic);
                    tracing::error!(panic = %msg, "app panicked; answering 500");
                    status_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The application panicked while handling the request.",
                    )
                }
            };
            let keep = move || {
                let permit = permit?.lock().unwrap_or_else(|e| e.into_inner()).take()?;
                Some(Box::new(permit) as Box<dyn std::any::Any + Send>)
            };
            let res = finish(res, &method, &hijacks, keep, in_flight.as_ref());
            Ok(res.map(|body| body.holding(in_flight).on_http2(http2)))
        });
        // The app runs now, up to its first wait, rather than on hyper's
        // first poll. In between, hyper reads the socket (to notice a client
        // that goes away) and, while the request still holds its read
        // buffer, has to allocate a fresh one: 8 KiB per request, the
        // largest allocation of a small request. An app that answers at once
        // has dropped its request by then. The waker does nothing: hyper
        // polls the future again next, which registers the real one.
        match answer
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(res) => Either::Left(std::future::ready(res)),
            Poll::Pending => Either::Right(answer),
        }
    }
}

/// Checks what the app returned and prepares it for the wire: starts a
/// hijack, refuses heads that cannot be sent honestly.
fn finish(
    res: Response,
    method: &Method,
    hijacks: &hijack::Registry,
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
    in_flight: Option<&InFlight>,
) -> http::Response<ResponseBody> {
    let res = match hijack::start(res, method, hijacks, keep) {
        // A hijacked connection gets its head exactly as the app built it
        // (spec 5.2): no checks, no rewriting.
        Ok(hijack::Started::Yes(res)) => {
            if let Some(in_flight) = in_flight {
                in_flight.hijacked();
            }
            let (head, body) = res.into_parts();
            return http::Response::from_parts(head, ResponseBody::new(body, None));
        }
        Ok(hijack::Started::No(res)) => res,
        Err(reason) => return refuse(reason),
    };
    let (head, body) = res.into_parts();
    let declared = match head.headers.get(CONTENT_LENGTH) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|s| s.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => return refuse("the app set an invalid Content-Length header (spec 6.4)"),
        },
    };
    if is_bodiless(head.status, method) {
        // No body goes out. A declared length describes the GET response
        // and stands as sent; the body (whatever its size) is dropped so
        // hyper frames the head by the header alone.
        let body = match declared {
            Some(_) => ResponseBody::bodiless(),
            None => ResponseBody::new(body, None),
        };
        return http::Response::from_parts(head, body);
    }
    if let (Some(declared), Some(exact)) = (declared, http_body::Body::size_hint(&body).exact()) {
        if declared != exact {
            return refuse("the app's Content-Length does not match its body (spec 6.4)");
        }
    }
    http::Response::from_parts(head, ResponseBody::new(body, declared))
}

/// RFC 9112, 3.2: an HTTP/1.1 request has exactly one `Host`, and no
/// request has two; a value is empty or an authority. hyper checks none of
/// it. (HTTP/2 names its authority in the request line.)
fn host_is_sound<B>(req: &Request<B>) -> Result<(), &'static str> {
    if req.version() >= Version::HTTP_2 {
        return Ok(());
    }
    let mut hosts = req.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 => {
            Err("An HTTP/1.1 request needs a Host header.")
        }
        (None, _) => Ok(()),
        (Some(_), Some(_)) => Err("A request may have only one Host header."),
        (Some(host), None) if is_host(host.as_bytes()) => Ok(()),
        (Some(_), None) => {
            Err("The Host header is not a host name or address, with an optional port.")
        }
    }
}

/// RFC 3986's `host [ ":" port ]`, as a `Host` value: an IP literal in
/// brackets, or a name or IPv4 address (letters, digits, the unreserved
/// and sub-delimiter marks, `%` escapes), then an optional `:` and digits.
/// Empty is allowed too (RFC 9112, 3.2). Checked without allocating
/// (`http`'s `Authority` would copy the value).
fn is_host(value: &[u8]) -> bool {
    let port = match value {
        [b'[', rest @ ..] => {
            let Some(end) = rest.iter().position(|&b| b == b']') else {
                return false;
            };
            // IPv6 (with a zone after `%25`) or IPvFuture.
            let literal = rest[..end]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b":.%-_~".contains(&b));
            if !literal {
                return false;
            }
            &rest[end + 1..]
        }
        _ => {
            let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            let name = value[..end]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
            if !name {
                return false;
            }
            &value[end..]
        }
    };
    match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// A 400 for a request the server refuses before calling the app.
fn bad_request(reason: &str) -> http::Response<ResponseBody> {
    refused(StatusCode::BAD_REQUEST, reason)
}

/// The 413 for a body declared larger than the limit.
fn too_large(limit: u64) -> http::Response<ResponseBody> {
    let detail = format!("The request body is larger than this server accepts ({limit} bytes).");
    refused(StatusCode::PAYLOAD_TOO_LARGE, &detail)
}

/// A page for a request refused before the app was called; the connection
/// is closed after it, since the request's body is not read.
fn refused(status: StatusCode, detail: &str) -> http::Response<ResponseBody> {
    let (mut head, body) = status_page(status, detail).into_parts();
    head.headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    http::Response::from_parts(head, ResponseBody::new(body, None))
}

fn refuse(reason: &'static str) -> http::Response<ResponseBody> {
    tracing::error!(reason, "app returned a response the server cannot send");
    let (head, body) = status_page(StatusCode::INTERNAL_SERVER_ERROR, reason).into_parts();
    http::Response::from_parts(head, ResponseBody::new(body, None))
}

#[cfg(test)]
mod tests {
    use super::is_host;

    #[test]
    fn host_values() {
        for good in [
            "",
            "x",
            "example.com",
            "Example.COM.",
            "xn--bcher-kva.example",
            "10.0.0.1:80",
            "[::1]",
            "[::1]:7000",
            "[fe80::1%25eth0]:80",
            "host:",
            "a-b_c~d:65535",
        ] {
            assert!(is_host(good.as_bytes()), "{good:?}");
        }
        for bad in [
            "exa mple",
            "a/b",
            "a?b",
            "a#b",
            "user@host",
            "a:b:c",
            "host:http",
            "[::1",
            "[::1]x",
            "[::1]:8x",
            "bücher.example",
        ] {
            assert!(!is_host(bad.as_bytes()), "{bad:?}");
        }
    }
}
