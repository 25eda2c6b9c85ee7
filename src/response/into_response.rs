use std::convert::Infallible;

use bytes::Bytes;
use http::StatusCode;

use super::helpers::{bytes, text};
use crate::app::Response;
use crate::body::Body;
use crate::error::{BoxError, Error, Kind};
use crate::status_page::app_failed;

/// What a return-style handler may return: anything that becomes a
/// [`Response`] (spec 3.9).
///
/// | type | response |
/// |---|---|
/// | [`Response`] | itself |
/// | [`Body`] | `200`, no `Content-Type` |
/// | `String`, `&'static str` | `200`, `text/plain; charset=utf-8` |
/// | [`Bytes`], `Vec<u8>` | `200`, `application/octet-stream` |
/// | [`StatusCode`] | that status, empty body |
/// | `(StatusCode, T)` | `T`'s response with that status |
/// | `Result<T, E>` | `T`'s response, or `E`'s |
/// | [`Error`], [`BoxError`] | a request body the client got wrong: `413`, `408` or `400`; anything else: `500`, logged, the error's text not shown |
///
/// ```
/// use gateway::http::StatusCode;
/// use gateway::{Environ, IntoResponse};
///
/// async fn teapot(_env: Environ) -> impl IntoResponse {
///     (StatusCode::IM_A_TEAPOT, "short and stout")
/// }
/// # fn assert_app(_: impl gateway::App) {}
/// # assert_app(teapot);
/// ```
pub trait IntoResponse {
    /// Makes the response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        text(self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        bytes(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        bytes(self)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self;
        res
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        *res.status_mut() = self.0;
        res
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// The same answer a callback-style app gets for the same error (spec 2.7).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        app_failed(self)
    }
}

/// As [`Error`]'s, when the boxed error is (or was caused by) one of ours.
impl IntoResponse for BoxError {
    fn into_response(self) -> Response {
        app_failed(Error::from_boxed(self, Kind::App))
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}
