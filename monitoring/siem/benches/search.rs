//! What searching a large store costs: the Security pages' questions against a store
//! filled to the sector's daily volume, on this machine: SQLite, or PostgreSQL when
//! `MAKONIS_BENCH_SIEM_STORE_URL` names a server (a new database is made on it).
//!
//! Run with `./bench.sh siem-search` (or `cargo bench -p makonis-siem --bench search`).
//! A search reads only the partitions of its days, so its cost follows the events per
//! day, not the store's total: the default fills 8 days × 280,000 events (2.24 million),
//! the daily volume of 50 million events kept over 6 months
//! (`MAKONIS_BENCH_SIEM_SEARCH_DAYS`, `MAKONIS_BENCH_SIEM_SEARCH_PER_DAY`). The events are
//! sshd-style sign-ins of 20,000 users from 5,000 addresses in 12 agencies, appended
//! through `Store::append` (chained, durable), in three categories.
//!
//! Each question is asked as the search API asks it (the store opened read-only for the
//! request, a first page of 100), 20 times with different users, addresses or words;
//! reported: the median, the 95th percentile and the slowest. The goals (issue: a user
//! and time-range query's first page under 300 ms, free text over one day under 2 s)
//! are reported, not failed.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/support/backends.rs"]
mod backends;

use std::{net::IpAddr, time::Instant};

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use makonis_siem::store::{Backend, PostgresConfig, Store};
use makonis_siem_core::{
    chain::SigningKey,
    event::{Event, EventCategory, Outcome},
    retention::SourceCategory,
    search::SearchRequest,
};

const USERS: u64 = 20_000;
const ADDRESSES: u64 = 5_000;
const AGENCIES: [&str; 12] = ["lm", "vsaa", "vdi", "nva", "sppa", "vdeavk", "bti", "lddk", "soc", "rc", "vsava", "kac"];

/// A small deterministic generator (SplitMix64), so every run stores the same events.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn address(n: u64) -> IpAddr {
    IpAddr::from([10, (n / 65_536) as u8, (n / 256 % 256) as u8, (n % 256) as u8])
}

/// The `n`th event of the store, at `at`.
fn event(mix: &mut Mix, at: Timestamp) -> (Event, SourceCategory) {
    let (user, ip, port) = (mix.next() % USERS, address(mix.next() % ADDRESSES), 1024 + mix.next() % 60_000);
    let agency = AGENCIES[(user % AGENCIES.len() as u64) as usize];
    let failed = mix.next().is_multiple_of(4);
    let (category, kind) = match mix.next() % 20 {
        0..12 => (SourceCategory::Authentication, EventCategory::Authentication),
        12..17 => (SourceCategory::Directory, EventCategory::Iam),
        _ => (SourceCategory::System, EventCategory::Session),
    };
    let verb = if failed { "Failed password" } else { "Accepted publickey" };
    let message = format!("{verb} for user{user} from {ip} port {port} ssh2");
    let original = format!("<38>1 {at} srv{} sshd {} - - {message}", user % 97, 1000 + user % 3000);
    let event = Event {
        timestamp: at,
        created: at + SignedDuration::from_millis(300),
        time_from_record: true,
        category: Some(kind),
        action: Some(if failed { "logon-failed" } else { "logged-in" }.to_owned()),
        outcome: if failed { Outcome::Failure } else { Outcome::Success },
        source_ip: Some(ip),
        source_port: Some(port as u16),
        network_transport: Some("tcp".to_owned()),
        network_protocol: Some("ssh".to_owned()),
        user_name: Some(format!("user{user}")),
        host_name: Some(format!("srv{}", user % 97)),
        process_name: Some("sshd".to_owned()),
        message,
        original: original.into_bytes(),
        agency: Some(agency.to_owned()),
        source: format!("agency-{agency}/servers"),
        ..Event::default()
    };
    (event, category)
}

/// Milliseconds of each run, sorted.
fn summary(name: &str, mut millis: Vec<f64>, hits: usize, goal: f64) {
    millis.sort_by(f64::total_cmp);
    let (median, p95, max) = (millis[millis.len() / 2], millis[millis.len() * 95 / 100], millis[millis.len() - 1]);
    let verdict = if p95 <= goal { "met" } else { "NOT met" };
    println!(
        "  {name:<44} median {median:>8.1} ms   p95 {p95:>8.1} ms   max {max:>8.1} ms   ({hits} hits in the last run; goal {goal:.0} ms: {verdict})"
    );
}

fn request(from: Date, days: i64) -> SearchRequest {
    let to = from.checked_add(jiff::Span::new().days(days)).unwrap();
    SearchRequest {
        from: format!("{from}T00:00:00Z"),
        to: format!("{to}T00:00:00Z"),
        agencies: None,
        source: None,
        user: None,
        ip: None,
        action: None,
        outcome: None,
        text: None,
        limit: 100,
        after: None,
    }
}

/// Asks `request` `runs` times (changed by `vary` for each), the store opened read-only
/// each time as the search API does.
async fn time(backend: &Backend, runs: usize, mut vary: impl FnMut(usize) -> SearchRequest) -> (Vec<f64>, usize) {
    let mut millis = Vec::with_capacity(runs);
    let mut hits = 0;
    for run in 0..runs {
        let search = vary(run).check().expect("a valid search");
        let started = Instant::now();
        let mut store = Store::open_read_only(backend.clone()).await.expect("open the store");
        let page = store.search(&search).await.expect("search");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        hits = page.hits.len();
    }
    (millis, hits)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let setting = |name: &str, default: i64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let days = setting("MAKONIS_BENCH_SIEM_SEARCH_DAYS", 8);
    let per_day = setting("MAKONIS_BENCH_SIEM_SEARCH_PER_DAY", 280_000);
    let dir = support::fresh_dir("bench-search");
    let backend = match std::env::var("MAKONIS_BENCH_SIEM_STORE_URL") {
        Ok(server) => Backend::Postgres(PostgresConfig {
            url: backends::postgres_database_on(&server).await,
            checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
            skew_limit: SignedDuration::from_mins(5),
        }),
        Err(_) => backends::backend(backends::Kind::Sqlite, &dir).await,
    };
    let database = match &backend {
        Backend::Sqlite(_) => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    // The last `days` whole days before today (UTC), so every event is kept by its own time.
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let first = today.checked_sub(jiff::Span::new().days(days)).unwrap();
    let start = TimeZone::UTC.to_timestamp(first.at(0, 0, 0, 0)).unwrap();
    let total = days * per_day;
    println!("siem search: filling {database} with {total} events ({days} days × {per_day}) …");
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let mut store = Store::open(backend.clone(), key).await.unwrap();
    let (mut mix, step) = (Mix(7), 86_400_000_000 / per_day);
    let filled = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..total {
        batch.push(event(&mut mix, start + SignedDuration::from_micros(n * step)));
        if batch.len() == 10_000 || n + 1 == total {
            store.append(&mut batch, Timestamp::now()).await.expect("append");
        }
    }
    drop(store);
    if let Backend::Postgres(config) = &backend {
        // The statistics autovacuum keeps once a day's partition has been filling for a
        // while; without them the planner sorts a whole partition for a first page.
        let mut connection = backends::connect(&config.url).await;
        sqlx::query("ANALYZE siem.blocks").execute(&mut connection).await.expect("ANALYZE");
    }
    let seconds = filled.elapsed().as_secs_f64();
    println!("  filled in {seconds:.0} s ({:.0} events/s through Store::append)", total as f64 / seconds);
    let on_disk = backends::stored_bytes(&backend).await;
    println!("  on disk: {:.2} GB, {:.0} bytes per event", on_disk as f64 / 1e9, on_disk as f64 / total as f64);

    let last = today.yesterday().unwrap();
    let week = last.checked_sub(jiff::Span::new().days(6)).unwrap();
    let user = |run: usize| format!("user{}", (run as u64 * 7_919) % USERS);
    let (millis, hits) = time(&backend, 20, |run| SearchRequest {
        user: Some(user(run)),
        agencies: Some(vec![AGENCIES[((run as u64 * 7_919) % USERS % 12) as usize].to_owned()]),
        ..request(week, 7)
    })
    .await;
    summary("user + 7 days, the user's agency", millis, hits, 300.0);
    let (millis, hits) = time(&backend, 20, |run| SearchRequest { user: Some(user(run)), ..request(week, 7) }).await;
    summary("user + 7 days, every agency", millis, hits, 300.0);
    let (millis, hits) =
        time(&backend, 20, |run| SearchRequest { ip: Some(address(run as u64 * 13).to_string()), ..request(last, 1) })
            .await;
    summary("address + 1 day", millis, hits, 300.0);
    let (millis, hits) = time(&backend, 20, |run| SearchRequest {
        text: Some(format!("port {} ssh2", 2_000 + run)),
        ..request(last, 1)
    })
    .await;
    summary("free text over 1 day (rare: a port)", millis, hits, 2_000.0);
    let (millis, hits) =
        time(&backend, 20, |run| SearchRequest { text: Some(format!("no such text {run}")), ..request(last, 1) }).await;
    summary("free text over 1 day (absent: every event read)", millis, hits, 2_000.0);
    let (millis, hits) = time(&backend, 20, |_| request(week, 7)).await;
    summary("everything, 7 days, first page", millis, hits, 300.0);
    if let (Backend::Postgres(config), Ok(server)) = (&backend, std::env::var("MAKONIS_BENCH_SIEM_STORE_URL")) {
        let name = config.url.rsplit('/').next().expect("a database name");
        let mut connection = backends::connect(&server).await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut connection)
            .await
            .expect("DROP DATABASE");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
