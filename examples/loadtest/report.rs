//! The Markdown report: machine info, then one table with a column per
//! server and rows per workload, each figure with its ratio to the
//! baseline's.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::procfs;
use crate::target::Target;
use crate::workloads::{Measurement, Settings, Workload};

/// One workload on one column, measured or failed.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) workload: Workload,
    pub(crate) target: Target,
    pub(crate) result: Result<Measurement, String>,
}

/// How the run was set up, for the header.
#[derive(Debug)]
pub(crate) struct Setup {
    /// CPUs this process may use, counted before pinning.
    pub(crate) nproc: usize,
    pub(crate) pinning: String,
    pub(crate) load_before: String,
}

/// One figure a row shows.
#[derive(Debug, Clone, Copy)]
enum Metric {
    /// Operations per second, in this unit.
    Rate(&'static str),
    /// Payload megabytes (10^6) per second.
    Megabytes,
    P99,
    /// Operations per second of server CPU time.
    RatePerCpu(&'static str),
    MegabytesPerCpu,
    /// Share of the window the server's thread was on a CPU (and the
    /// client's, shown beside it).
    CpuBusy,
    KibPerConn,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::Rate(_) | Metric::Megabytes => "throughput",
            Metric::P99 => "p99 latency",
            Metric::RatePerCpu(_) | Metric::MegabytesPerCpu => "per server CPU-second",
            Metric::CpuBusy => "CPU busy, server / client",
            Metric::KibPerConn => "server memory per connection",
        }
    }

    fn value(self, m: &Measurement) -> Option<f64> {
        let secs = m.elapsed.as_secs_f64();
        let cpu = m.server_cpu.as_secs_f64();
        let per = |amount: f64, time: f64| (time > 0.0).then(|| amount / time);
        match self {
            Metric::Rate(_) => per(m.ops as f64, secs),
            Metric::Megabytes => per(m.bytes as f64 / 1e6, secs),
            Metric::P99 => m.p99.map(|d| d.as_secs_f64()),
            Metric::RatePerCpu(_) => per(m.ops as f64, cpu),
            Metric::MegabytesPerCpu => per(m.bytes as f64 / 1e6, cpu),
            Metric::CpuBusy => per(cpu * 100.0, secs),
            Metric::KibPerConn => m.kib_per_conn,
        }
    }

    fn format(self, v: f64, m: &Measurement) -> String {
        match self {
            Metric::Rate(unit) => format!("{} {unit}/s", si(v)),
            Metric::Megabytes => format!("{} MB/s", decimal(v)),
            Metric::P99 => latency(Duration::from_secs_f64(v)),
            Metric::RatePerCpu(unit) => format!("{} {unit}/CPU-s", si(v)),
            Metric::MegabytesPerCpu => format!("{} MB/CPU-s", decimal(v)),
            Metric::CpuBusy => {
                // `v` exists, so the window is not empty.
                let client = m.client_cpu.as_secs_f64() * 100.0 / m.elapsed.as_secs_f64();
                format!("{v:.0}% / {client:.0}%")
            }
            Metric::KibPerConn => format!("{} KiB", decimal(v)),
        }
    }

    /// Whether a ratio to the baseline means anything here.
    fn has_ratio(self) -> bool {
        !matches!(self, Metric::CpuBusy)
    }
}

/// The figures each workload's rows show, in order.
fn metrics(workload: Workload) -> &'static [Metric] {
    use Metric::*;
    match workload {
        Workload::Hello => &[Rate("req"), P99, RatePerCpu("req"), CpuBusy],
        Workload::Stream | Workload::WsLarge => &[Megabytes, MegabytesPerCpu, CpuBusy],
        Workload::WsSmall => &[Rate("msg"), P99, RatePerCpu("msg"), CpuBusy],
        Workload::WsIdle => &[KibPerConn],
        Workload::WsHandshake => &[Rate("hs"), P99, RatePerCpu("hs"), CpuBusy],
    }
}

/// The whole report, as Markdown.
pub(crate) fn markdown(runs: &[Run], settings: &Settings, setup: &Setup) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Load benchmark\n");
    let _ = writeln!(
        out,
        "- machine: {} CPUs (nproc), {}; load average {} before the run",
        setup.nproc,
        procfs::cpu_model(),
        setup.load_before
    );
    let _ = writeln!(out, "- date: {} UTC", utc_now());
    let _ = writeln!(
        out,
        "- {} s per timed workload; {}",
        settings.window.as_secs_f64(),
        setup.pinning
    );
    let _ = writeln!(
        out,
        "- ratios are to the baseline (raw hyper; tungstenite's default WebSocketConfig); \
         \"per server CPU-second\" divides by the CPU time the server's thread used, \
         which holds up better than throughput on a busy host; a client near 100% busy \
         means the client, not the server, set the pace; neither near 100% means other \
         work on the host took their CPUs\n"
    );

    // Only columns and workloads that ran.
    let columns: Vec<Target> = Target::ALL
        .into_iter()
        .filter(|t| runs.iter().any(|r| r.target == *t))
        .collect();
    let mut workloads: Vec<Workload> = Vec::new();
    for run in runs {
        if !workloads.contains(&run.workload) {
            workloads.push(run.workload);
        }
    }

    let _ = write!(out, "| workload |");
    for c in &columns {
        let _ = write!(out, " {} |", c.label());
    }
    let _ = write!(out, "\n|---|");
    for _ in &columns {
        let _ = write!(out, "---|");
    }
    out.push('\n');

    let find = |w: Workload, t: Target| runs.iter().find(|r| r.workload == w && r.target == t);
    for &workload in &workloads {
        for (i, &metric) in metrics(workload).iter().enumerate() {
            // The first row names the workload in full, the rest briefly.
            let name = if i == 0 {
                workload.title(settings)
            } else {
                workload.name().to_owned()
            };
            let title = format!("{name}: {}", metric.label());
            let _ = write!(out, "| {title} |");
            let base = find(workload, Target::Baseline)
                .and_then(|r| r.result.as_ref().ok())
                .and_then(|m| metric.value(m));
            for &column in &columns {
                let cell = match find(workload, column).map(|r| &r.result) {
                    None => "—".to_owned(),
                    Some(Err(_)) => "error".to_owned(),
                    Some(Ok(m)) => match metric.value(m) {
                        None => "—".to_owned(),
                        Some(v) => match base {
                            Some(b)
                                if column != Target::Baseline && metric.has_ratio() && b > 0.0 =>
                            {
                                format!("{} ({:.2}x)", metric.format(v, m), v / b)
                            }
                            _ => metric.format(v, m),
                        },
                    },
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
    }

    let failures: Vec<&Run> = runs.iter().filter(|r| r.result.is_err()).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailed:\n");
        for run in failures {
            if let Err(e) = &run.result {
                let _ = writeln!(
                    out,
                    "- {} / {}: {e}",
                    run.workload.name(),
                    run.target.label()
                );
            }
        }
    }
    out
}

/// `v` with three significant digits and a k or M suffix: `118k`.
fn si(v: f64) -> String {
    let (v, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", decimal(v))
}

/// `v` with about three significant digits, no fewer whole ones.
fn decimal(v: f64) -> String {
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}")
}

fn latency(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{} ms", decimal(us / 1000.0))
    }
}

/// The date and time now, as `2026-05-03 14:07`, without a date crate.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a
/// proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn figures() {
        assert_eq!(si(118_234.0), "118k");
        assert_eq!(si(11_823.0), "11.8k");
        assert_eq!(si(1_234_567.0), "1.23M");
        assert_eq!(latency(Duration::from_micros(850)), "850 µs");
        assert_eq!(latency(Duration::from_micros(1_234)), "1.23 ms");
    }
}
