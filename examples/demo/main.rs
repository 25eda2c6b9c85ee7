//! The gateway demo server: return-style and callback-style apps side by
//! side on one port.
//!
//! ```text
//! cargo run --release --example demo                       # http://127.0.0.1:7000
//! cargo run --release --example demo -- --addr 0.0.0.0:8080
//! cargo run --release --example demo -- --cert cert.pem --key key.pem   # https://, wss://
//! ```

mod app;
mod args;

use std::process::ExitCode;

use gateway::server::{Server, TlsConfig};

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        // A handler that cannot be installed must not read as a Ctrl-C.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    // RUST_LOG, when set, decides; otherwise INFO, with the access log
    // unless it was turned off.
    let default_filter = match args.access_log {
        true => "info",
        false => "info,gateway::access=off",
    };
    tracing_subscriber::fmt()
        // Colours for a terminal only, not for a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let addr = args.addr;
    // Read the certificate before binding, so a typo fails at once.
    let tls = match &args.tls {
        None => None,
        Some((cert, key)) => match TlsConfig::from_pem_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
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
    let mut server = Server::new(app::app());
    let scheme = match tls {
        Some(tls) => {
            server = server.tls(tls);
            "https"
        }
        None => "http",
    };
    tracing::info!("gateway demo listening on {scheme}://{addr}/ (Ctrl-C to stop)");
    // The first Ctrl-C (or SIGTERM) drains gracefully; a second one, as
    // with uvicorn or gunicorn, stops at once.
    let first = async {
        shutdown_signal().await;
        tokio::spawn(async {
            shutdown_signal().await;
            eprintln!("second signal: exiting without waiting");
            std::process::exit(130);
        });
    };
    match server.serve_with_shutdown(listener, first).await {
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
