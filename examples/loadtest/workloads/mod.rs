//! The workloads: the rows of the table.
//!
//! Each starts a fresh server for its column, checks that it answers
//! correctly, then drives it from this process's client runtime for the
//! time asked, reading the server threads' CPU time around the measured
//! window.

mod drive;
mod http;
mod ws_echo;
mod ws_handshake;
mod ws_idle;

use std::time::Duration;

use core_affinity::CoreId;
use gateway::BoxError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub(crate) use drive::{drive, Op};
pub(crate) use ws_idle::check_descriptors;

use crate::server_thread::Listen;
use crate::target::{Protocol, Target};

/// One row group of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// `GET /hello` over 64 keep-alive connections.
    Hello,
    /// `GET /stream` (1 MiB) over 8 keep-alive connections.
    Stream,
    /// 32-byte WebSocket echoes over 64 connections.
    WsSmall,
    /// 64 KiB WebSocket echoes over 8 connections.
    WsLarge,
    /// Idle WebSockets held open: the server's memory per connection.
    WsIdle,
    /// Connect, handshake, close, over 16 concurrent clients.
    WsHandshake,
}

/// What a workload run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measurement {
    /// Requests, echoes or handshakes completed.
    pub(crate) ops: u64,
    /// Payload bytes received by the client.
    pub(crate) bytes: u64,
    /// The measured window (until the last worker finished).
    pub(crate) elapsed: Duration,
    /// CPU time the server's threads used in that window.
    pub(crate) server_cpu: Duration,
    /// CPU time the client's thread used in that window: near the window
    /// itself, the client was the bottleneck.
    pub(crate) client_cpu: Duration,
    pub(crate) p99: Option<Duration>,
    /// For idle WebSockets: the server processes' memory per connection.
    pub(crate) kib_per_conn: Option<f64>,
    /// For idle WebSockets: the server processes' whole resident memory
    /// with every connection open.
    pub(crate) server_rss_kib: Option<u64>,
    /// For idle WebSockets: how many server processes shared the port.
    pub(crate) server_processes: Option<usize>,
}

/// What every workload run needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// How long a timed workload measures.
    pub(crate) window: Duration,
    /// How many idle WebSockets to open.
    pub(crate) idle: usize,
    /// Where the server runs (the client runs on this thread, pinned
    /// elsewhere).
    pub(crate) server_core: Option<CoreId>,
    /// The client's thread (this one), whose CPU time is read too.
    pub(crate) client_tid: Option<u32>,
    /// Counted mode (`--ops`): exactly this many operations, one at a
    /// time over one connection, however long they take.
    pub(crate) ops: Option<u64>,
}

impl Settings {
    /// How many connections (or clients) a workload that would use `n`
    /// opens: one in counted mode.
    pub(crate) fn connections(&self, n: usize) -> usize {
        if self.ops.is_some() {
            1
        } else {
            n
        }
    }

    /// The WebSocket client's settings: tungstenite's defaults, but in
    /// counted mode a 4 KiB read buffer, so that the client's zero-filling
    /// of 128 KiB per read does not swamp the servers' counts.
    pub(crate) fn ws_client_config(&self) -> Option<WebSocketConfig> {
        self.ops
            .map(|_| WebSocketConfig::default().read_buffer_size(4 << 10))
    }
}

impl Workload {
    pub(crate) const ALL: [Workload; 6] = [
        Workload::Hello,
        Workload::Stream,
        Workload::WsSmall,
        Workload::WsLarge,
        Workload::WsIdle,
        Workload::WsHandshake,
    ];

    /// The name `--only` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Hello => "hello",
            Workload::Stream => "stream",
            Workload::WsSmall => "ws-small",
            Workload::WsLarge => "ws-large",
            Workload::WsIdle => "ws-idle",
            Workload::WsHandshake => "ws-handshake",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    pub(crate) fn names() -> String {
        Workload::ALL.map(Workload::name).join(", ")
    }

    /// Connections (or clients) it keeps busy in a timed run; none for the
    /// idle workload, whose count is `--idle`.
    fn connections(self) -> usize {
        match self {
            Workload::Hello => http::HELLO_CONNECTIONS,
            Workload::Stream => http::STREAM_CONNECTIONS,
            Workload::WsSmall => ws_echo::SMALL_CONNECTIONS,
            Workload::WsLarge => ws_echo::LARGE_CONNECTIONS,
            Workload::WsIdle => 0,
            Workload::WsHandshake => ws_handshake::CLIENTS,
        }
    }

    /// How the table names it.
    pub(crate) fn title(self, settings: &Settings) -> String {
        let n = settings.connections(self.connections());
        match self {
            Workload::Hello => format!("hello, {n} conns"),
            Workload::Stream => format!("1 MiB stream, {n} conns"),
            Workload::WsSmall => format!("ws echo 32 B, {n} conns"),
            Workload::WsLarge => format!("ws echo 64 KiB, {n} conns"),
            Workload::WsIdle => format!("{} idle ws", settings.idle),
            Workload::WsHandshake => format!("ws handshakes, {n} clients"),
        }
    }

    /// Whether it repeats an operation (all but the idle connections).
    pub(crate) fn is_timed(self) -> bool {
        self != Workload::WsIdle
    }

    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Workload::Hello | Workload::Stream => Protocol::Http,
            _ => Protocol::WebSocket,
        }
    }

    /// Starts `target`'s server, checks it, measures, stops it.
    pub(crate) async fn run(
        self,
        target: Target,
        settings: &Settings,
    ) -> Result<Measurement, BoxError> {
        if self == Workload::WsIdle {
            // Runs its server in a child process of its own.
            return ws_idle::idle(target, settings).await;
        }
        // gateway's default; no workload here holds more than 64 at once.
        let server = target.start(settings.server_core, 10_000, Listen::Fresh)?;
        let result = match self {
            Workload::Hello => http::hello(&server, target, settings).await,
            Workload::Stream => http::stream(&server, target, settings).await,
            Workload::WsSmall => ws_echo::small(&server, target, settings).await,
            Workload::WsLarge => ws_echo::large(&server, target, settings).await,
            Workload::WsIdle => unreachable!("handled above"),
            Workload::WsHandshake => ws_handshake::handshakes(&server, target, settings).await,
        };
        server.stop().await;
        result
    }
}
