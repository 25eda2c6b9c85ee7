//! What a connection's driver needs of an endpoint's [`Config`].

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::config::Config;

/// What the driver needs of a [`Config`], copied out of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(super) ws: WebSocketConfig,
    pub(super) queue: usize,
    pub(super) timing: Timing,
}

/// The part of [`Settings`] the loop keeps for the connection's life.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub(super) ping_interval: Option<Duration>,
    pub(super) ping_timeout: Duration,
    pub(super) close_timeout: Duration,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            ws: c.tungstenite(),
            queue: c.queue,
            timing: Timing {
                ping_interval: c.ping_interval,
                ping_timeout: c.ping_timeout,
                close_timeout: c.close_timeout,
            },
        }
    }
}
