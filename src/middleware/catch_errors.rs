use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::StatusCode;

use super::request_id::{is_plain, X_REQUEST_ID};
use crate::app::{App, Response};
use crate::body::Body;
use crate::environ::Environ;
use crate::status_page::Generated;

/// Turns failures into a clean error page: a panic in the wrapped app, or a
/// plain error page the crate made for it (a callback app that failed before
/// its first byte), becomes a `500` (or the original 5xx) page in HTML, or
/// JSON when the client asks for `application/json`. The page never shows
/// the error itself (that goes to the log); it shows the request's
/// `X-Request-Id` (the one [`AccessLog`](super::AccessLog) set, when it runs
/// outside) if that is a plain token, and leaves any other value out.
///
/// An error after the head went out cannot become a page: the connection
/// is aborted, as always (spec 2.7, 3.3).
pub struct CatchErrors<A> {
    inner: A,
}

impl<A: App> CatchErrors<A> {
    /// Wraps `app`.
    pub fn new(app: A) -> Self {
        CatchErrors { inner: app }
    }
}

fn wants_json(accept: Option<&HeaderValue>) -> bool {
    accept
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

fn page(status: StatusCode, json: bool, request_id: Option<&str>) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let (body, content_type) = if json {
        let page = serde_json::json!({
            "error": { "status": status.as_u16(), "message": reason, "request_id": request_id }
        });
        (format!("{page}\n"), "application/json")
    } else {
        // `request_id` is a plain token (`is_plain`): nothing in it needs escaping.
        let id = request_id.map_or(String::new(), |id| {
            format!("<p>Request id: <code>{id}</code></p>")
        });
        let body = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\
             <body><h1>{code} {reason}</h1><p>Something went wrong on our side. It has been logged.</p>{id}</body></html>\n",
            code = status.as_u16()
        );
        (body, "text/html; charset=utf-8")
    };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

impl<A: App> App for CatchErrors<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        // Kept (cheap clones) and only looked at if something failed.
        // Kept (a reference count each) for a failure, and looked into only
        // then: a browser's Accept header is long to search.
        let accept = env.headers().get(ACCEPT).cloned();
        let id = env.headers().get(X_REQUEST_ID).cloned();
        AssertUnwindSafe(self.inner.call(env))
            .catch_unwind()
            .map(move |outcome| {
                let failed = match outcome {
                    Ok(res)
                        if res.status().is_server_error()
                            && res.extensions().get::<Generated>().is_some() =>
                    {
                        res.status()
                    }
                    Ok(res) => return res,
                    Err(panic) => {
                        let msg = crate::error::panic_message(&panic);
                        tracing::error!(panic = %msg, request_id = ?id, "app panicked; answering 500");
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                };
                // Only a plain id goes on the page: without `AccessLog` in
                // front, the header is whatever the client sent.
                let id = id.as_ref().filter(|id| is_plain(id));
                let id = id.and_then(|id| id.to_str().ok());
                page(failed, wants_json(accept.as_ref()), id)
            })
    }
}

impl<A> fmt::Debug for CatchErrors<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchErrors").finish_non_exhaustive()
    }
}
