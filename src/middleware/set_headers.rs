use std::fmt;
use std::future::Future;

use futures_util::FutureExt;
use http::header::{HeaderName, HeaderValue};

use crate::app::{App, Response};
use crate::environ::Environ;

/// Sets response headers on everything the wrapped app answers (security
/// headers, `Server`, caching policy...).
///
/// ```
/// use gateway::middleware::SetHeaders;
/// # use gateway::{Body, Environ, Response};
/// # let app = |_env: Environ| async { Response::new(Body::empty()) };
/// let app = SetHeaders::new(app)
///     .insert("server", "gateway")
///     .if_absent("cache-control", "no-store");
/// ```
pub struct SetHeaders<A> {
    inner: A,
    headers: Vec<(HeaderName, HeaderValue, bool)>,
}

impl<A: App> SetHeaders<A> {
    /// Wraps `app`; add headers with [`insert`](SetHeaders::insert) and
    /// [`if_absent`](SetHeaders::if_absent).
    pub fn new(app: A) -> Self {
        SetHeaders {
            inner: app,
            headers: Vec::new(),
        }
    }

    /// Sets `name`, replacing what the app set.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in a header.
    pub fn insert(self, name: &str, value: &str) -> Self {
        self.add(name, value, true)
    }

    /// Sets `name` unless the app set it.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in a header.
    pub fn if_absent(self, name: &str, value: &str) -> Self {
        self.add(name, value, false)
    }

    fn add(mut self, name: &str, value: &str, replace: bool) -> Self {
        let name = HeaderName::try_from(name).expect("valid header name");
        let value = HeaderValue::try_from(value).expect("valid header value");
        self.headers.push((name, value, replace));
        self
    }
}

impl<A: App> App for SetHeaders<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        self.inner.call(env).map(|mut res| {
            let headers = res.headers_mut();
            for (name, value, replace) in &self.headers {
                // One lookup either way.
                if *replace {
                    headers.insert(name.clone(), value.clone());
                } else {
                    headers.entry(name.clone()).or_insert_with(|| value.clone());
                }
            }
            res
        })
    }
}

impl<A> fmt::Debug for SetHeaders<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetHeaders")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}
