//! A WSGI app ported step by step, every step served side by side:
//!
//! ```text
//! cargo run --example porting                   # http://127.0.0.1:7002/ lists the steps
//! curl 'http://127.0.0.1:7002/step1?name=Ada'   # callback style, write() + body
//! curl 'http://127.0.0.1:7002/step1b?name=Ada'  # the same, blocking code
//! curl 'http://127.0.0.1:7002/step2?name=Ada'   # callback style, returned body
//! curl 'http://127.0.0.1:7002/step3?name=Ada'   # return style
//! ```

mod app;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG, when set, decides; otherwise INFO, so that the address
    // shows without it.
    tracing_subscriber::fmt()
        // Colours for a terminal only, not for a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // `cargo run --example porting -- 127.0.0.1:8002` to listen elsewhere.
    let addr = match std::env::args().nth(1) {
        None => "127.0.0.1:7002".parse().expect("valid address"),
        Some(arg) => match arg.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("usage: porting [HOST:PORT]   (default 127.0.0.1:7002)");
                return ExitCode::from(2);
            }
        },
    };
    let listener = match gateway::server::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            // One line a person can act on, not the error's Debug form.
            eprintln!(
                "error: cannot listen on {addr}: {e}; try another, e.g. `cargo run --example porting -- 127.0.0.1:8002`"
            );
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("porting example on http://{addr}/ (the steps: /step1?name=Ada and on)");
    match gateway::serve(listener, app::app()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
