//! The columns of the table: which server, and which of its paths, a
//! workload runs against.

use std::io;

use core_affinity::CoreId;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::payload::Payload;
use crate::server_thread::{Listen, ServerThread};

/// One column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Raw hyper; its WebSocket runs tungstenite's default `WebSocketConfig`.
    Baseline,
    /// Raw hyper with a 4 KiB WebSocket read buffer: the idle-memory
    /// setting to compare gateway's endpoint with.
    BaselineWs4k,
    /// gateway, a return-style app.
    GatewayReturn,
    /// gateway, a callback-style app through `two_to_one`.
    GatewayCallback,
    /// gateway, a blocking callback-style app on the blocking pool.
    GatewayBlocking,
    /// gateway's WebSocket endpoint.
    GatewayWs,
}

/// What a workload speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http,
    WebSocket,
}

impl Target {
    /// Every column, in table order; the first is the one ratios are taken
    /// against.
    pub(crate) const ALL: [Target; 6] = [
        Target::Baseline,
        Target::BaselineWs4k,
        Target::GatewayReturn,
        Target::GatewayCallback,
        Target::GatewayBlocking,
        Target::GatewayWs,
    ];

    /// The name the idle-server mode takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Baseline => "baseline",
            Target::BaselineWs4k => "baseline-ws-4k",
            Target::GatewayReturn => "gateway-return",
            Target::GatewayCallback => "gateway-callback",
            Target::GatewayBlocking => "gateway-blocking",
            Target::GatewayWs => "gateway-ws",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Every name [`from_name`](Target::from_name) takes, for messages.
    pub(crate) fn names() -> String {
        Target::ALL.map(Target::name).join(", ")
    }

    /// How the table names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Target::Baseline => "baseline",
            Target::BaselineWs4k => "baseline ws 4 KiB",
            Target::GatewayReturn => "gateway return",
            Target::GatewayCallback => "gateway callback",
            Target::GatewayBlocking => "gateway blocking",
            Target::GatewayWs => "gateway ws",
        }
    }

    /// Whether this column has a figure for workloads of `protocol`.
    pub(crate) fn serves(self, protocol: Protocol) -> bool {
        match self {
            Target::Baseline => true,
            Target::BaselineWs4k | Target::GatewayWs => protocol == Protocol::WebSocket,
            Target::GatewayReturn | Target::GatewayCallback | Target::GatewayBlocking => {
                protocol == Protocol::Http
            }
        }
    }

    pub(crate) fn hello_path(self) -> &'static str {
        match self {
            Target::GatewayCallback => "/legacy/hello",
            Target::GatewayBlocking => "/sync/hello",
            _ => "/hello",
        }
    }

    pub(crate) fn stream_path(self) -> &'static str {
        match self {
            Target::GatewayCallback => "/legacy/stream",
            Target::GatewayBlocking => "/sync/stream",
            _ => "/stream",
        }
    }

    pub(crate) fn ws_path(self) -> &'static str {
        "/ws"
    }

    /// Starts a fresh server for this column on `core`.
    pub(crate) fn start(
        self,
        core: Option<CoreId>,
        max_connections: usize,
        listen: Listen,
    ) -> io::Result<ServerThread> {
        let payload = Payload::new();
        match self {
            Target::Baseline => {
                ServerThread::spawn(self.name(), core, listen, move |listener, stop| {
                    crate::baseline::serve(listener, WebSocketConfig::default(), payload, stop)
                })
            }
            Target::BaselineWs4k => {
                let config = WebSocketConfig::default().read_buffer_size(4 << 10);
                ServerThread::spawn(self.name(), core, listen, move |listener, stop| {
                    crate::baseline::serve(listener, config, payload, stop)
                })
            }
            Target::GatewayReturn
            | Target::GatewayCallback
            | Target::GatewayBlocking
            | Target::GatewayWs => {
                ServerThread::spawn(self.name(), core, listen, move |listener, stop| {
                    crate::gateway_app::serve(listener, payload, max_connections, stop)
                })
            }
        }
    }
}
