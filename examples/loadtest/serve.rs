//! `--serve`: one column's server alone, for a load tool of your own (wrk,
//! oha, h2load, a WebSocket client) to drive, on the same terms as the
//! built-in client: one runtime thread pinned to the first CPU. It runs until
//! Ctrl-C (or `--seconds`), then prints the CPU time the server used, so a
//! tool's request count becomes requests per server CPU-second.
//!
//! ```text
//! cargo run --release --example loadtest -- --serve baseline --port 7400 &
//! taskset -c 1 wrk -t1 -c64 -d10s http://127.0.0.1:7400/hello
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use core_affinity::CoreId;

use crate::args::Options;
use crate::payload::Payload;
use crate::server_thread::{Listen, ServerThread};
use crate::target::Target;

/// The longest a server runs without `--seconds`: the benchmark stops by
/// itself even when nobody presses Ctrl-C.
const SERVE_LIMIT: Duration = Duration::from_secs(3600);

/// Connections the server accepts at once: as many as a load tool opens.
const MAX_CONNECTIONS: usize = 10_000;

/// A server `--serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// Raw hyper (tungstenite's default `WebSocketConfig`).
    Baseline,
    /// Raw hyper with a 4 KiB WebSocket read buffer.
    BaselineWs4k,
    /// gateway's app tree behind the demo's middleware stack, as in every
    /// gateway column.
    Gateway,
    /// The same app tree without the middleware stack: what the stack
    /// costs is the difference.
    GatewayBare,
}

impl Served {
    const ALL: [Served; 4] = [
        Served::Baseline,
        Served::BaselineWs4k,
        Served::Gateway,
        Served::GatewayBare,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Served> {
        Served::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn names() -> String {
        Served::ALL.map(Served::name).join(", ")
    }

    fn name(self) -> &'static str {
        match self {
            Served::Baseline => "baseline",
            Served::BaselineWs4k => "baseline-ws-4k",
            Served::Gateway => "gateway",
            Served::GatewayBare => "gateway-bare",
        }
    }

    fn paths(self) -> &'static str {
        match self {
            Served::Baseline | Served::BaselineWs4k => "/hello, /stream, /ws",
            Served::Gateway | Served::GatewayBare => {
                "/hello, /stream, /legacy/hello, /legacy/stream, /sync/hello, /sync/stream, /ws"
            }
        }
    }

    fn start(self, core: Option<CoreId>, listen: Listen) -> std::io::Result<ServerThread> {
        let target = match self {
            Served::Baseline => Target::Baseline,
            Served::BaselineWs4k => Target::BaselineWs4k,
            // Every gateway column serves the same app.
            Served::Gateway => Target::GatewayReturn,
            Served::GatewayBare => {
                let payload = Payload::new();
                return ServerThread::spawn(self.name(), core, listen, move |listener, stop| {
                    crate::gateway_app::serve_bare(listener, payload, MAX_CONNECTIONS, stop)
                });
            }
        };
        target.start(core, MAX_CONNECTIONS, listen)
    }
}

/// Serves `served` on 127.0.0.1:`port` until Ctrl-C or `opts.seconds`.
pub(crate) fn main(opts: &Options, served: Served, port: u16) -> ExitCode {
    let core = if opts.pin {
        core_affinity::get_core_ids().and_then(|ids| ids.first().copied())
    } else {
        None
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let limit = opts.serve_seconds.unwrap_or(SERVE_LIMIT);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Not shared: a second server on the port would take some of the
        // load while only this one's CPU time is read.
        let server = match served.start(core, Listen::Exclusive(addr)) {
            Ok(server) => server,
            Err(e) => {
                eprintln!("{}: cannot serve on {addr}: {e}", served.name());
                return ExitCode::FAILURE;
            }
        };
        let pinned = core.map_or("not pinned".to_owned(), |c| {
            format!("pinned to CPU {}", c.id)
        });
        println!("{} on http://{} ({pinned})", served.name(), server.addr());
        println!("paths: {}", served.paths());
        println!("Ctrl-C stops it and prints the server's CPU time.");
        let started = Instant::now();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = tokio::time::sleep(limit) => {}
        }
        let cpu = server.cpu_time();
        println!(
            "{}: {:.2} s of CPU in {:.1} s",
            served.name(),
            cpu.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        server.stop().await;
        ExitCode::SUCCESS
    })
}
