use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use http::StatusCode;

use crate::app::{App, Response};
use crate::environ::Environ;
use crate::status_page::status_page;

/// Answers in the app's place when it has not produced its response (the
/// status and headers) within a time limit: `503 Service Unavailable` by
/// default. An app stuck on a dead upstream or a lock would otherwise hold
/// its client, and its connection, for as long as the client waits.
///
/// The app's future is dropped, which cancels an async app where it
/// waits. A blocking app's thread cannot be stopped: it runs on, and its
/// writes fail as for a client that went away (spec 10.4). The body is not
/// timed: a long stream runs as long as it streams, and the server's
/// `write_timeout` bounds a client that stops taking it. Hijacks are not
/// affected once their upgrade response is out.
///
/// ```
/// use std::time::Duration;
/// use gateway::middleware::{CatchErrors, Timeout};
/// # use gateway::{Body, Environ, Response};
/// # let app = |_env: Environ| async { Response::new(Body::from("hi")) };
/// // Inside CatchErrors, so that the 503 gets its error page.
/// let app = CatchErrors::new(Timeout::new(app, Duration::from_secs(30)));
/// ```
pub struct Timeout<A> {
    inner: A,
    limit: Duration,
    status: StatusCode,
}

impl<A: App> Timeout<A> {
    /// Wraps `app`, answering `503` when it takes longer than `limit` to
    /// answer.
    pub fn new(app: A, limit: Duration) -> Self {
        Timeout {
            inner: app,
            limit,
            status: StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Answers with `status` instead of `503` (`504 Gateway Timeout` for an
    /// app that is itself a gateway, say).
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl<A: App> App for Timeout<A> {
    // Not an `async fn`: see the note in `middleware/mod.rs`.
    fn call(&self, env: Environ) -> impl Future<Output = Response> + Send {
        let (limit, status) = (self.limit, self.status);
        tokio::time::timeout(limit, self.inner.call(env)).map(move |answer| match answer {
            Ok(res) => res,
            Err(_) => {
                tracing::warn!(
                    ?limit,
                    status = status.as_u16(),
                    "app did not answer in time"
                );
                status_page(
                    status,
                    &format!("The application did not answer within {limit:?}."),
                )
            }
        })
    }
}

impl<A> fmt::Debug for Timeout<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("limit", &self.limit)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
