//! Taking over the connection, as an ordinary response.
//!
//! The old way (a socket pulled out of `wsgi.input`, then an
//! `ALREADY_HANDLED` sentinel so the server would not write a response)
//! broke every middleware that looked at the response. Here an app that
//! wants the connection returns an ordinary response, `101 Switching
//! Protocols` (or `2xx` to a `CONNECT`), carrying a [`Hijack`]: a handler
//! for the raw IO. The server sends that head, does nothing else, and runs
//! the handler with the [`Upgraded`] connection; when the handler returns
//! the connection closes (spec 5).
//!
//! Middleware in between needs no changes: passing the response through, or
//! iterating its (empty) body, keeps working. If middleware replaces the
//! response with another status, the handler is dropped without ever
//! running.
//!
//! ```
//! use gateway::hijack::Hijack;
//! use gateway::http::{header, HeaderMap, HeaderValue, StatusCode};
//! use gateway::{Environ, Response};
//! use tokio::io::AsyncWriteExt;
//!
//! async fn app(mut env: Environ) -> Response {
//!     let hijack = Hijack::new(&mut env, |mut io| async move {
//!         let _ = io.write_all(b"hello from the raw connection\n").await;
//!     });
//!     match hijack {
//!         Ok(hijack) => {
//!             let headers = HeaderMap::from_iter([
//!                 (header::UPGRADE, HeaderValue::from_static("x-raw")),
//!                 (header::CONNECTION, HeaderValue::from_static("upgrade")),
//!             ]);
//!             hijack.into_response(StatusCode::SWITCHING_PROTOCOLS, headers)
//!         }
//!         Err(refused) => refused.into_response(),
//!     }
//! }
//! ```

pub(crate) mod registry;
mod shutdown;
mod upgraded;

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use http::{HeaderMap, Method, StatusCode};
use hyper::upgrade::OnUpgrade;

pub(crate) use registry::Registry;
pub use shutdown::ShutdownSignal;
pub use upgraded::Upgraded;

use crate::app::{BoxFuture, Response};
use crate::body::Body;
use crate::environ::Environ;
use crate::response::rules::is_upgrade;
use crate::status_page::status_page;

type Handler = Box<dyn FnOnce(Upgraded) -> BoxFuture<'static, ()> + Send>;

/// A handler for the raw connection, riding on a response as an extension.
///
/// Cloning shares the handler; it runs at most once.
#[derive(Clone)]
pub struct Hijack {
    slot: Arc<Mutex<Option<(OnUpgrade, Handler)>>>,
}

impl Hijack {
    /// Prepares to take over the connection `env` came on, with `handler`
    /// to run once the server has sent the upgrade head.
    ///
    /// # Errors
    ///
    /// [`NotUpgradable`] when the connection cannot be taken over: the
    /// request is neither an HTTP/1.1 `Upgrade` nor a `CONNECT`, it is
    /// HTTP/2 (RFC 8441 is not supported yet), or another hijack already
    /// claimed it.
    pub fn new<F, Fut>(env: &mut Environ, handler: F) -> Result<Self, NotUpgradable>
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Ok(Claim::take(env)?.with_handler(handler))
    }

    /// An empty-bodied response with `status` and `headers` that carries
    /// this hijack. `status` must be `101`, or `2xx` for a `CONNECT`.
    pub fn into_response(self, status: StatusCode, headers: HeaderMap) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = status;
        *res.headers_mut() = headers;
        res.extensions_mut().insert(self);
        res
    }

    fn take(&self) -> Option<(OnUpgrade, Handler)> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl fmt::Debug for Hijack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hijack").finish_non_exhaustive()
    }
}

/// The connection's upgrade, claimed before the handler is known (so that
/// handshake checks can run first).
#[derive(Debug)]
pub(crate) struct Claim {
    on_upgrade: OnUpgrade,
}

impl Claim {
    pub(crate) fn take(env: &mut Environ) -> Result<Claim, NotUpgradable> {
        let on_upgrade = env
            .extensions_mut()
            .remove::<OnUpgrade>()
            .ok_or(NotUpgradable { _priv: () })?;
        Ok(Claim { on_upgrade })
    }

    pub(crate) fn with_handler<F, Fut>(self, handler: F) -> Hijack
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Box::new(move |io| Box::pin(handler(io)));
        Hijack {
            slot: Arc::new(Mutex::new(Some((self.on_upgrade, handler)))),
        }
    }
}

/// The connection cannot be taken over (see [`Hijack::new`]).
#[derive(Debug)]
pub struct NotUpgradable {
    _priv: (),
}

impl NotUpgradable {
    /// A `400 Bad Request` that says why.
    pub fn into_response(self) -> Response {
        status_page(StatusCode::BAD_REQUEST, &self.to_string())
    }
}

impl fmt::Display for NotUpgradable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "this connection cannot be taken over: the request is not an HTTP/1.1 Upgrade or CONNECT \
             (WebSockets over HTTP/2 are not supported)",
        )
    }
}

impl std::error::Error for NotUpgradable {}

/// Whether [`start`] began a hijack with the response it returns.
pub(crate) enum Started {
    Yes(Response),
    No(Response),
}

/// `res`, answering `method`, will take the connection over: an upgrade
/// (spec 5.2) that carries a [`Hijack`]. What follows its head is not HTTP.
pub(crate) fn takes_over(res: &Response, method: &Method) -> bool {
    is_upgrade(res.status(), method) && res.extensions().get::<Hijack>().is_some()
}

/// Called by the server with the app's final response: starts the hijack
/// when the response is an upgrade that carries one (spec 5.2), drops it
/// when middleware changed the response into something else (spec 5.4).
///
/// `keep` is whatever must live as long as the connection (the server's
/// connection-limit permit): it moves into the handler's task.
pub(crate) fn start(
    mut res: Response,
    method: &Method,
    registry: &Registry,
    keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
) -> Result<Started, &'static str> {
    let upgrade = is_upgrade(res.status(), method);
    let hijack = res.extensions_mut().remove::<Hijack>();
    match (upgrade, hijack.and_then(|h| h.take())) {
        (true, Some((on_upgrade, handler))) => {
            let shutdown = registry.signal();
            let kept = keep();
            registry.spawn(async move {
                let _kept = kept;
                match on_upgrade.await {
                    Ok(io) => {
                        let handler = AssertUnwindSafe(handler(Upgraded::new(io, shutdown)));
                        if let Err(panic) = handler.catch_unwind().await {
                            let msg = crate::error::panic_message(&panic);
                            tracing::error!(panic = %msg, "hijack handler panicked; connection closed");
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "connection closed before the upgrade completed")
                    }
                }
            });
            Ok(Started::Yes(res))
        }
        (true, None) => Err("the app sent an upgrade response without a hijack handler (spec 5.3)"),
        (false, Some(_)) => {
            tracing::debug!(status = %res.status(), "response is not an upgrade; hijack handler dropped (spec 5.4)");
            Ok(Started::No(res))
        }
        (false, None) => Ok(Started::No(res)),
    }
}
