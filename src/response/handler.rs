//! Functions and closures as apps: any `Fn(Environ) -> impl Future` whose
//! output is [`IntoResponse`] (spec 3.1, 3.9).

use std::future::Future;

use futures_util::FutureExt;

use super::into_response::IntoResponse;
use crate::app::{App, Response};
use crate::environ::Environ;

/// Any `async` function or closure from [`Environ`] to something
/// [`IntoResponse`] (a [`Response`], a `String`, a `Result`...).
impl<F, Fut> App for F
where
    F: Fn(Environ) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoResponse,
{
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        self(env).map(IntoResponse::into_response)
    }
}
