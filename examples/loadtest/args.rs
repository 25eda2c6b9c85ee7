//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::serve::Served;
use crate::target::Target;
use crate::workloads::Workload;

pub(crate) const USAGE: &str = "\
usage: loadtest [--seconds N] [--only WORKLOAD] [--target NAME]... [--idle N] [--quick] [--no-pin]
                [--markdown PATH] [--instructions] [--ops N]
       loadtest --serve SERVER [--port N] [--seconds N] [--no-pin]

  --seconds N      length of each timed workload, in seconds (default 3; decimals allowed)
  --only WORKLOAD  run one workload: hello, stream, ws-small, ws-large, ws-idle, ws-handshake
  --target NAME    run only this column (repeatable): baseline, baseline-ws-4k, gateway-return,
                   gateway-callback, gateway-blocking, gateway-ws
  --idle N         idle WebSockets to open for ws-idle (default 2000, at most 100000); when one
                   process's `ulimit -n` cannot hold them, servers and clients run as several
                   processes, the servers sharing one port
  --quick          a smoke run of about 20 s: 1 s per workload, 200 idle WebSockets
  --no-pin         do not pin the server to CPU 0 and the client to CPU 1
  --markdown PATH  also write the table to PATH
  --instructions   instead of timing, count each server's instructions per operation under
                   valgrind's callgrind (needs valgrind; a few minutes): unlike time, the count
                   does not depend on what else the host is doing
  --ops N          counted mode: each timed workload makes exactly N operations, one at a time
                   over one connection (what --instructions runs under callgrind); with
                   --instructions, N operations per workload instead of its default
  --serve SERVER   run one server alone for a load tool of your own (wrk, oha, ...), pinned to
                   CPU 0, until Ctrl-C (or --seconds); it then prints its CPU time. SERVER is
                   baseline, baseline-ws-4k, gateway (the app tree behind the demo's middleware
                   stack, as in every gateway column) or gateway-bare (without the stack)
  --port N         the port --serve listens on, on 127.0.0.1 (default 7400)";

/// What to run, as the flags asked.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) seconds: Duration,
    pub(crate) only: Option<Workload>,
    /// The columns to run; empty means all.
    pub(crate) targets: Vec<Target>,
    pub(crate) idle: usize,
    pub(crate) pin: bool,
    pub(crate) markdown: Option<PathBuf>,
    pub(crate) instructions: bool,
    pub(crate) ops: Option<u64>,
    /// `--serve`: run this server alone instead of the workloads.
    pub(crate) serve: Option<Served>,
    pub(crate) port: u16,
    /// `--seconds` as given, for `--serve` (which otherwise runs until
    /// Ctrl-C).
    pub(crate) serve_seconds: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seconds: Duration::from_secs(3),
            only: None,
            targets: Vec::new(),
            idle: 2000,
            pin: true,
            markdown: None,
            instructions: false,
            ops: None,
            serve: None,
            port: 7400,
            serve_seconds: None,
        }
    }
}

/// The most one workload may take: beyond a few minutes a run is a
/// mistake, and the benchmark must stop by itself.
const MAX_SECONDS: f64 = 300.0;
/// Each idle WebSocket costs a descriptor in a server and a client process,
/// and a loopback port.
const MAX_IDLE: usize = 100_000;
/// Counted runs are for callgrind, which runs some fifty times slower.
const MAX_OPS: u64 = 1_000_000;

impl Options {
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut opts = Options::default();
        let mut quick = false;
        let mut seconds = None;
        let mut idle = None;
        let mut port_given = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--seconds" => seconds = Some(parse_seconds(&value("--seconds")?)?),
                "--only" => {
                    let v = value("--only")?;
                    let workload = Workload::from_name(&v);
                    let names = Workload::names();
                    opts.only = Some(workload.ok_or_else(|| {
                        format!("--only: no workload named {v:?}; one of {names}")
                    })?);
                }
                "--target" => {
                    let v = value("--target")?;
                    let target = Target::from_name(&v).ok_or_else(|| {
                        format!(
                            "--target: no column named {v:?}; one of {}",
                            Target::names()
                        )
                    })?;
                    opts.targets.push(target);
                }
                "--idle" => idle = Some(parse_idle(&value("--idle")?)?),
                "--quick" => quick = true,
                "--no-pin" => opts.pin = false,
                "--markdown" => opts.markdown = Some(value("--markdown")?.into()),
                "--instructions" => opts.instructions = true,
                "--ops" => opts.ops = Some(parse_ops(&value("--ops")?)?),
                "--serve" => {
                    let v = value("--serve")?;
                    opts.serve = Some(Served::from_name(&v).ok_or_else(|| {
                        format!("--serve: no server named {v:?}; one of {}", Served::names())
                    })?);
                }
                "--port" => {
                    port_given = true;
                    let v = value("--port")?;
                    opts.port = v
                        .parse()
                        .map_err(|_| format!("--port: {v:?} is not a port number"))?;
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        if quick {
            opts.seconds = Duration::from_secs(1);
            opts.idle = 200;
        }
        // Explicit values win over --quick's.
        if let Some(s) = seconds {
            opts.seconds = s;
        }
        opts.serve_seconds = seconds;
        let serving = opts.serve.is_some();
        if port_given && !serving {
            return Err(format!("--port goes with --serve\n{USAGE}"));
        }
        if serving && (opts.instructions || opts.ops.is_some()) {
            return Err(format!(
                "--serve runs no workload: no --instructions or --ops with it\n{USAGE}"
            ));
        }
        if let Some(n) = idle {
            opts.idle = n;
        }
        Ok(opts)
    }
}

fn parse_seconds(v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= MAX_SECONDS => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "--seconds: {v:?} is not a number of seconds from 0 to {MAX_SECONDS}"
        )),
    }
}

fn parse_idle(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_IDLE).contains(&n) => Ok(n),
        _ => Err(format!(
            "--idle: {v:?} is not a whole number from 1 to {MAX_IDLE}"
        )),
    }
}

fn parse_ops(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (1..=MAX_OPS).contains(&n) => Ok(n),
        _ => Err(format!(
            "--ops: {v:?} is not a whole number from 1 to {MAX_OPS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn counted_mode_takes_a_bounded_whole_number() {
        let opts = parse(&["--ops", "2000", "--instructions"]).unwrap();
        assert_eq!(opts.ops, Some(2000));
        assert!(opts.instructions);
        assert!(parse(&["--ops", "0"]).is_err());
        assert!(parse(&["--ops", "1.5"]).is_err());
        assert!(parse(&["--ops", "1000001"]).is_err());
        assert_eq!(parse(&[]).unwrap().ops, None);
    }

    #[test]
    fn serve_takes_a_server_a_port_and_seconds_only_when_given() {
        let opts = parse(&["--serve", "gateway-bare", "--port", "7401"]).unwrap();
        assert_eq!(opts.serve, Some(Served::GatewayBare));
        assert_eq!(opts.port, 7401);
        assert_eq!(opts.serve_seconds, None, "until Ctrl-C");
        let opts = parse(&["--serve", "baseline", "--seconds", "9"]).unwrap();
        assert_eq!(opts.serve, Some(Served::Baseline));
        assert_eq!(opts.port, 7400);
        assert_eq!(opts.serve_seconds, Some(Duration::from_secs(9)));
        assert!(parse(&["--serve", "gateway-return"]).is_err());
        assert!(parse(&["--serve", "gateway", "--port", "70000"]).is_err());
        assert!(
            parse(&["--port", "7401"]).is_err(),
            "a port but nothing to serve"
        );
        assert!(parse(&["--serve", "gateway", "--instructions"]).is_err());
        assert_eq!(parse(&[]).unwrap().serve, None);
    }
}
