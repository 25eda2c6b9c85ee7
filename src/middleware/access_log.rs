use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use futures_util::future::Either;
use futures_util::FutureExt;
use http::header::Entry;
use tracing::Instrument;

use super::observed_body::{ObservedBody, Outcome};
use super::request_id::{is_plain, new_id, X_REQUEST_ID};
use crate::app::{App, Response};
use crate::environ::Environ;
use crate::hijack::takes_over;
use crate::response::rules::is_bodiless;

/// Logs every request in the common log format through `tracing` (target
/// `gateway::access`, level INFO), once its response body has been sent,
/// with a request id and the time taken:
///
/// ```text
/// 127.0.0.1 - - [22/Nov/2026:07:20:00 +0000] "GET /hello HTTP/1.1" 200 13 rid=5f2c…-1 0.2ms
/// ```
///
/// A response cut short is logged with `aborted`; a hijacked connection when
/// its upgrade head is sent. What the app logs until its response head is
/// ready, on a blocking app's thread too, is in a `request` span with the
/// same id (`request{rid=5f2c…-1}: …`); what a streamed body or a hijack
/// handler logs later is not.
///
/// Each request gets an id: the incoming `X-Request-Id` when it is short and
/// plain, a new one otherwise. The app sees it in its request's
/// `X-Request-Id` header, and the response carries it back.
pub struct AccessLog<A> {
    inner: A,
}

impl<A: App> AccessLog<A> {
    /// Wraps `app`.
    pub fn new(app: A) -> Self {
        AccessLog { inner: app }
    }
}

/// `[22/Nov/2026:07:20:00 +0000]` from an IMF-fixdate.
fn clf_date(now: SystemTime) -> String {
    let http = httpdate::fmt_http_date(now); // "Sun, 22 Nov 2026 07:20:00 GMT"
    let parts: Vec<&str> = http.split(' ').collect();
    match parts.as_slice() {
        [_, day, month, year, time, _] => format!("{day}/{month}/{year}:{time} +0000"),
        _ => http,
    }
}

impl<A: App> App for AccessLog<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, mut env: Environ) -> impl Future<Output = Response> + Send {
        // One lookup: keep a sane id the client sent, else put ours in.
        let id = match env.headers_mut().entry(X_REQUEST_ID) {
            Entry::Occupied(e) if is_plain(e.get()) => e.get().clone(),
            Entry::Occupied(mut e) => {
                let id = new_id();
                e.insert(id.clone());
                id
            }
            Entry::Vacant(e) => e.insert(new_id()).clone(),
        };
        if !tracing::enabled!(target: "gateway::access", tracing::Level::INFO) {
            // Nobody listens: keep the request id, skip the line's cost.
            return Either::Left(self.inner.call(env).map(|mut res| {
                res.headers_mut().insert(X_REQUEST_ID, id);
                res
            }));
        }
        let who = env
            .remote_addr()
            .map_or("-".to_owned(), |a| a.ip().to_string());
        let request = format!("{} {} {:?}", env.method(), env.uri(), env.version());
        let method = env.method().clone();
        let date = clf_date(SystemTime::now());
        // What the app logs until its head is ready carries the id too.
        let span = tracing::info_span!(target: "gateway::access", "request", rid = id.to_str().unwrap_or("-"));
        Either::Right(self.inner.call(env).instrument(span).map(move |mut res| {
            res.headers_mut().insert(X_REQUEST_ID, id.clone());
            let status = res.status();
            let line = move |outcome: Option<Outcome>| {
                let rid = id.to_str().unwrap_or("-");
                match outcome {
                    None => {
                        tracing::info!(target: "gateway::access", "{who} - - [{date}] \"{request}\" {} - rid={rid} hijacked", status.as_u16())
                    }
                    Some(o) => tracing::info!(
                        target: "gateway::access",
                        "{who} - - [{date}] \"{request}\" {} {} rid={rid} {:.1}ms{}",
                        status.as_u16(),
                        o.bytes,
                        o.elapsed.as_secs_f64() * 1000.0,
                        if o.complete { "" } else { " aborted" }
                    ),
                }
            };
            if takes_over(&res, &method) {
                // What follows the head is not HTTP.
                line(None);
                return res;
            }
            if is_bodiless(status, &method) {
                // The server sends no body, whatever the app gave.
                line(Some(Outcome::empty()));
                return res;
            }
            let (head, body) = res.into_parts();
            Response::from_parts(head, ObservedBody::wrap(body, move |o| line(Some(o))))
        }))
    }
}

impl<A> fmt::Debug for AccessLog<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLog").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_date_has_the_common_log_shape() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(clf_date(t), "06/Nov/1994:08:49:37 +0000");
    }
}
