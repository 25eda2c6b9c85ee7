use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use http::header::{self, HeaderName, CONTENT_LENGTH};
use http::{Method, StatusCode};

use super::observed_body::ObservedBody;
use crate::app::{App, Response};
use crate::environ::Environ;
use crate::hijack::Hijack;
use crate::response::rules::{forbids_body, is_bodiless, is_upgrade};
use crate::status_page::Generated;

/// A broken rule found by the [`Validator`]: the rule's section in `spec/`
/// and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule, such as `"6.4"`.
    pub rule: &'static str,
    /// What the app did.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spec {}: {}", self.rule, self.message)
    }
}

type Reporter = Arc<dyn Fn(&Violation) + Send + Sync>;

/// Checks the wrapped app against `spec/` as it runs, like Python's
/// `wsgiref.validate`, and reports every violation with its rule's number
/// (to the log at ERROR, target `gateway::validator`, or to a function of
/// yours). It changes nothing about the response: apps behave the same
/// with and without it, so it can stay on in development.
///
/// Checked: hop-by-hop headers set by the app (3.6), a final 1xx status
/// (3.7), a body on 204/304 (3.8), `Content-Length` that is not a number or
/// does not match the bytes the body produced (6.4), an upgrade response
/// without a hijack handler (5.3), a hijack on a response that is not an
/// upgrade (5.4), and, for callback-style apps behind
/// [`two_to_one`](crate::two_to_one) or [`blocking`](crate::blocking), the
/// broken rules the adapter caught and answered with a 500 (2.1, 2.2, 2.6).
///
/// ```
/// use gateway::middleware::Validator;
/// # use gateway::{Body, Environ, Response};
/// # let app = |_env: Environ| async { Response::new(Body::empty()) };
/// let checked = Validator::new(app).on_violation(|v| eprintln!("{v}"));
/// ```
pub struct Validator<A> {
    inner: A,
    report: Reporter,
}

impl<A: App> Validator<A> {
    /// Wraps `app`, reporting to the log.
    pub fn new(app: A) -> Self {
        Validator {
            inner: app,
            report: Arc::new(|v: &Violation| {
                tracing::error!(target: "gateway::validator", rule = v.rule, "{v}");
            }),
        }
    }

    /// Reports to `f` instead of the log.
    pub fn on_violation(mut self, f: impl Fn(&Violation) + Send + Sync + 'static) -> Self {
        self.report = Arc::new(f);
        self
    }
}

/// Whether `name` is a hop-by-hop header (RFC 9110 7.6.1).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    // Standard names compare as tags, the two others by their text.
    *name == header::CONNECTION
        || *name == header::TRANSFER_ENCODING
        || *name == header::UPGRADE
        || *name == header::TE
        || *name == header::TRAILER
        || name == "keep-alive"
        || name == "proxy-connection"
}

/// The violations in `res`'s head, and its declared Content-Length (if
/// any, and a number).
fn check_head(res: &Response, method: &Method) -> (Vec<Violation>, Option<u64>) {
    let mut found = Vec::new();
    let mut v = |rule, message: String| found.push(Violation { rule, message });
    let status = res.status();
    let upgrade = is_upgrade(status, method);
    let hijack = res.extensions().get::<Hijack>().is_some();

    if let Some(Generated { rule: Some(rule) }) = res.extensions().get::<Generated>() {
        v(
            rule,
            "the callback app broke this rule and got a 500 instead (see the log)".to_owned(),
        );
    }
    // One pass over the app's few headers, not a lookup per forbidden name.
    for name in res.headers().keys().filter(|n| is_hop_by_hop(n)) {
        // A 426 names the protocol to upgrade to (RFC 9110 15.5.22).
        let allowed = (upgrade && (*name == header::CONNECTION || *name == header::UPGRADE))
            || (status == StatusCode::UPGRADE_REQUIRED && *name == header::UPGRADE);
        if !allowed {
            v(
                "3.6",
                format!("the app set the hop-by-hop header `{name}`; the server owns it"),
            );
        }
    }
    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
        v("3.7", format!("{status} cannot be a final response"));
    }
    match (upgrade, hijack) {
        (true, false) => v(
            "5.3",
            format!("{status} upgrade response without a hijack handler"),
        ),
        (false, true) => v(
            "5.4",
            format!("a hijack handler on a {status} response: it will be dropped, never run"),
        ),
        _ => {}
    }
    let known = http_body::Body::size_hint(res.body()).exact();
    if forbids_body(status) && known.is_some_and(|n| n > 0) {
        v("3.8", format!("{status} must not have a body"));
    }
    let bodiless = is_bodiless(status, method);
    let mut declared = None;
    if let Some(value) = res.headers().get(CONTENT_LENGTH) {
        declared = value.to_str().ok().and_then(|s| s.parse::<u64>().ok());
        match declared {
            None => v("6.4", format!("Content-Length {value:?} is not a number")),
            // A bodiless response's length describes the GET response.
            Some(declared) if !bodiless && !upgrade => {
                if let Some(known) = known.filter(|&k| k != declared) {
                    v(
                        "6.4",
                        format!("Content-Length {declared} but the body has {known} bytes"),
                    );
                }
            }
            Some(_) => {}
        }
    }
    (found, declared)
}

impl<A: App> App for Validator<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        let method = env.method().clone();
        self.inner.call(env).map(move |res| {
            let (violations, declared) = check_head(&res, &method);
            for violation in violations {
                (self.report)(&violation);
            }
            let streamed = http_body::Body::size_hint(res.body()).exact().is_none();
            match declared {
                Some(declared) if streamed && method != Method::HEAD => {
                    let report = self.report.clone();
                    let (head, body) = res.into_parts();
                    let body = ObservedBody::wrap(body, move |o| {
                        let short = o.complete && o.bytes != declared;
                        let long = o.bytes > declared;
                        if short || long {
                            report(&Violation {
                                rule: "6.4",
                                message: format!(
                                    "Content-Length {declared} but the body produced {} bytes",
                                    o.bytes
                                ),
                            });
                        }
                    });
                    Response::from_parts(head, body)
                }
                _ => res,
            }
        })
    }
}

impl<A> fmt::Debug for Validator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator").finish_non_exhaustive()
    }
}
