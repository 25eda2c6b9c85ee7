//! What Linux's `/proc` tells about this process: thread CPU time, resident
//! memory, the descriptor limit, the CPU model.
//!
//! Read from files rather than through `libc` calls, because the crate
//! forbids `unsafe` code, examples included.

use std::fs;
use std::time::Duration;

/// The kernel's thread id of the calling thread.
pub(crate) fn current_tid() -> Option<u32> {
    // `/proc/thread-self` is the calling thread's own directory.
    let stat = fs::read_to_string("/proc/thread-self/stat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// This process's threads whose name starts with `prefix`.
pub(crate) fn threads_named(prefix: &str) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = fs::read_to_string(task.path().join("comm")).ok()?;
            comm.starts_with(prefix)
                .then(|| task.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// CPU time (user + system) a thread of this process has used so far.
pub(crate) fn thread_cpu_time(tid: u32) -> Option<Duration> {
    // schedstat counts nanoseconds; stat only 10 ms ticks.
    if let Ok(schedstat) = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        if let Some(ns) = schedstat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
        {
            return Some(Duration::from_nanos(ns));
        }
    }
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it may not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `fields[0]` is field 3.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture /proc reports in.
    Some(Duration::from_millis(ticks * 10))
}

/// A process's resident set size, in KiB.
pub(crate) fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soft limit on open descriptors (`ulimit -n`), if there is one.
pub(crate) fn open_files_limit() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The CPU's model name, as `/proc/cpuinfo` gives it.
pub(crate) fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The 1, 5 and 15 minute load averages, to tell a noisy host.
pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}
