use std::collections::HashMap;

/// Paths are hashed with FNV, not SipHash: the keys are the app's own
/// routes, so there is no table an attacker could fill with collisions,
/// and SipHash showed in a small request's profile.
type Table = HashMap<Box<str>, BoxApp, fnv::FnvBuildHasher>;
use std::fmt;
use std::future::Future;

use futures_util::future::Either;
use http::StatusCode;

use super::patterns::{Found, Patterns};
use crate::app::{App, BoxApp, Response};
use crate::environ::Environ;
use crate::status_page::status_page;

/// Sends each request to one app, by path.
///
/// - [`route`](Router::route) matches one exact path, or a pattern with
///   path parameters: `/users/{id}`, and a catch-all `/files/{*rest}`;
/// - [`mount`](Router::mount) hands a whole subtree to an app, moving the
///   prefix from `path_info` to `script_name` as WSGI does: an app mounted
///   at `/legacy` sees `/legacy/env` as script name `/legacy` and path info
///   `/env`;
/// - everything else goes to the [`fallback`](Router::fallback), by default
///   a `404 Not Found`.
///
/// Paths match against the request's `path_info`, so routers nest. Any
/// [`App`] can be routed to: return-style apps, callback-style apps through
/// [`two_to_one`](crate::two_to_one), WebSocket endpoints, other routers.
///
/// ```
/// use gateway::routing::Router;
/// use gateway::{Body, Environ, Response};
///
/// async fn hello(_env: Environ) -> Response { Response::new(Body::from("hi")) }
/// async fn user(env: Environ) -> String {
///     format!("user {}", env.param("id").unwrap_or_default())
/// }
/// async fn whoami(env: Environ) -> Response {
///     Response::new(Body::from(format!("{} + {}", env.script_name(), env.path_info())))
/// }
///
/// let app = Router::new()
///     .route("/hello", hello)
///     .route("/users/{id}", user)            // GET /users/7 answers "user 7"
///     .mount("/api", Router::new().mount("/v1", whoami));
/// // GET /api/v1/users answers "/api/v1 + /users"
/// ```
#[derive(Default)]
pub struct Router {
    routes: Table,
    /// Routes with path parameters, ranked by `matchit` (static segments
    /// over parameters over catch-alls); looked at only when no exact
    /// route matched, so exact routes cost what they did without them.
    patterns: Patterns,
    /// By prefix; a request looks up its own path's prefixes, longest
    /// first, so the cost grows with the path's segments, not the mounts.
    mounts: Table,
    fallback: Option<BoxApp>,
}

impl Router {
    /// An empty router: every request gets the fallback (404).
    pub fn new() -> Self {
        Router::default()
    }

    /// Sends requests whose path matches `path` to `app`, whatever the
    /// method (spec 7.1, 7.8).
    ///
    /// A path without braces matches exactly. `{name}` matches one segment
    /// (or what lies between a segment's fixed prefix and suffix, as in
    /// `/img-{id}.png`), `{*name}` the rest of the path (not empty); the app
    /// reads their values with [`Environ::param`]. `{{` and `}}` stand for
    /// literal braces.
    ///
    /// # Panics
    ///
    /// If `path` does not start with `/`, was already routed, is not a valid
    /// pattern, or conflicts with a pattern routed before (`/users/{id}`
    /// and `/users/{name}`); the message names both routes.
    pub fn route(mut self, path: &str, app: impl App) -> Self {
        assert!(
            path.starts_with('/'),
            "route path must start with '/': {path:?}"
        );
        if path.contains(['{', '}']) {
            self.patterns.insert(path, BoxApp::new(app));
            return self;
        }
        let previous = self.routes.insert(path.into(), BoxApp::new(app));
        assert!(previous.is_none(), "route {path:?} added twice");
        self
    }

    /// Hands `prefix` and everything below it to `app` (spec 7.2).
    ///
    /// `prefix` matches whole segments: `/legacy` takes `/legacy`,
    /// `/legacy/` and `/legacy/x`, never `/legacyx`. A trailing slash on
    /// `prefix` is ignored.
    ///
    /// # Panics
    ///
    /// If `prefix` does not start with `/`, is `/` itself (use
    /// [`fallback`](Router::fallback)), or was already mounted.
    pub fn mount(mut self, prefix: &str, app: impl App) -> Self {
        let prefix = prefix.trim_end_matches('/');
        assert!(
            prefix.starts_with('/'),
            "mount prefix must start with '/' and not be '/': {prefix:?}"
        );
        let previous = self.mounts.insert(prefix.into(), BoxApp::new(app));
        assert!(previous.is_none(), "prefix {prefix:?} mounted twice");
        self
    }

    /// The app for requests nothing else matched. Default: `404 Not Found`.
    pub fn fallback(mut self, app: impl App) -> Self {
        self.fallback = Some(BoxApp::new(app));
        self
    }

    /// The length of the mount prefix `path` falls under, and its app.
    fn find_mount(&self, path: &str) -> Option<(usize, &BoxApp)> {
        if self.mounts.is_empty() {
            return None;
        }
        // `/a/b/c`, then `/a/b`, then `/a`: whole segments, longest first.
        let mut end = path.len();
        loop {
            if let Some(app) = self.mounts.get(&path[..end]) {
                return Some((end, app));
            }
            end = path[..end].rfind('/')?;
            if end == 0 {
                return None;
            }
        }
    }
}

impl App for Router {
    fn call(&self, mut env: Environ) -> impl Future<Output = Response> + Send {
        let target = if let Some(app) = self.routes.get(env.path_info()) {
            Some(app)
        } else if let Some(found) = self.patterns.find(&mut env) {
            match found {
                Found::App(app) => Some(app),
                Found::Refused(res) => return Either::Right(std::future::ready(res)),
            }
        } else if let Some((len, app)) = self.find_mount(env.path_info()) {
            env.mount(len);
            Some(app)
        } else {
            self.fallback.as_ref()
        };
        // No `async` block: it would hold `env` beside the route's future.
        match target {
            Some(app) => Either::Left(app.call(env)),
            None => Either::Right(std::future::ready(status_page(
                StatusCode::NOT_FOUND,
                "Nothing here.",
            ))),
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut routes: Vec<_> = self.routes.keys().collect();
        routes.sort();
        f.debug_struct("Router")
            .field("routes", &routes)
            .field("patterns", &self.patterns)
            .field("mounts", &{
                let mut mounts: Vec<_> = self.mounts.keys().collect();
                mounts.sort();
                mounts
            })
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}
