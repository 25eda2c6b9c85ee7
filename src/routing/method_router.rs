use std::fmt;

use http::header::{HeaderValue, ALLOW};
use http::{Method, StatusCode};

use crate::app::{App, BoxApp, Response};
use crate::environ::Environ;
use crate::status_page::status_page;

/// Sends each request to one app by method; other methods get
/// `405 Method Not Allowed` with an `Allow` header (spec 7.7).
///
/// `HEAD` goes to the `GET` app when there is no `HEAD` app of its own (the
/// server drops the body).
///
/// ```
/// use gateway::routing::{get, Router};
/// use gateway::{Body, Environ, Response};
///
/// async fn show(_env: Environ) -> Response { Response::new(Body::from("item")) }
/// async fn update(_env: Environ) -> Response { Response::new(Body::from("updated")) }
///
/// let app = Router::new().route("/item", get(show).post(update));
/// ```
#[derive(Default)]
pub struct MethodRouter {
    apps: Vec<(Method, BoxApp)>,
    allow: Option<HeaderValue>,
}

/// A [`MethodRouter`] for `GET` (and so `HEAD`).
pub fn get(app: impl App) -> MethodRouter {
    MethodRouter::default().on(Method::GET, app)
}

/// A [`MethodRouter`] for `POST`.
pub fn post(app: impl App) -> MethodRouter {
    MethodRouter::default().on(Method::POST, app)
}

impl MethodRouter {
    /// Adds `app` for `method`.
    ///
    /// # Panics
    ///
    /// If `method` already has an app.
    pub fn on(mut self, method: Method, app: impl App) -> Self {
        assert!(
            self.apps.iter().all(|(m, _)| *m != method),
            "method {method} routed twice"
        );
        self.apps.push((method, BoxApp::new(app)));
        let mut allowed: Vec<&str> = self.apps.iter().map(|(m, _)| m.as_str()).collect();
        if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
            allowed.push("HEAD");
        }
        self.allow = HeaderValue::from_str(&allowed.join(", ")).ok();
        self
    }

    /// Adds `app` for `GET` (and so `HEAD`).
    pub fn get(self, app: impl App) -> Self {
        self.on(Method::GET, app)
    }

    /// Adds `app` for `POST`.
    pub fn post(self, app: impl App) -> Self {
        self.on(Method::POST, app)
    }

    /// Adds `app` for `PUT`.
    pub fn put(self, app: impl App) -> Self {
        self.on(Method::PUT, app)
    }

    /// Adds `app` for `DELETE`.
    pub fn delete(self, app: impl App) -> Self {
        self.on(Method::DELETE, app)
    }

    fn find(&self, method: &Method) -> Option<&BoxApp> {
        let found = self.apps.iter().find(|(m, _)| m == method);
        let found = match found {
            None if method == Method::HEAD => self.apps.iter().find(|(m, _)| *m == Method::GET),
            found => found,
        };
        found.map(|(_, app)| app)
    }
}

impl App for MethodRouter {
    async fn call(&self, env: Environ) -> Response {
        match self.find(env.method()) {
            Some(app) => app.call(env).await,
            None => {
                let mut res = status_page(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("{} is not allowed here.", env.method()),
                );
                // Required even when empty (RFC 9110 15.5.6).
                let allow = self.allow.clone().unwrap_or(HeaderValue::from_static(""));
                res.headers_mut().insert(ALLOW, allow);
                res
            }
        }
    }
}

impl fmt::Debug for MethodRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodRouter")
            .field(
                "methods",
                &self.apps.iter().map(|(m, _)| m).collect::<Vec<_>>(),
            )
            .finish()
    }
}
