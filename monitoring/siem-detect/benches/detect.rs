//! What detection costs per core: the SIEM's line mix read into records (parse and the
//! field contract) and run through the logsource mapping, the working-time field and the
//! rules, with more and more rules, on one thread; and the memory of correlation state.
//!
//! Run with `./bench.sh detect` (or `cargo bench -p makonis-siem-detect --bench detect`).
//!
//! 1. **The mix**: `MAKONIS_BENCH_DETECT_EVENTS` (default 300,000) lines of the SIEM's
//!    benchmark mix (`monitoring/siem-core/benches/support/mix.rs`: sshd, sudo, cron,
//!    kernel, RFC 5424, Samba AD JSON and Windows events in syslog) dated as live traffic,
//!    5 ms apart.
//! 2. **The rules**: the sector's pack (`monitoring/rules/`, its correlations included)
//!    and the SigmaHQ rules vendored for the tests (`tests/sigma/sigmahq/rules/`), taken
//!    in path order up to 0, 25, 50 and 100 detection rules, plus every correlation of
//!    the pack whose rules are in. Each line: events per CPU-second of the thread (best
//!    of 3), and the cost of one more rule in nanoseconds per event.
//! 3. **Correlation memory**: `MAKONIS_BENCH_DETECT_GROUPS` (default 1,000,000) failed
//!    sign-ins from as many addresses through the brute-force correlation; the resident
//!    memory it adds, per group key.
//!
//! The goal (at least 100,000 events per second per core with 100 rules and the
//! correlations) is reported, not failed.

#[path = "../../../benches/support/proc_stat.rs"]
mod proc_stat;

#[path = "../../siem-core/benches/support/mix.rs"]
mod mix;

use std::hint::black_box;
use std::path::{Path, PathBuf};

use makonis_siem_detect::correlate::Config;
use makonis_siem_detect::detect::{Detector, Preparation};
use makonis_siem_detect::fields::{Logsource, LogsourceKey, Record};
use makonis_siem_detect::input::{Format, ReadOptions, read};
use makonis_siem_detect::rules::{RuleSet, Source, load};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every `*.yml` under a folder, in path order.
fn yml_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The pack's files, then SigmaHQ's, loaded together; only the rules that load.
fn all_rules() -> Vec<(String, String)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = yml_under(&here.join("../rules"));
    files.extend(yml_under(&here.join("../../tests/sigma/sigmahq/rules")));
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// Files whose rules add up to `wanted` detection rules (a file is taken whole).
fn rule_set(files: &[(String, String)], wanted: usize) -> RuleSet {
    let mut taken = Vec::new();
    let mut count = 0;
    for (name, text) in files {
        if count >= wanted {
            break;
        }
        let (set, errors) = load(&[Source { name, text }]);
        if errors.is_empty() && !set.rules.is_empty() {
            count += set.rules.len();
            taken.push((name.as_str(), text.as_str()));
        }
    }
    let sources: Vec<Source<'_>> = taken.iter().map(|(name, text)| Source { name, text }).collect();
    load(&sources).0
}

/// Events per CPU-second of this thread to run `records` through `rules`; best of 3.
fn detect_rate(rules: &RuleSet, records: &[Record]) -> (f64, usize) {
    let mut best = 0.0_f64;
    let mut alerts = 0;
    for _ in 0..3 {
        let preparation = Preparation::default();
        let mut detector: Detector<usize> = Detector::new(rules.clone(), Config::default());
        let start = proc_stat::cpu_seconds("/proc/thread-self/stat");
        alerts = 0;
        for (n, record) in records.iter().enumerate() {
            let mut record = record.clone();
            preparation.prepare(&mut record);
            alerts += black_box(detector.evaluate(&record, n)).len();
        }
        let spent = proc_stat::cpu_seconds("/proc/thread-self/stat") - start;
        best = best.max(records.len() as f64 / spent.max(0.01));
    }
    (best, alerts)
}

fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let events = env_number("MAKONIS_BENCH_DETECT_EVENTS", 300_000);
    let text = String::from_utf8(mix::generate_until(events, jiff::Timestamp::now())).expect("the mix is UTF-8");
    let options = ReadOptions {
        format: Format::Auto,
        year: None,
        received: jiff::Timestamp::now(),
        logsource: Logsource::default(),
    };
    let start = proc_stat::cpu_seconds("/proc/thread-self/stat");
    let reads = black_box(read(&text, &options));
    let read_seconds = proc_stat::cpu_seconds("/proc/thread-self/stat") - start;
    let records: Vec<Record> = reads.into_iter().filter_map(|r| r.outcome.ok()).collect();
    println!("detection benchmark: {events} lines of the SIEM mix, {} records", records.len());
    println!("  read (parse + field contract): {:.0} events per CPU-second", events as f64 / read_seconds.max(0.01));

    let files = all_rules();
    let mut previous: Option<(usize, f64)> = None;
    for wanted in [0, 25, 50, 100] {
        let rules = rule_set(&files, wanted);
        let (rate, alerts) = detect_rate(&rules, &records);
        let per_rule = previous
            .filter(|(n, _)| rules.rules.len() > *n)
            .map(|(n, r)| {
                format!(", {:.0} ns per event per added rule", (1e9 / rate - 1e9 / r) / (rules.rules.len() - n) as f64)
            })
            .unwrap_or_default();
        println!(
            "  {} rules + {} correlations: {rate:.0} events per CPU-second (detection only), {alerts} alerts{per_rule}",
            rules.rules.len(),
            rules.correlations.len()
        );
        let combined = 1.0 / (1.0 / rate + read_seconds / events as f64);
        println!("    with reading: {combined:.0} events per CPU-second");
        previous = Some((rules.rules.len(), rate));
    }

    let groups = env_number("MAKONIS_BENCH_DETECT_GROUPS", 1_000_000);
    let brute_force =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/linux/ssh_brute_force.yml"))
            .expect("the brute-force rule");
    let (rules, _) = load(&[Source { name: "ssh_brute_force.yml", text: &brute_force }]);
    let preparation = Preparation::default();
    let mut detector: Detector<usize> = Detector::new(rules, Config { max_groups: groups + 1, ..Config::default() });
    let before = resident_bytes();
    let at = jiff::Timestamp::now();
    for n in 0..groups {
        let mut logsource = Logsource::default();
        logsource.insert(LogsourceKey::Product, "linux");
        logsource.insert(LogsourceKey::Service, "sshd");
        let ip = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        let fields = serde_json::json!({"event.outcome": "failure", "source.ip": ip, "user.name": "root"});
        let mut record = Record { time: at, fields, logsource };
        preparation.prepare(&mut record);
        detector.evaluate(&record, n);
    }
    let added = resident_bytes().saturating_sub(before);
    println!(
        "  correlation state: {} group keys, {:.0} MiB resident added, {:.0} bytes per key",
        detector.group_count(),
        added as f64 / 1_048_576.0,
        added as f64 / detector.group_count().max(1) as f64
    );
}
