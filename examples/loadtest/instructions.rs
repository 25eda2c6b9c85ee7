//! `--instructions`: each column's cost per operation, in instructions
//! counted by valgrind's callgrind. Unlike time, the count does not depend
//! on what else the host is doing, so two builds can be compared on a noisy
//! machine, and a change of a few percent shows.
//!
//! For each workload and column, this binary runs twice under callgrind in
//! counted mode (`--ops N` and `--ops 2N`: operations one at a time over one
//! connection, after the usual start-up and checks); the difference over N
//! is one operation's cost with the start-up cancelled out. It counts the
//! client and the server together: the client is the same code for every
//! column, so the differences between columns are the servers'. The kernel's
//! work (system calls, loopback) is not counted at all, so the ratios here
//! are larger than the per-CPU-second ones of a timed run.

use std::process::{Command, ExitCode, Output};

use crate::args::Options;
use crate::target::{Protocol, Target};
use crate::workloads::Workload;

/// Operations per counted run, by workload: enough that the start-up's own
/// wobble (a few thousand instructions) is small against the difference.
fn default_ops(workload: Workload) -> u64 {
    match workload {
        Workload::Hello | Workload::WsSmall => 2000,
        Workload::WsLarge => 200,
        Workload::Stream => 50,
        Workload::WsHandshake => 300,
        Workload::WsIdle => 0,
    }
}

/// One cell: instructions per operation, or why there is none.
type Cell = Result<f64, String>;

pub(crate) fn main(opts: &Options) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find this program's path: {e}");
            return ExitCode::FAILURE;
        }
    };
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!(
            "error: --instructions runs this program under valgrind, which is not installed \
             (Debian: apt-get install valgrind)"
        );
        return ExitCode::FAILURE;
    }
    let workloads: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| w.is_timed() && opts.only.is_none_or(|only| only == *w))
        .collect();
    let targets: Vec<Target> = Target::ALL
        .into_iter()
        .filter(|t| opts.targets.is_empty() || opts.targets.contains(t))
        .collect();
    let mut rows = Vec::new();
    for &workload in &workloads {
        let ops = opts.ops.unwrap_or_else(|| default_ops(workload));
        let mut cells = Vec::new();
        for &target in &targets {
            if !target.serves(workload.protocol()) {
                cells.push(None);
                continue;
            }
            let cell = per_op(&exe, workload, target, ops);
            match &cell {
                Ok(ir) => eprintln!(
                    "{:<13} {:<18} {ir:.0} instructions per operation",
                    workload.name(),
                    target.label()
                ),
                Err(e) => eprintln!("{:<13} {:<18} error: {e}", workload.name(), target.label()),
            }
            cells.push(Some(cell));
        }
        rows.push((workload, ops, cells));
    }
    let table = markdown(&targets, &rows);
    print!("{table}");
    if let Some(path) = &opts.markdown {
        if let Err(e) = std::fs::write(path, &table) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let failed = rows
        .iter()
        .flat_map(|(_, _, cells)| cells)
        .any(|c| matches!(c, Some(Err(_))));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the `ops` and `2 * ops` counts side by side (one per CPU) and
/// divides the difference.
fn per_op(exe: &std::path::Path, workload: Workload, target: Target, ops: u64) -> Cell {
    let spawn = |n: u64| {
        Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(exe)
            .args(["--only", workload.name(), "--target", target.name()])
            .args(["--ops", &n.to_string(), "--no-pin"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start valgrind: {e}"))
    };
    let (once, twice) = (spawn(ops)?, spawn(2 * ops)?);
    let once = collected(once.wait_with_output())?;
    let twice = collected(twice.wait_with_output())?;
    Ok(twice.saturating_sub(once) as f64 / ops as f64)
}

/// The instructions callgrind reports (`==PID== Collected : N`) for a run
/// that succeeded.
fn collected(output: std::io::Result<Output>) -> Result<u64, String> {
    let output = output.map_err(|e| format!("valgrind failed: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(format!(
            "the counted run failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| "callgrind printed no instruction count".to_owned())
}

fn markdown(targets: &[Target], rows: &[(Workload, u64, Vec<Option<Cell>>)]) -> String {
    let mut out = String::from(
        "## Instructions per operation (callgrind)\n\n\
         Client and server together, one operation at a time over one connection; \
         the client is the same code in every column. Ratios are to raw hyper, and for \
         WebSockets to raw hyper + tungstenite with a 4 KiB read buffer (gateway's \
         buffers are small too; tungstenite's default zero-fills 128 KiB per read).\n\n\
         | workload |",
    );
    for t in targets {
        out.push_str(&format!(" {} |", t.label()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(targets.len()));
    out.push('\n');
    for (workload, ops, cells) in rows {
        out.push_str(&format!("| {} ({ops} ops) |", workload.name()));
        let base_target = match workload.protocol() {
            Protocol::Http => Target::Baseline,
            Protocol::WebSocket => Target::BaselineWs4k,
        };
        let base = targets
            .iter()
            .zip(cells)
            .find(|(t, _)| **t == base_target)
            .and_then(|(_, c)| c.as_ref()?.as_ref().ok().copied());
        for cell in cells {
            let text = match (cell, base) {
                (None, _) => "—".to_owned(),
                (Some(Err(_)), _) => "error".to_owned(),
                (Some(Ok(ir)), Some(base)) if base > 0.0 && *ir != base => {
                    format!("{} ({:.2}x)", thousands(*ir), ir / base)
                }
                (Some(Ok(ir)), _) => thousands(*ir),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out
}

fn thousands(ir: f64) -> String {
    if ir >= 10_000.0 {
        format!("{:.1}k", ir / 1000.0)
    } else {
        format!("{ir:.0}")
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::*;

    fn output(code: i32, stderr: &str) -> std::io::Result<Output> {
        Ok(Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        })
    }

    #[test]
    fn reads_the_count_callgrind_prints_and_refuses_failed_runs() {
        let stderr = "hello  gateway return  2000 ops in 9.1 s\n\
                      ==123== Events    : Ir\n==123== Collected : 69613307\n==123==\n";
        assert_eq!(collected(output(0, stderr)), Ok(69_613_307));
        let failed = collected(output(1, "error: connection refused\n"));
        assert!(failed.unwrap_err().contains("connection refused"));
        assert!(collected(output(0, "no count here\n")).is_err());
    }
}
