use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::config::Config;
use super::handshake::Upgrade;
use super::socket::WebSocket;
use crate::app::{App, BoxApp, Response};
use crate::environ::Environ;

/// Serves a WebSocket handler as an [`App`]; made by [`endpoint`](super::endpoint).
///
/// Valid handshakes run the handler; invalid ones get a 4xx saying why;
/// plain HTTP requests get `426 Upgrade Required`, or go to the
/// [fallback](Endpoint::fallback) app when there is one (so a page and its
/// WebSocket can share a URL).
pub struct Endpoint<H> {
    handler: Arc<H>,
    config: Config,
    fallback: Option<BoxApp>,
}

impl<H> Endpoint<H> {
    pub(crate) fn new(handler: H) -> Self {
        Endpoint {
            handler: Arc::new(handler),
            config: Config::default(),
            fallback: None,
        }
    }

    /// Replaces the [`Config`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The app for plain (non-WebSocket) requests to this endpoint, instead
    /// of `426 Upgrade Required`.
    pub fn fallback(mut self, app: impl App) -> Self {
        self.fallback = Some(BoxApp::new(app));
        self
    }
}

impl<H, Fut> App for Endpoint<H>
where
    H: Fn(WebSocket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    async fn call(&self, mut env: Environ) -> Response {
        match Upgrade::from_environ(&mut env, &self.config) {
            Ok(upgrade) => {
                let handler = self.handler.clone();
                upgrade.on_upgrade(move |ws| handler(ws))
            }
            Err(rejection) => match &self.fallback {
                Some(app) if rejection.is_not_websocket() => app.call(env).await,
                _ => rejection.into_response(),
            },
        }
    }
}

impl<H> fmt::Debug for Endpoint<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("config", &self.config)
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}
