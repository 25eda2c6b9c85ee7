//! Return-style apps: request in, status + headers + streaming body out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::body::Body;
use crate::environ::Environ;

/// What a return-style app produces: an `http` response with a streaming [`Body`].
pub type Response<B = Body> = http::Response<B>;

/// A return-style app: `app(environ) -> (status, headers, body)`, as in the
/// WSGI 2 drafts, with the body a stream of chunks.
///
/// Apps are infallible at the boundary: every failure is a response (a 500
/// page, a 404...). An error *inside* the body stream, after the head went
/// out, aborts the connection instead (spec 3.3).
///
/// Any `async` closure or function from [`Environ`] to [`Response`], or to
/// anything else that is [`IntoResponse`](crate::IntoResponse), is an app:
///
/// ```
/// use gateway::{App, Body, Environ, Response};
///
/// async fn hello(_env: Environ) -> Response {
///     Response::new(Body::from("Hello, World!"))
/// }
/// fn assert_app(_: impl App) {}
/// assert_app(hello);
/// ```
///
/// A struct implements it with an `async fn`:
///
/// ```
/// use gateway::{App, Body, Environ, Response};
///
/// struct Greeter { name: String }
///
/// impl App for Greeter {
///     async fn call(&self, _env: Environ) -> Response {
///         Response::new(Body::from(format!("Hello, {}!", self.name)))
///     }
/// }
/// ```
pub trait App: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send;
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An app with its type erased, so that apps of different types can sit in
/// one router table.
pub(crate) trait DynApp: Send + Sync + 'static {
    fn call_boxed(&self, env: Environ) -> BoxFuture<'_, Response>;
}

impl<A: App> DynApp for A {
    fn call_boxed(&self, env: Environ) -> BoxFuture<'_, Response> {
        Box::pin(self.call(env))
    }
}

/// A shared, type-erased app.
#[derive(Clone)]
pub(crate) struct BoxApp(Arc<dyn DynApp>);

impl BoxApp {
    pub(crate) fn new(app: impl App) -> Self {
        BoxApp(Arc::new(app))
    }

    pub(crate) fn call(&self, env: Environ) -> BoxFuture<'_, Response> {
        self.0.call_boxed(env)
    }
}

impl std::fmt::Debug for BoxApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxApp")
    }
}
