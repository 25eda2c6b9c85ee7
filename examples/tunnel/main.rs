//! An HTTP CONNECT tunnel restricted to an allow-list of targets.
//!
//! ```text
//! cargo run --example tunnel -- --addr 127.0.0.1:7001 --allow 127.0.0.1:7000
//! curl -p -x http://127.0.0.1:7001 http://127.0.0.1:7000/hello
//! ```

mod app;

use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: tunnel [--addr HOST:PORT] --allow HOST:PORT [--allow HOST:PORT ...]";

fn parse_args() -> Result<(SocketAddr, Vec<String>), String> {
    let mut addr: SocketAddr = "127.0.0.1:7001".parse().expect("valid default");
    let mut allowed = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let v = args.next().ok_or("--addr needs HOST:PORT")?;
                addr = v
                    .parse()
                    .map_err(|_| format!("--addr: {v:?} is not HOST:PORT"))?;
            }
            "--allow" => allowed.push(args.next().ok_or("--allow needs HOST:PORT")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if allowed.is_empty() {
        return Err(format!(
            "no target allowed: give at least one --allow\n{USAGE}"
        ));
    }
    Ok((addr, allowed))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (addr, allowed) = match parse_args() {
        Ok(parsed) => parsed,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let listener = match gateway::server::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(?allowed, "CONNECT tunnel on http://{addr}/");
    match gateway::serve(listener, app::app(allowed)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
