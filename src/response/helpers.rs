use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::StatusCode;

use crate::app::Response;
use crate::body::Body;
use crate::error::{Error, Kind};
use crate::status_page::app_failed;

fn with_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut res = Response::new(body.into());
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// `200`, `text/plain; charset=utf-8`.
///
/// ```
/// let res = gateway::response::text("Hello");
/// assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
pub fn text(body: impl Into<Body>) -> Response {
    with_type(body, "text/plain; charset=utf-8")
}

/// `200`, `text/html; charset=utf-8`. The caller escapes what it puts in.
///
/// ```
/// let res = gateway::response::html("<h1>Hello</h1>");
/// assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
/// ```
pub fn html(body: impl Into<Body>) -> Response {
    with_type(body, "text/html; charset=utf-8")
}

/// `200`, `application/octet-stream`.
pub(super) fn bytes(body: impl Into<Body>) -> Response {
    with_type(body, "application/octet-stream")
}

/// `200`, `application/json`: `value` serialized with `serde_json`. A value
/// that cannot be serialized (a map with non-string keys) is the app's
/// error: a logged `500`.
///
/// Needs the `json` feature.
///
/// ```
/// let res = gateway::response::json(&serde_json::json!({"id": 7}));
/// assert_eq!(res.headers()["content-type"], "application/json");
/// ```
#[cfg(feature = "json")]
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(body, "application/json"),
        Err(error) => app_failed(Error::with(Kind::App, error)),
    }
}

/// `303 See Other` to `location`: after a form post, the client gets
/// `location` with `GET`.
///
/// A `location` that is not a valid header value (it holds a control
/// character, as a `\r\n` smuggled in through a `?next=` parameter would)
/// is never sent: the answer is a logged `500` instead.
///
/// ```
/// let res = gateway::response::redirect("/done");
/// assert_eq!(res.status(), 303);
/// assert_eq!(res.headers()["location"], "/done");
/// ```
pub fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, location)
}

/// `308 Permanent Redirect` to `location`: the resource moved for good, and
/// the client repeats the request there with the same method and body. An
/// invalid `location` is treated as by [`redirect`].
pub fn redirect_permanent(location: &str) -> Response {
    redirect_with(StatusCode::PERMANENT_REDIRECT, location)
}

fn redirect_with(status: StatusCode, location: &str) -> Response {
    match HeaderValue::try_from(location) {
        Ok(location) => {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = status;
            res.headers_mut().insert(LOCATION, location);
            res
        }
        Err(invalid) => app_failed(Error::with(Kind::App, invalid)),
    }
}
