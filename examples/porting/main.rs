//! A WSGI app ported step by step, every step served side by side:
//!
//! ```text
//! cargo run --example porting
//! curl 'http://127.0.0.1:7002/step1?name=Ada'   # callback style, write() + body
//! curl 'http://127.0.0.1:7002/step1b?name=Ada'  # the same, blocking code
//! curl 'http://127.0.0.1:7002/step2?name=Ada'   # callback style, returned body
//! curl 'http://127.0.0.1:7002/step3?name=Ada'   # return style
//! ```

mod app;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt::init();
    // `cargo run --example porting -- 127.0.0.1:8002` to listen elsewhere.
    let addr = match std::env::args().nth(1) {
        None => "127.0.0.1:7002".parse().expect("valid address"),
        Some(arg) => match arg.parse() {
            Ok(addr) => addr,
            Err(_) => {
                eprintln!("usage: porting [HOST:PORT]   (default 127.0.0.1:7002)");
                std::process::exit(2);
            }
        },
    };
    let listener = gateway::server::bind(addr)?;
    tracing::info!("porting example on http://{addr}/step1?name=Ada");
    gateway::serve(listener, app::app()).await
}
