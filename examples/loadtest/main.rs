//! The load benchmark: gateway against a raw-hyper baseline, in one run.
//!
//! ```text
//! cargo run --release --example loadtest                   # about a minute
//! cargo run --release --example loadtest -- --quick        # about 20 s
//! cargo run --release --example loadtest -- --only hello --seconds 10
//! cargo run --release --example loadtest -- --markdown load.md
//! cargo run --release --example loadtest -- --instructions  # callgrind, a few minutes
//! ```
//!
//! Each workload starts a fresh server on `127.0.0.1:0`, on a
//! current-thread runtime on a thread of its own pinned to CPU 0, and
//! drives it from this process's client runtime pinned to CPU 1 (`--no-pin`
//! to leave scheduling to the OS). Before measuring, every server's answers
//! are checked (bodies, echoes). Besides throughput and p99 latency, the
//! table gives the server thread's CPU time in the window, so that results
//! from a noisy host can be read "per server CPU-second".
//!
//! The idle-WebSocket workload runs its server in a child process (this
//! binary again, in a hidden mode), fresh for each column, so that the
//! server's memory growth is measured alone and untouched by what earlier
//! workloads freed; its clients run in child processes too. Each
//! connection takes a descriptor in a server and in a client process: when
//! `ulimit -n` cannot hold them all in one, the run spreads them over
//! several server processes sharing one port (`SO_REUSEPORT`) and as many
//! client processes, and sums their memory. The clients connect from
//! source addresses spread over 127.0.0.1 to 127.0.0.16, so that more
//! connections can be held than one address has ephemeral ports:
//!
//! ```text
//! cargo run --release --example loadtest -- --only ws-idle --idle 100000 --seconds 30
//! ```

mod args;
mod baseline;
mod child;
mod gateway_app;
mod http_client;
mod idle_client;
mod idle_server;
mod instructions;
mod latency;
mod payload;
mod procfs;
mod report;
mod serve;
mod server_thread;
mod target;
mod timeouts;
mod workloads;
mod ws_client;

use std::process::ExitCode;
use std::time::Duration;

use args::Options;
use report::{Run, Setup};
use target::Target;
use workloads::{Measurement, Settings, Workload};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(idle_server::FLAG) => return idle_server::main(&args[1..]),
        Some(idle_client::FLAG) => return idle_client::main(&args[1..]),
        _ => {}
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    let opts = match Options::parse(args) {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };

    if opts.instructions {
        return instructions::main(&opts);
    }
    if let Some(served) = opts.serve {
        return serve::main(&opts, served, opts.port);
    }

    // Before pinning, which narrows what this thread may use.
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (server_core, pinning) = pick_cores(opts.pin);
    let settings = Settings {
        window: opts.seconds,
        idle: opts.idle,
        server_core,
        client_tid: procfs::current_tid(),
        ops: opts.ops,
    };
    let setup = Setup {
        nproc,
        pinning,
        load_before: procfs::load_average(),
    };
    // The client runs on this thread; its runtime has no other.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the client runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runs = runtime.block_on(run_all(&opts, &settings));
    drop(runtime);

    let table = report::markdown(&runs, &settings, &setup);
    print!("{table}");
    if let Some(path) = &opts.markdown {
        if let Err(e) = std::fs::write(path, &table) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if runs.iter().any(|r| r.result.is_err()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Server on the first CPU this process may use, client (this thread) on
/// the second; no pinning with fewer than two. Returns the server's CPU and
/// a line for the report.
fn pick_cores(pin: bool) -> (Option<core_affinity::CoreId>, String) {
    if !pin {
        return (None, "not pinned (--no-pin)".to_owned());
    }
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    match cores[..] {
        [server, client, ..] if core_affinity::set_for_current(client) => (
            Some(server),
            format!(
                "server pinned to CPU {}, client to CPU {}",
                server.id, client.id
            ),
        ),
        [_, _, ..] => (None, "not pinned (setting the affinity failed)".to_owned()),
        _ => (None, "not pinned (fewer than 2 CPUs)".to_owned()),
    }
}

async fn run_all(opts: &Options, settings: &Settings) -> Vec<Run> {
    let mut runs = Vec::new();
    let workloads = Workload::ALL
        .into_iter()
        .filter(|w| opts.only.is_none_or(|only| only == *w))
        // Idle connections are not operations to count.
        .filter(|w| opts.ops.is_none() || w.is_timed());
    for workload in workloads {
        for target in Target::ALL {
            let chosen = opts.targets.is_empty() || opts.targets.contains(&target);
            if !chosen || !target.serves(workload.protocol()) {
                continue;
            }
            // Every step inside has its own timeout; this one only makes
            // sure the run ends whatever happens.
            let limit = match settings.ops {
                // Under callgrind, some fifty times slower than usual.
                Some(_) => Duration::from_secs(3600),
                None => {
                    settings.window
                        + Duration::from_secs(120)
                        + Duration::from_millis(10) * settings.idle as u32
                }
            };
            let result =
                match timeouts::within(limit, "the workload", workload.run(target, settings)).await
                {
                    Ok(Ok(m)) => Ok(m),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
            let head = format!("{:<13} {:<18}", workload.name(), target.label());
            match &result {
                Ok(Measurement {
                    ops,
                    kib_per_conn: Some(kib),
                    server_rss_kib,
                    server_processes,
                    ..
                }) => eprintln!(
                    "{head} {ops} connections, {kib:.1} KiB each; server RSS {:.1} MiB \
                     in {} process(es)",
                    server_rss_kib.unwrap_or(0) as f64 / 1024.0,
                    server_processes.unwrap_or(1),
                ),
                Ok(m) => eprintln!(
                    "{head} {} ops in {:.2} s, CPU server {:.2} s, client {:.2} s",
                    m.ops,
                    m.elapsed.as_secs_f64(),
                    m.server_cpu.as_secs_f64(),
                    m.client_cpu.as_secs_f64(),
                ),
                Err(e) => eprintln!("{head} error: {e}"),
            }
            runs.push(Run {
                workload,
                target,
                result,
            });
        }
    }
    runs
}
