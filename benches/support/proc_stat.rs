//! CPU time from `/proc` (Linux, 100 ticks a second), shared by the benchmarks:
//! `#[path = "support/proc_stat.rs"] mod proc_stat;`.
#![allow(dead_code)] // each benchmark uses a part of it

/// User plus system CPU time so far, in seconds, of the process or thread whose `stat`
/// file is `path` (`/proc/self/stat`, `/proc/thread-self/stat`, `/proc/<pid>/stat`); 0
/// when it cannot be read.
pub fn cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// User plus system CPU time so far of process `pid`, in seconds.
pub fn process_cpu_seconds(pid: impl std::fmt::Display) -> f64 {
    cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU time all processes of the machine have used so far (all but idle and I/O wait),
/// in seconds.
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .map(|l| l.split_whitespace().filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: f64 = ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    busy / 100.0
}
