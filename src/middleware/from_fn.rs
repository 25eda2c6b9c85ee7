use std::fmt;
use std::future::Future;

use crate::app::{App, BoxApp, Response};
use crate::environ::Environ;

/// Middleware from an async function of the request and the rest of the
/// chain.
///
/// ```
/// use gateway::middleware::{from_fn, Next};
/// use gateway::{Body, Environ, Response};
///
/// async fn hello(_env: Environ) -> Response { Response::new(Body::from("hi")) }
///
/// let app = from_fn(hello, |env: Environ, next: Next| async move {
///     if env.headers().contains_key("x-blocked") {
///         return Response::new(Body::from("go away"));
///     }
///     let mut res = next.run(env).await;
///     res.headers_mut().insert("x-served-by", "gateway".parse().unwrap());
///     res
/// });
/// ```
pub fn from_fn<A, F, Fut>(app: A, f: F) -> FromFn<F>
where
    A: App,
    F: Fn(Environ, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    FromFn {
        inner: BoxApp::new(app),
        f,
    }
}

/// Middleware made by [`from_fn`].
pub struct FromFn<F> {
    inner: BoxApp,
    f: F,
}

/// The rest of the chain, for a [`from_fn`] middleware to call (or not).
pub struct Next {
    inner: BoxApp,
}

impl Next {
    /// Calls the wrapped app.
    pub async fn run(self, env: Environ) -> Response {
        self.inner.call(env).await
    }
}

impl<F, Fut> App for FromFn<F>
where
    F: Fn(Environ, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        (self.f)(
            env,
            Next {
                inner: self.inner.clone(),
            },
        )
    }
}

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFn").finish_non_exhaustive()
    }
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}
