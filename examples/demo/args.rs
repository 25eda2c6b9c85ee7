//! The demo's command line, kept apart from `main` so tests can check it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

pub(crate) const USAGE: &str =
    "usage: demo [--addr HOST:PORT] [--cert CERT.pem --key KEY.pem] [--no-access-log]   (default 127.0.0.1:7000, plain HTTP)";

/// What the demo was asked to do.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) addr: SocketAddr,
    /// The certificate and key PEM files, when serving HTTPS.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    /// Log one line per request (off for load tests: a line per request to
    /// a terminal costs more than the request).
    pub(crate) access_log: bool,
}

/// Parses the arguments after the program name; an `Err` is the message
/// for a usage error.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut addr: SocketAddr = "127.0.0.1:7000".parse().expect("valid default");
    let (mut cert, mut key) = (None, None);
    let mut access_log = true;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args
                    .next()
                    .ok_or("--addr needs a value, e.g. --addr 127.0.0.1:7000")?;
                // An address, or a name to look up (`localhost:7000`).
                addr = value
                    .parse()
                    .ok()
                    .or_else(|| value.to_socket_addrs().ok()?.next())
                    .ok_or_else(|| {
                        format!("--addr: {value:?} is not HOST:PORT, e.g. 127.0.0.1:7000")
                    })?;
            }
            "--cert" => cert = Some(args.next().ok_or("--cert needs a PEM file")?.into()),
            "--key" => key = Some(args.next().ok_or("--key needs a PEM file")?.into()),
            "--no-access-log" => access_log = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => return Err(format!("--cert needs --key too\n{USAGE}")),
        (None, Some(_)) => return Err(format!("--key needs --cert too\n{USAGE}")),
    };
    Ok(Args {
        addr,
        tls,
        access_log,
    })
}
