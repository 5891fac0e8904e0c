//! What the SLO engine costs: the monthly SLA report over a platform's month of outages,
//! and how many probes one core runs per second.
//!
//! Run with `./bench.sh slo` (or `cargo bench --bench slo_engine`). Everything runs in
//! this process, optimised, with no control plane and no database:
//!
//! 1. **Monthly report**: the 12 demo agencies with 100 services each plus 10 of the
//!    platform's own, as the ledger keeps them (`ObjectiveRecord`s: targets of 97–99.9 %,
//!    a third in business hours, every fourth with a maintenance window on Saturdays from
//!    22:00 for 4 h, a few created or deleted during the previous month), and 10 outages
//!    per service and month of 1–180 minutes from a fixed xorshift generator, over the
//!    previous full month and the current one so far: one of each service's ten across a
//!    Riga midnight, one in every hundred services' still open. `monthly_report` is timed
//!    on the outages the ledger hands it (those overlapping the month), for the previous
//!    month and for the current, partial one: 5 warm-up runs, then 50 timed ones.
//!    Goal: a median below 50 ms for the full month.
//! 2. **Probe throughput on one core**: 1,210 probes (one per service of the report), each
//!    a task that runs its check back to back as the engine's probe tasks do on their
//!    interval, all sharing a semaphore of 256 permits (the engine's default
//!    `--max-concurrent-probes`), on a Tokio `current_thread` runtime in a thread of its
//!    own, for `MAKONIS_BENCH_SLO_SECONDS` (default 10) per kind: HTTP `GET`, then TCP
//!    connect, then HTTPS `GET`. Every result goes through the probe's `Confirmer` and
//!    `SloMetrics::record_probe`, as in the engine's runner. The targets are minimal
//!    HTTP/1.1 servers answering `200 ok`, one on each of 127.0.0.1–127.0.0.8 (every probe
//!    opens a fresh connection, and the connections left in TIME_WAIT spread over eight
//!    addresses so that no address runs out of ephemeral ports), on a multi-thread runtime
//!    of their own threads: the probe thread only probes. Nothing is pinned: on a 2-core
//!    machine the targets compete with it. Prints probes per second, failures, latency,
//!    the CPU of the probe thread and of the targets, resident memory, and the connections
//!    left in TIME_WAIT at either end.
//!
//!    HTTPS is the realistic case: instances are probed over HTTPS. Its targets are the same
//!    servers behind tokio-rustls (TLS 1.3 or 1.2, ALPN `http/1.1`, the provider's default
//!    session tickets, `close_notify` after the answer), one more on each address, serving a
//!    leaf certificate for `svc.bench.test` and `*.bench.test` (ECDSA P-256, valid for 90
//!    days) signed by a private CA made with rcgen at start-up. The `Prober` trusts the CA
//!    through `extra_ca_files` (a temporary PEM file) besides the web PKI roots, and
//!    reaches `https://tN.bench.test/healthz` through one resolve override per address
//!    (`tN.bench.test=127.0.0.N:PORT`), exactly as the engine is configured: every probe
//!    does a full handshake (the prober never resumes a session) with certificate
//!    verification, and reads the leaf's expiry.
//! 3. A summary block for docs/benchmarks.md.
//!
//! Goals that are missed are reported, not failed.

use std::{
    collections::BTreeMap,
    hint::black_box,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow};
use jiff::{Timestamp, civil::Weekday, tz::TimeZone};
use makonis_slo::{
    metrics::SloMetrics,
    probe::{Check, HttpCheck, ProbeResult, ProbeSpec, Prober, ProberConfig, ResolveOverride},
};
use makonis_slo_core::{
    Confirmer, DAY_MS, HOUR_MS, HolidayCalendar, Interval, MINUTE_MS, MonthlyReport, Objective, ObjectiveRecord,
    OutageRecord, SupportHours, Transition, WeeklyWindow, Window,
    report::monthly_report,
    window::{month_of, month_span},
};
use proc_stat::{cpu_seconds, machine_busy_seconds};
use prometheus::Registry;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
    runtime::Builder,
    sync::Semaphore,
};
use tokio_rustls::TlsAcceptor;

#[path = "support/proc_stat.rs"]
mod proc_stat;

/// The demo agencies' codes (`manifests/examples/agencies`).
const AGENCIES: [&str; 12] = [
    "lm",
    "vsaa",
    "vdi",
    "nva",
    "vdeavk",
    "siva",
    "vbtai",
    "vsac-riga",
    "vsac-kurzeme",
    "vsac-latgale",
    "vsac-vidzeme",
    "vsac-zemgale",
];
const SERVICES_PER_AGENCY: usize = 100;
const PLATFORM_SERVICES: usize = 10;
const PLATFORM_NAMESPACE: &str = "makonis-system";
/// The catalog items the services are named after.
const ITEMS: [&str; 6] = ["postgresql", "web-app", "dms", "file-share", "mail", "vm"];
/// The targets the services promise, as ratios.
const TARGETS: [f64; 5] = [0.97, 0.98, 0.99, 0.995, 0.999];
/// Saturdays from 22:00 for 4 hours.
const SATURDAY_NIGHT: WeeklyWindow =
    WeeklyWindow { weekday: Weekday::Saturday, start_minute: 22 * 60, duration_ms: 4 * HOUR_MS };
const CAUSES: [&str; 3] = [
    "HTTP 503 (expected 200–399)",
    "connection refused by 10.20.0.5:443",
    "timed out after 5 s waiting for the response",
];
/// Outages per service and month.
const OUTAGES_PER_MONTH: usize = 10;
/// The platform's own target (`--sla-platform-target-percent`).
const PLATFORM_TARGET_PERCENT: f64 = 97.0;
const WARM_UP: usize = 5;
const REPORT_RUNS: usize = 50;
const REPORT_GOAL_MS: f64 = 50.0;

/// Probes, one per service of the report.
const PROBES: usize = 1_210;
/// Runs in flight at once: the engine's default `--max-concurrent-probes`.
const MAX_CONCURRENT_PROBES: usize = 256;
/// Target servers, one on each of 127.0.0.1 to 127.0.0.8.
const TARGET_ADDRESSES: u8 = 8;
/// Worker threads of the target servers' runtime.
const TARGET_THREADS: usize = 2;
/// A Probe's default timeout and confirmation thresholds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const FAILURE_THRESHOLD: u32 = 3;
const SUCCESS_THRESHOLD: u32 = 2;
const PROBE_GOAL_PER_SECOND: f64 = 2_000.0;
/// What every target answers.
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
/// The domain of the HTTPS targets: `tN.bench.test` is the target on 127.0.0.N.
const TLS_DOMAIN: &str = "bench.test";
/// How long the HTTPS targets' leaf certificate is valid from yesterday, in days.
const LEAF_VALIDITY_DAYS: i64 = 90;
/// A Probe's default certificate warning.
const CERTIFICATE_WARNING: Duration = Duration::from_secs(30 * 86_400);

/// Connections the targets failed to accept.
static ACCEPT_ERRORS: AtomicU64 = AtomicU64::new(0);

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let seconds = setting("MAKONIS_BENCH_SLO_SECONDS", 10).max(1);
    print_machine();

    let reports = report_benchmark()?;

    let servers = Builder::new_multi_thread()
        .worker_threads(TARGET_THREADS)
        .thread_name("bench-target")
        .enable_all()
        .build()
        .context("the targets' runtime")?;
    let targets = servers.block_on(start_targets())?;
    println!(
        "probe targets: {TARGET_ADDRESSES} minimal HTTP/1.1 servers answering `200 ok` on 127.0.0.1–127.0.0.{TARGET_ADDRESSES}, \
         on {TARGET_THREADS} threads of their own (the probe thread only probes; nothing pinned)"
    );
    println!(
        "  kernel: ephemeral ports {}, tcp_tw_reuse {}, tcp_max_tw_buckets {}",
        sysctl("ip_local_port_range").split_whitespace().collect::<Vec<_>>().join("–"),
        sysctl("tcp_tw_reuse"),
        sysctl("tcp_max_tw_buckets")
    );
    let pki = BenchPki::new()?;
    let tls_targets = servers.block_on(start_tls_targets(pki.acceptor()?))?;
    let ca_file = TempFile::write("ca", &pki.ca_pem)?;
    println!(
        "  HTTPS: {TARGET_ADDRESSES} more behind tokio-rustls (ring) on the same addresses, https://t1.{TLS_DOMAIN}–t{TARGET_ADDRESSES}.{TLS_DOMAIN} \
         reached through one resolve override each; leaf for svc.{TLS_DOMAIN} and *.{TLS_DOMAIN} (ECDSA P-256, \
         expires {}) signed by a private CA in {}",
        pki.leaf_expires,
        ca_file.0.display()
    );
    let http = measure_probes("HTTP", "http", http_specs(&targets), ProberConfig::default(), &targets, seconds)?;
    let tcp = measure_probes("TCP", "tcp", tcp_specs(&targets), ProberConfig::default(), &targets, seconds)?;
    let https_config = https_config(&ca_file, &tls_targets)?;
    let https = measure_probes("HTTPS", "http", https_specs(&tls_targets), https_config, &tls_targets, seconds)?;
    servers.shutdown_background();

    print_summary(&reports, &[&http, &tcp, &https], seconds);
    Ok(())
}

/// The machine and build the numbers come from.
fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let profile = if cfg!(debug_assertions) {
        "debug (unoptimised: the numbers mean nothing, use cargo bench)"
    } else {
        "optimised (cargo bench)"
    };
    println!("machine: {cores} cores ({model}), load average {} at start; build: {profile}", load_average());
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// Part 1: the monthly report.

/// One timed report.
struct ReportTiming {
    /// `2026-10`.
    month: String,
    /// Whether the month is still running.
    partial: bool,
    /// The runs' times, sorted, in ms.
    sorted_ms: Vec<f64>,
    /// The outages handed to the report.
    outages: usize,
    /// Its services.
    services: usize,
}

fn report_benchmark() -> anyhow::Result<Vec<ReportTiming>> {
    let now = Timestamp::now().as_millisecond();
    let current = month_of(now);
    let previous = if current.1 == 1 { (current.0 - 1, 12) } else { (current.0, current.1 - 1) };
    let previous_span = month_span(previous.0, previous.1);
    let current_span = month_span(current.0, current.1);

    let mut rng = XorShift(0x4d61_6b6f_6e69_7321);
    let objectives = objectives(&mut rng, previous_span);
    let mut history = outages(&objectives, previous_span, 42, now, &mut rng)?;
    history.extend(outages(&objectives, Interval::new(current_span.start, now), 17, now, &mut rng)?);
    println!(
        "monthly SLA report: {} agencies × {SERVICES_PER_AGENCY} services + {PLATFORM_SERVICES} platform services = {} objectives; \
         {} outages of 1–180 min in the ledger ({OUTAGES_PER_MONTH} per service and month, one of them across a Riga midnight; {} open)",
        AGENCIES.len(),
        thousands(objectives.len() as u64),
        thousands(history.len() as u64),
        history.iter().filter(|o| o.ended_at.is_none()).count()
    );

    let mut timings = Vec::new();
    for ((year, month), span) in [(previous, previous_span), (current, current_span)] {
        let inputs = overlapping(&history, span);
        let (sorted_ms, report) = time_report(year, month, &objectives, &inputs, now);
        let timing = ReportTiming {
            month: format!("{year}-{month:02}"),
            partial: report.partial,
            sorted_ms,
            outages: inputs.len(),
            services: report.agencies.iter().map(|a| a.services.len()).sum(),
        };
        let breached: usize = report.agencies.iter().map(|a| a.breached).sum();
        println!(
            "  {} ({}): {} services in {} sections, {} outages handed over; {breached} services breached; platform {}",
            timing.month,
            if timing.partial { "current month so far" } else { "previous full month" },
            thousands(timing.services as u64),
            report.agencies.len(),
            thousands(timing.outages as u64),
            report.platform.availability_percent.map_or("unmeasured".into(), |a| format!("{a:.3} %")),
        );
        println!(
            "    min / median / p95 / max    {:.2} / {:.2} / {:.2} / {:.2} ms ({REPORT_RUNS} runs after {WARM_UP} warm-up)",
            timing.sorted_ms[0],
            pct(&timing.sorted_ms, 0.5),
            pct(&timing.sorted_ms, 0.95),
            timing.sorted_ms[REPORT_RUNS - 1]
        );
        if !timing.partial {
            println!(
                "    goal: median < {REPORT_GOAL_MS} ms       {}",
                met(pct(&timing.sorted_ms, 0.5) < REPORT_GOAL_MS)
            );
        }
        timings.push(timing);
    }
    Ok(timings)
}

/// A fixed xorshift64 generator: the same fixture on every run.
struct XorShift(u64);

impl XorShift {
    /// A number in `0..n` (`n` at least 1).
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n.max(1)
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len() as u64) as usize]
    }
}

/// The agencies' services and the platform's own, as the ledger keeps them.
fn objectives(rng: &mut XorShift, previous: Interval) -> Vec<ObjectiveRecord> {
    let agencies = AGENCIES.iter().map(|code| (*code, format!("agency-{code}"), SERVICES_PER_AGENCY));
    let platform = std::iter::once(("", PLATFORM_NAMESPACE.to_owned(), PLATFORM_SERVICES));
    let mut records = Vec::new();
    for (agency, namespace, count) in agencies.chain(platform) {
        for i in 0..count {
            let name = format!("svc-{i:03}");
            records.push(ObjectiveRecord {
                namespace: namespace.clone(),
                agency: agency.to_owned(),
                instance: if agency.is_empty() { String::new() } else { name.clone() },
                service: format!("{} {i:03} (standard)", ITEMS[i % ITEMS.len()]),
                name,
                objective: Objective {
                    target: *rng.pick(&TARGETS),
                    window: Window::CalendarMonth,
                    support: if i % 3 == 2 { SupportHours::BusinessHours } else { SupportHours::TwentyFourSeven },
                    maintenance: if i % 4 == 0 { vec![SATURDAY_NIGHT] } else { Vec::new() },
                    // A few were created on the 10th of the previous month, the others a year before.
                    measured_since: if i % 50 == 7 {
                        previous.start + 9 * DAY_MS
                    } else {
                        previous.start - 365 * DAY_MS
                    },
                },
                // A few were deleted on the 20th.
                deleted_at: (i % 70 == 13).then_some(previous.start + 19 * DAY_MS),
            });
        }
    }
    records
}

/// `OUTAGES_PER_MONTH` outages of 1–180 minutes of every objective starting inside `span`
/// (none ends after `now`): the first across a Riga midnight inside the span (when it
/// holds one), the others anywhere. The second of every hundredth objective, from the
/// `open_offset`th on, is still open.
fn outages(
    objectives: &[ObjectiveRecord],
    span: Interval,
    open_offset: usize,
    now: i64,
    rng: &mut XorShift,
) -> anyhow::Result<Vec<OutageRecord>> {
    let midnights = riga_midnights(span)?;
    let mut outages = Vec::with_capacity(objectives.len() * OUTAGES_PER_MONTH);
    for (index, objective) in objectives.iter().enumerate() {
        for k in 0..OUTAGES_PER_MONTH {
            let (started_at, minutes) = if k == 0 && !midnights.is_empty() {
                let minutes = 2 + rng.below(179) as i64;
                let before_midnight = 1 + rng.below(minutes as u64 - 1) as i64;
                (rng.pick(&midnights) - before_midnight * MINUTE_MS, minutes)
            } else {
                (span.start + rng.below((span.end - span.start) as u64) as i64, 1 + rng.below(180) as i64)
            };
            let open = k == 1 && index % 100 == open_offset;
            outages.push(OutageRecord {
                namespace: objective.namespace.clone(),
                objective: objective.name.clone(),
                started_at,
                ended_at: (!open).then_some((started_at + minutes * MINUTE_MS).min(now)),
                cause: (*rng.pick(&CAUSES)).to_owned(),
            });
        }
    }
    Ok(outages)
}

/// The Riga midnights strictly inside `span`.
fn riga_midnights(span: Interval) -> anyhow::Result<Vec<i64>> {
    let riga = TimeZone::get("Europe/Riga")?;
    let mut day = riga.to_datetime(Timestamp::from_millisecond(span.start)?).date();
    let mut midnights = Vec::new();
    loop {
        day = day.tomorrow()?;
        let midnight = riga.to_timestamp(day.at(0, 0, 0, 0))?.as_millisecond();
        if midnight >= span.end {
            return Ok(midnights);
        }
        midnights.push(midnight);
    }
}

/// The outages the ledger hands the report of `span` (`Ledger::report_inputs`): those
/// overlapping it.
fn overlapping(outages: &[OutageRecord], span: Interval) -> Vec<OutageRecord> {
    outages
        .iter()
        .filter(|o| o.started_at < span.end && o.ended_at.is_none_or(|end| end > span.start))
        .cloned()
        .collect()
}

/// The report's times over `REPORT_RUNS` runs after `WARM_UP`, sorted, in ms; and the report.
fn time_report(
    year: i16,
    month: i8,
    objectives: &[ObjectiveRecord],
    outages: &[OutageRecord],
    now: i64,
) -> (Vec<f64>, MonthlyReport) {
    let calendar = HolidayCalendar::default();
    let run = || monthly_report(year, month, objectives, outages, now, &calendar, PLATFORM_TARGET_PERCENT);
    for _ in 0..WARM_UP {
        black_box(run());
    }
    let mut sorted_ms: Vec<f64> = (0..REPORT_RUNS)
        .map(|_| {
            let started = Instant::now();
            black_box(run());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    sorted_ms.sort_by(f64::total_cmp);
    (sorted_ms, run())
}

// ---------------------------------------------------------------------------------------
// Part 2: probe throughput on one core.

/// Binds one target on each of 127.0.0.1 to 127.0.0.`TARGET_ADDRESSES` and serves them.
async fn start_targets() -> anyhow::Result<Vec<SocketAddr>> {
    let mut addresses = Vec::new();
    for last in 1..=TARGET_ADDRESSES {
        let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, last), 0))
            .await
            .with_context(|| format!("binding a target on 127.0.0.{last}"))?;
        addresses.push(listener.local_addr()?);
        tokio::spawn(serve(listener));
    }
    Ok(addresses)
}

async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                tokio::spawn(async move { answer(&mut stream).await });
            }
            Err(_) => {
                ACCEPT_ERRORS.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Reads the request's head and answers `200 ok` (the caller closes). A TCP check's client
/// closes without a request: then nothing is answered.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let mut head = [0_u8; 2048];
    let mut len = 0;
    while !head[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut head[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
        if len == head.len() {
            return;
        }
    }
    let _ = stream.write_all(RESPONSE).await;
}

/// The HTTPS targets' PKI: a private CA and a leaf it signed for `svc.bench.test` and
/// `*.bench.test`.
struct BenchPki {
    /// The CA certificate, PEM.
    ca_pem: String,
    /// The leaf certificate and its key, DER.
    leaf: rustls::pki_types::CertificateDer<'static>,
    leaf_key: Vec<u8>,
    /// The leaf's expiry date, `2026-01-31`.
    leaf_expires: String,
}

impl BenchPki {
    /// A fresh CA and leaf (ECDSA P-256, rcgen's default), the leaf valid from yesterday for
    /// `LEAF_VALIDITY_DAYS`.
    fn new() -> anyhow::Result<Self> {
        let today = TimeZone::UTC.to_datetime(Timestamp::now()).date();
        let (yesterday, expires) = (today.yesterday()?, today.checked_add(jiff::Span::new().days(LEAF_VALIDITY_DAYS))?);
        let midnight = |date: jiff::civil::Date| {
            rcgen::date_time_ymd(i32::from(date.year()), date.month().unsigned_abs(), date.day().unsigned_abs())
        };
        let (not_before, not_after) = (midnight(yesterday), midnight(expires));

        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "Mākonis benchmark CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = not_before;
        ca_params.not_after = not_after;
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![format!("svc.{TLS_DOMAIN}"), format!("*.{TLS_DOMAIN}")])?;
        params.distinguished_name.push(DnType::CommonName, format!("svc.{TLS_DOMAIN}"));
        params.not_before = not_before;
        params.not_after = not_after;
        let leaf = params.signed_by(&key, &ca)?;
        Ok(Self {
            ca_pem: ca.pem(),
            leaf: leaf.der().clone(),
            leaf_key: key.serialize_der(),
            leaf_expires: expires.to_string(),
        })
    }

    /// The targets' TLS acceptor: the leaf, ALPN `http/1.1`, otherwise rustls' defaults.
    fn acceptor(&self) -> anyhow::Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf.clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// A file removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    /// `text` in `makonis-bench-slo-{what}-{pid}.pem` in the temporary directory.
    fn write(what: &str, text: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("makonis-bench-slo-{what}-{}.pem", std::process::id()));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Binds one HTTPS target on each of 127.0.0.1 to 127.0.0.`TARGET_ADDRESSES` and serves them.
async fn start_tls_targets(acceptor: TlsAcceptor) -> anyhow::Result<Vec<SocketAddr>> {
    let mut addresses = Vec::new();
    for last in 1..=TARGET_ADDRESSES {
        let listener = TcpListener::bind((Ipv4Addr::new(127, 0, 0, last), 0))
            .await
            .with_context(|| format!("binding an HTTPS target on 127.0.0.{last}"))?;
        addresses.push(listener.local_addr()?);
        tokio::spawn(serve_tls(listener, acceptor.clone()));
    }
    Ok(addresses)
}

/// Accepts connections and serves each in a task of its own: the handshake, the answer, then
/// `close_notify`.
async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut stream) = acceptor.accept(stream).await {
                        answer(&mut stream).await;
                        let _ = stream.shutdown().await;
                    }
                });
            }
            Err(_) => {
                ACCEPT_ERRORS.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn http_check(url: String) -> Check {
    Check::Http(HttpCheck {
        url,
        expected_status: vec![200],
        body_match: None,
        latency_threshold: None,
        certificate_warning: CERTIFICATE_WARNING,
    })
}

fn http_specs(targets: &[SocketAddr]) -> Vec<ProbeSpec> {
    (0..PROBES)
        .map(|i| ProbeSpec {
            check: http_check(format!("http://{}/healthz", targets[i % targets.len()])),
            timeout: PROBE_TIMEOUT,
            guard: None,
        })
        .collect()
}

/// `https://tN.bench.test/healthz`, N going round the targets.
fn https_specs(targets: &[SocketAddr]) -> Vec<ProbeSpec> {
    (0..PROBES)
        .map(|i| ProbeSpec {
            check: http_check(format!("https://t{}.{TLS_DOMAIN}/healthz", i % targets.len() + 1)),
            timeout: PROBE_TIMEOUT,
            guard: None,
        })
        .collect()
}

/// The engine's configuration for the HTTPS targets: the CA file, and `tN.bench.test`
/// resolved to the Nth target.
fn https_config(ca_file: &TempFile, targets: &[SocketAddr]) -> anyhow::Result<ProberConfig> {
    let resolve = targets
        .iter()
        .enumerate()
        .map(|(i, target)| format!("t{}.{TLS_DOMAIN}={target}", i + 1).parse::<ResolveOverride>())
        .collect::<Result<_, _>>()?;
    Ok(ProberConfig { extra_ca_files: vec![ca_file.0.clone()], resolve })
}

fn tcp_specs(targets: &[SocketAddr]) -> Vec<ProbeSpec> {
    (0..PROBES)
        .map(|i| {
            let target = targets[i % targets.len()];
            ProbeSpec {
                check: Check::Tcp { host: target.ip().to_string(), port: target.port() },
                timeout: PROBE_TIMEOUT,
                guard: None,
            }
        })
        .collect()
}

/// What the probe tasks saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    /// Failures by category: how many, and the first one's cause.
    failures: BTreeMap<&'static str, (u64, String)>,
    /// Outages the confirmers opened.
    opened: u64,
    /// Every run's latency in µs (4 bytes a result, to keep the benchmark's own memory small).
    latencies: Vec<u32>,
    /// Time spent in `Confirmer::observe` and `SloMetrics::record_probe`.
    bookkeeping: Duration,
    /// Results with the leaf certificate's expiry (HTTPS), and those warning that it expires
    /// soon.
    certificates: u64,
    expiring: u64,
    /// The latest expiry seen, Unix ms.
    not_after: Option<i64>,
}

impl Tally {
    fn results(&self) -> u64 {
        self.ok + self.failed()
    }

    fn failed(&self) -> u64 {
        self.failures.values().map(|(n, _)| n).sum()
    }

    fn add(&mut self, result: &ProbeResult, transition: &Transition) {
        match &result.failure {
            None => self.ok += 1,
            Some(failure) => {
                self.failures.entry(failure.category.as_str()).or_insert_with(|| (0, failure.cause.clone())).0 += 1;
            }
        }
        if matches!(transition, Transition::Down { .. }) {
            self.opened += 1;
        }
        if let Some(not_after) = result.certificate_not_after {
            self.certificates += 1;
            self.not_after = self.not_after.max(Some(not_after));
        }
        self.expiring += u64::from(result.certificate_expiring);
        self.latencies.push(u32::try_from(result.latency.as_micros()).unwrap_or(u32::MAX));
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        for (category, (n, cause)) in other.failures {
            self.failures.entry(category).or_insert((0, cause)).0 += n;
        }
        self.opened += other.opened;
        self.latencies.extend(other.latencies);
        self.bookkeeping += other.bookkeeping;
        self.certificates += other.certificates;
        self.expiring += other.expiring;
        self.not_after = self.not_after.max(other.not_after);
    }
}

/// One kind of probe measured.
struct ProbeMeasurement {
    /// `HTTP`, `TCP` or `HTTPS`.
    name: &'static str,
    tally: Tally,
    elapsed: Duration,
    /// CPU seconds of the probe thread, and of the rest of the process (the targets).
    probe_cpu: f64,
    targets_cpu: f64,
    /// RSS before and after, and the peak meanwhile (since the start when it could not be
    /// reset), in KiB.
    rss_before: u64,
    rss_after: u64,
    peak: u64,
    peak_reset: bool,
}

impl ProbeMeasurement {
    fn per_second(&self) -> f64 {
        self.tally.results() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `specs` for `seconds` with a `Prober` set up with `config`, on a `current_thread`
/// runtime in a thread of its own, and prints what it did.
fn measure_probes(
    name: &'static str,
    kind: &'static str,
    specs: Vec<ProbeSpec>,
    config: ProberConfig,
    targets: &[SocketAddr],
    seconds: u64,
) -> anyhow::Result<ProbeMeasurement> {
    let prober = Arc::new(Prober::new(config).with_context(|| format!("the {name} prober"))?);
    let peak_reset = reset_peak_rss();
    let (rss_before, _) = memory_kib();
    let (process_before, machine_before) = (cpu_seconds("/proc/self/stat"), machine_busy_seconds());
    let accept_errors_before = ACCEPT_ERRORS.load(Ordering::Relaxed);
    let probing = std::thread::Builder::new().name("bench-probes".into()).spawn(move || {
        let runtime = Builder::new_current_thread().enable_all().build().context("the probe runtime")?;
        let cpu_before = cpu_seconds("/proc/thread-self/stat");
        let (tally, elapsed) = runtime.block_on(probe_all(prober, kind, specs, Duration::from_secs(seconds)))?;
        anyhow::Ok((tally, elapsed, cpu_seconds("/proc/thread-self/stat") - cpu_before))
    })?;
    let (mut tally, elapsed, probe_cpu) = probing.join().map_err(|_| anyhow!("the probe thread panicked"))??;
    let process_cpu = cpu_seconds("/proc/self/stat") - process_before;
    let machine_cpu = machine_busy_seconds() - machine_before;
    let (rss_after, peak) = memory_kib();
    tally.latencies.sort();
    let measured = ProbeMeasurement {
        name,
        tally,
        elapsed,
        probe_cpu,
        targets_cpu: (process_cpu - probe_cpu).max(0.0),
        rss_before,
        rss_after,
        peak,
        peak_reset,
    };

    let wall = elapsed.as_secs_f64();
    let tally = &measured.tally;
    println!(
        "probe throughput, {name}: {} probes, {MAX_CONCURRENT_PROBES} in flight at most, {seconds} s, one current_thread runtime",
        thousands(PROBES as u64)
    );
    println!(
        "  probes per second             {} ({} results in {wall:.2} s); goal ≥ {}/s: {}",
        thousands(measured.per_second().round() as u64),
        thousands(tally.results()),
        thousands(PROBE_GOAL_PER_SECOND as u64),
        met(measured.per_second() >= PROBE_GOAL_PER_SECOND)
    );
    let failures = if tally.failures.is_empty() {
        "0".to_owned()
    } else {
        let by_category: Vec<String> =
            tally.failures.iter().map(|(category, (n, cause))| format!("{category} {n}, e.g. {cause}")).collect();
        format!("{} ({})", tally.failed(), by_category.join("; "))
    };
    println!("  failures                      {failures}");
    println!("  outages the confirmers opened {}", tally.opened);
    if let Some(not_after) = tally.not_after {
        println!(
            "  certificate expiry read       {} of {} results (leaf expires {}); {} warned of expiry within {} days",
            thousands(tally.certificates),
            thousands(tally.results()),
            Timestamp::from_millisecond(not_after).map_or_else(|_| not_after.to_string(), |t| t.to_string()),
            tally.expiring,
            CERTIFICATE_WARNING.as_secs() / 86_400
        );
    }
    println!(
        "  latency p50 / p99             {:.2} / {:.2} ms (each run from its start; {MAX_CONCURRENT_PROBES} runs share the core)",
        pct_ms(&tally.latencies, 0.5),
        pct_ms(&tally.latencies, 0.99)
    );
    println!("  probe thread CPU per result   {:.1} µs", measured.probe_cpu * 1e6 / tally.results().max(1) as f64);
    println!(
        "  confirm + metrics per result  {:.2} µs (Confirmer::observe and SloMetrics::record_probe; {:.1} % of the probe thread's CPU)",
        tally.bookkeeping.as_secs_f64() * 1e6 / tally.results().max(1) as f64,
        100.0 * tally.bookkeeping.as_secs_f64() / measured.probe_cpu.max(0.01)
    );
    println!(
        "  cores busy                    probe thread {:.2}, targets {:.2}, rest of the machine {:.2}",
        measured.probe_cpu / wall,
        measured.targets_cpu / wall,
        ((machine_cpu - process_cpu) / wall).max(0.0)
    );
    println!(
        "  resident memory               {:.1} MiB before, {:.1} MiB after, peak {:.1} MiB ({})",
        mib(measured.rss_before),
        mib(measured.rss_after),
        mib(measured.peak),
        if measured.peak_reset { "peak reset before the run" } else { "the process's peak since its start" }
    );
    let (at_targets, at_probes) = time_wait_sockets(targets);
    println!(
        "  in TIME_WAIT after the run    {} sockets at the targets, {} at the probes; {} failed accepts",
        thousands(at_targets as u64),
        thousands(at_probes as u64),
        ACCEPT_ERRORS.load(Ordering::Relaxed) - accept_errors_before
    );
    Ok(measured)
}

/// Starts one task per probe, all sharing the semaphore, and waits until every task has
/// seen the deadline pass; returns their tally and the time until the last one ended.
async fn probe_all(
    prober: Arc<Prober>,
    kind: &'static str,
    specs: Vec<ProbeSpec>,
    duration: Duration,
) -> anyhow::Result<(Tally, Duration)> {
    let metrics = SloMetrics::register(&Registry::new())?;
    let semaphore = Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = specs
        .into_iter()
        .map(|spec| tokio::spawn(probe_task(prober.clone(), spec, kind, semaphore.clone(), metrics.clone(), deadline)))
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(task.await?);
    }
    Ok((tally, started.elapsed()))
}

/// One probe's task, as the engine's runner runs it but without waiting for an interval:
/// a permit, a run, then the result through the confirmer and the metrics.
async fn probe_task(
    prober: Arc<Prober>,
    spec: ProbeSpec,
    kind: &'static str,
    semaphore: Arc<Semaphore>,
    metrics: SloMetrics,
    deadline: Instant,
) -> Tally {
    let mut confirmer = Confirmer::new(FAILURE_THRESHOLD, SUCCESS_THRESHOLD);
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let (at, result) = {
            let Ok(_permit) = semaphore.acquire().await else { break };
            if Instant::now() >= deadline {
                break;
            }
            (Timestamp::now().as_millisecond(), prober.run(&spec).await)
        };
        let started = Instant::now();
        let failure = result.failure.as_ref();
        metrics.record_probe(kind, failure.map(|f| f.category.as_str()), result.latency);
        let transition = confirmer.observe(at, result.ok, failure.map_or("", |f| f.cause.as_str()));
        tally.bookkeeping += started.elapsed();
        tally.add(&result, &transition);
    }
    tally
}

/// `(current, peak)` resident memory of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the process's peak resident memory to the current one; whether the kernel
/// allowed it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `/proc/sys/net/ipv4/{name}`, trimmed.
fn sysctl(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).map_or_else(|_| "unknown".into(), |v| v.trim().into())
}

/// The connections to `targets` in TIME_WAIT: `(at the targets' end, at the probes' end)`.
fn time_wait_sockets(targets: &[SocketAddr]) -> (usize, usize) {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let mut counts = (0, 0);
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(3) != Some(&"06") {
            continue;
        }
        let is_target = |i: usize| fields.get(i).and_then(|a| proc_address(a)).is_some_and(|a| targets.contains(&a));
        if is_target(1) {
            counts.0 += 1;
        } else if is_target(2) {
            counts.1 += 1;
        }
    }
    counts
}

/// An address of `/proc/net/tcp`: the IPv4 address in memory order as a hex number, the port
/// in hex.
fn proc_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    Some(SocketAddr::from((Ipv4Addr::from(ip.to_ne_bytes()), u16::from_str_radix(port, 16).ok()?)))
}

// ---------------------------------------------------------------------------------------
// Part 3: the summary.

fn print_summary(reports: &[ReportTiming], probes: &[&ProbeMeasurement], seconds: u64) {
    println!("summary (load average {} at the end)", load_average());
    for report in reports {
        let what = if report.partial { "current month so far" } else { "full month" };
        let goal = if report.partial {
            String::new()
        } else {
            format!("; goal < {REPORT_GOAL_MS} ms: {}", met(pct(&report.sorted_ms, 0.5) < REPORT_GOAL_MS))
        };
        println!(
            "  monthly_report, {} services, {} outages, {what} ({})   median {:.2} ms, p95 {:.2} ms{goal}",
            thousands(report.services as u64),
            thousands(report.outages as u64),
            report.month,
            pct(&report.sorted_ms, 0.5),
            pct(&report.sorted_ms, 0.95),
        );
    }
    for probe in probes {
        println!(
            "  {} probes on one core, {MAX_CONCURRENT_PROBES} in flight, {seconds} s   {}/s, {} failures, probe thread {:.2} cores, peak RSS {:.1} MiB; goal ≥ {}/s: {}",
            probe.name,
            thousands(probe.per_second().round() as u64),
            probe.tally.failed(),
            probe.probe_cpu / probe.elapsed.as_secs_f64(),
            mib(probe.peak),
            thousands(PROBE_GOAL_PER_SECOND as u64),
            met(probe.per_second() >= PROBE_GOAL_PER_SECOND)
        );
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The `q` quantile of sorted values.
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// The `q` quantile of sorted microseconds, in ms.
fn pct_ms(sorted_micros: &[u32], q: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let index = ((sorted_micros.len() as f64 * q).ceil() as usize).clamp(1, sorted_micros.len()) - 1;
    f64::from(sorted_micros[index]) / 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(c);
    }
    text
}
