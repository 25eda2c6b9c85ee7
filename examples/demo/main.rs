//! The gateway demo server: return-style and callback-style apps side by
//! side on one port.
//!
//! ```text
//! cargo run --release --example demo                       # http://127.0.0.1:7000
//! cargo run --release --example demo -- --addr 0.0.0.0:8080
//! ```

mod app;

use std::net::SocketAddr;
use std::process::ExitCode;

use gateway::server::Server;

const USAGE: &str = "usage: demo [--addr HOST:PORT]   (default 127.0.0.1:7000)";

fn parse_args() -> Result<SocketAddr, String> {
    let mut addr: SocketAddr = "127.0.0.1:7000".parse().expect("valid default");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args
                    .next()
                    .ok_or("--addr needs a value, e.g. --addr 127.0.0.1:7000")?;
                addr = value.parse().map_err(|_| {
                    format!("--addr: {value:?} is not HOST:PORT, e.g. 127.0.0.1:7000")
                })?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(addr)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let listener = match gateway::server::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            if e.kind() == std::io::ErrorKind::AddrInUse {
                eprintln!(
                    "hint: another program uses that port; pick another with --addr 127.0.0.1:PORT"
                );
            }
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("gateway demo listening on http://{addr}/ (Ctrl-C to stop)");
    match Server::new(app::app())
        .serve_with_shutdown(listener, shutdown_signal())
        .await
    {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
