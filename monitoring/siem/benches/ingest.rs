//! What intake costs end to end: syslog over TLS (RFC 5425, a client certificate from a
//! test CA) into the durable, hash-chained store, on this machine: SQLite, or PostgreSQL
//! when `MAKONIS_BENCH_SIEM_STORE_URL` names a server (a new database is made on it).
//!
//! Run with `./bench.sh siem` (or `cargo bench -p makonis-siem --bench ingest`; for
//! PostgreSQL, `MAKONIS_BENCH_SIEM_STORE_URL=postgres://… cargo bench -p makonis-siem
//! --bench ingest`). In one process, optimised: the TLS intake (`intake::tls::serve`) and
//! the one writer (`intake::writer::run`: batches merged, appended in one transaction per
//! partition, durable on commit, chained), and a sender on the same machine writing the
//! SIEM parse benchmark's mix, dated as live traffic ending now, 5 ms apart
//! (`MAKONIS_BENCH_SIEM_INGEST_EVENTS`, default 500,000 lines), octet-counted over one TLS connection as fast as the intake takes it, the
//! queue bounded by `MAKONIS_BENCH_SIEM_QUEUE_MIB` (default 16, as `--queue-mib`). The
//! clock runs from the first byte sent to the last event counted as stored. Reported:
//! events per second, the process's CPU seconds (sender included, so an upper bound of
//! the SIEM's), the peak resident memory, and the store's bytes on disk per event
//! (partition files with their indexes and write-ahead logs, and the catalog) against
//! the raw line.
//!
//! The goals (issue: at least 50,000 events/s into SQLite with memory bounded; stored
//! bytes per event at most the raw line's) are reported, not failed.

#[path = "../../siem-core/benches/support/mix.rs"]
mod mix;

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/support/backends.rs"]
mod backends;

#[path = "../../../benches/support/proc_stat.rs"]
mod proc_stat;

use std::time::Instant;

use makonis_siem::{
    intake::{decode::UNKNOWN_SOURCE, tls, writer},
    store::{Backend, PostgresConfig, Store},
};
use makonis_siem_core::{chain::SigningKey, claims::Sender};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

const SOURCE: &str = support::SERVERS;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events: usize =
        std::env::var("MAKONIS_BENCH_SIEM_INGEST_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(500_000);
    let lines = mix::generate_until(events, jiff::Timestamp::now());
    let raw = lines.len();
    let mut frames = Vec::with_capacity(raw + events * 8);
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        frames.extend_from_slice(format!("{} ", line.len()).as_bytes());
        frames.extend_from_slice(line);
    }
    let dir = support::fresh_dir("bench-ingest");
    let backend = match std::env::var("MAKONIS_BENCH_SIEM_STORE_URL") {
        Ok(server) => Backend::Postgres(PostgresConfig {
            url: backends::postgres_database_on(&server).await,
            checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
            skew_limit: jiff::SignedDuration::from_mins(5),
        }),
        Err(_) => backends::backend(backends::Kind::Sqlite, &dir).await,
    };
    let database = match &backend {
        Backend::Sqlite(_) => "SQLite".to_owned(),
        Backend::Postgres(config) => format!("PostgreSQL ({})", durability(&config.url).await),
    };
    println!(
        "siem ingest: {events} lines, {:.1} MB raw, mean {} bytes per line, over TLS into {database}",
        raw as f64 / 1e6,
        raw / events
    );
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let store = Store::open(backend.clone(), key).await.unwrap();
    let (ca, credentials) = support::tls_credentials(&dir);
    let mut source = support::servers("127.0.0.9/32", "Europe/Riga");
    source.senders = vec![Sender::Certificate("sender.lm.gov.lv".into())];
    let budget_mib: usize =
        std::env::var("MAKONIS_BENCH_SIEM_QUEUE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let (intake, queue_rx, stats) = support::intake_with_budget(vec![source], 1024, budget_mib << 20);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(tls::serve(listener, credentials.subscribe(), intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));

    let client = ca.client(&["sender.lm.gov.lv"], Some("agency-lm"));
    let (cpu0, started) = (proc_stat::cpu_seconds("/proc/self/stat"), Instant::now());
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut stream =
        support::pki::connector(&ca, Some(&client)).connect(support::pki::server_name(), tcp).await.unwrap();
    for chunk in frames.chunks(64 * 1024) {
        stream.write_all(chunk).await.unwrap();
    }
    stream.flush().await.unwrap();
    let sent = started.elapsed().as_secs_f64();
    let done =
        || stats.source(SOURCE).events + stats.source(SOURCE).quarantined + stats.source(UNKNOWN_SOURCE).quarantined;
    while done() < events as u64 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = proc_stat::cpu_seconds("/proc/self/stat") - cpu0;
    let figures = stats.source(SOURCE);
    let _ = stream.shutdown().await;
    reader.abort();
    let _ = reader.await;
    drop(writer.await.unwrap());
    let on_disk = backends::stored_bytes(&backend).await;
    let goal = match &backend {
        Backend::Sqlite(_) => 50_000.0,
        Backend::Postgres(_) => 25_000.0,
    };
    println!(
        "makonis: {} events stored, {} quarantined in {wall:.2} s: {:.0} events/s, {:.1} MB/s raw \
         (the sender finished writing after {sent:.2} s)",
        figures.events,
        figures.quarantined,
        events as f64 / wall,
        raw as f64 / 1e6 / wall
    );
    println!("cpu: {cpu:.2} s of the process (sender included), {:.0} events per CPU-second", events as f64 / cpu);
    println!(
        "memory: peak resident {} MiB, of which the sender's input {} MiB; queue: 1,024 batches, {budget_mib} MiB of records",
        peak_rss_kib() / 1024,
        (raw + frames.len()) >> 20
    );
    println!(
        "store: {:.1} MB on disk, {:.0} bytes per event, {:.2}× the raw line",
        on_disk as f64 / 1e6,
        on_disk as f64 / events as f64,
        on_disk as f64 / raw as f64
    );
    println!(
        "goals: >= {goal:.0} events/s into {database}: {}; stored bytes <= 1.0× the raw line: {}",
        if events as f64 / wall >= goal { "met" } else { "NOT met" },
        if on_disk <= raw as u64 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The PostgreSQL server's settings that decide whether a commit is on disk.
async fn durability(url: &str) -> String {
    let mut db = backends::connect(url).await;
    let mut settings = Vec::new();
    for name in ["fsync", "synchronous_commit"] {
        let value: String =
            sqlx::query_scalar(&format!("SELECT current_setting('{name}')")).fetch_one(&mut db).await.unwrap();
        settings.push(format!("{name} = {value}"));
    }
    settings.join(", ")
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
