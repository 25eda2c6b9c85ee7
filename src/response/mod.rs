//! Building responses in the return style: [`IntoResponse`] and a few
//! helpers that set the content type.
//!
//! A return-style handler may return anything that is [`IntoResponse`]:
//! a [`Response`](crate::Response), a `String` or `&'static str` (plain text), a
//! [`StatusCode`](http::StatusCode) alone, `(StatusCode, body)`, or a
//! `Result` of two such types. With `Result<_, BoxError>` (or
//! `Result<_, gateway::Error>`), `?` works in the handler: a request body
//! the client got wrong becomes its 4xx (`413` too large, `408` timed out,
//! `400` broken), anything else a logged `500` that does not show the error
//! (spec 3.9).
//!
//! ```
//! use gateway::http::StatusCode;
//! use gateway::response::{html, redirect};
//! use gateway::routing::Router;
//! use gateway::{BoxError, Environ, Response};
//!
//! async fn upload(mut env: Environ) -> Result<Response, BoxError> {
//!     let body = env.take_body().collect(1 << 20).await?; // 413 past 1 MiB
//!     Ok(html(format!("<p>{} bytes</p>", body.len())))
//! }
//!
//! let app = Router::new()
//!     .route("/", |_env: Environ| async { "Hello, World!" })
//!     .route("/created", |_env: Environ| async { (StatusCode::CREATED, "made it") })
//!     .route("/old", |_env: Environ| async { redirect("/") })
//!     .route("/upload", upload);
//! # let _ = app;
//! ```

mod handler;
mod helpers;
mod into_response;
pub(crate) mod rules;

#[cfg(feature = "json")]
pub use helpers::json;
pub use helpers::{html, redirect, redirect_permanent, text};
pub use into_response::IntoResponse;
