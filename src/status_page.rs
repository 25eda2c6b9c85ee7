//! The small plain-text pages the server and adapters answer with when an
//! app cannot: they name the status and, when safe, the broken rule.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;

use crate::app::Response;
use crate::body::Body;
use crate::error::Error;

/// Marks a response the crate generated in place of an app's answer, so that
/// middleware (the error catcher, the validator) can recognise it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generated {
    /// The spec rule the app broke (such as `"2.1"`), when that is why.
    pub(crate) rule: Option<&'static str>,
}

/// A plain-text response: the status line, then `detail`.
pub(crate) fn status_page(status: StatusCode, detail: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("");
    let text = format!("{} {reason}\n\n{detail}\n", status.as_str());
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res.extensions_mut().insert(Generated { rule: None });
    res
}

/// A callback-style app failed before sending a byte: a 500 that names the
/// broken rule, never the app's own error text (which may hold internals).
/// The error itself goes to the log.
///
/// An app that passes up a failed read of its request body (too large, timed
/// out, malformed) gets the client's 4xx instead, logged as the client's
/// doing (spec 2.7).
pub(crate) fn app_failed(error: Error) -> Response {
    if let Some((status, what)) = error.client_fault() {
        tracing::info!(error = %error, status = status.as_u16(), "the request body failed");
        return status_page(status, what);
    }
    tracing::error!(error = %error, "app failed before sending a response");
    let (detail, rule) = match error.spec_rule() {
        Some(rule) => (
            format!("The application broke a rule: {}.", error.rule()),
            Some(rule),
        ),
        None => (
            "The application failed before sending a response.".to_owned(),
            None,
        ),
    };
    let mut res = status_page(StatusCode::INTERNAL_SERVER_ERROR, &detail);
    res.extensions_mut().insert(Generated { rule });
    res
}
