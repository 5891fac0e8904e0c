//! The SQLite event store against real SQLite files: every kind of tampering done directly
//! in SQL (and on the files) is named by the check, late events are signed again, and
//! retention removes only what it may, recording each removal.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date, tz::TimeZone};
use makonis_siem::store::{Config, PartitionKey, PartitionReport, Problem, Store};
use makonis_siem_core::{
    chain::{Break, SigningKey, genesis, link},
    event::{Event, EventCategory, Outcome},
    retention::{Hold, Months, Policy, SourceCategory},
};
use sqlx::{Connection, Row, SqliteConnection};

mod support;

use support::{fresh_dir, store_in};

/// A store in a directory of its own, removed when dropped.
struct TestStore {
    dir: PathBuf,
    store: Store,
    public_key: Vec<u8>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn test_store() -> TestStore {
    let dir = fresh_dir("store");
    let (store, public_key) = store_in(&dir).await;
    TestStore { store, dir, public_key }
}

fn now() -> Timestamp {
    "2026-12-06T12:00:00Z".parse().unwrap()
}

/// A failed sign-in at `at`, received a second later.
fn sign_in(at: Timestamp, n: u32, agency: &str) -> Event {
    Event {
        timestamp: at,
        created: at + 1.second(),
        time_from_record: true,
        category: Some(EventCategory::Authentication),
        action: Some("ssh_login".into()),
        outcome: Outcome::Failure,
        source_ip: Some(format!("10.0.0.{}", n % 250 + 1).parse().unwrap()),
        source_port: Some(40000 + n as u16),
        user_name: Some(format!("user{n}")),
        message: format!("Failed password for user{n}"),
        original: format!("<38>Dec  5 10:00:00 web1 sshd[1]: Failed password for user{n}").into_bytes(),
        agency: Some(agency.into()),
        source: format!("agency-{agency}/servers"),
        ..Event::default()
    }
}

const YESTERDAY: &str = "2026-12-05";

fn key(day: &str, category: SourceCategory) -> PartitionKey {
    PartitionKey { day: day.parse().unwrap(), category }
}

/// 20 events yesterday (authentication) and 5 (system), checkpointed.
async fn filled() -> TestStore {
    let mut t = test_store().await;
    let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
    let auth: Vec<_> =
        (0..20).map(|n| (sign_in(day + (n as i64).minutes(), n, "lm"), SourceCategory::Authentication)).collect();
    let system: Vec<_> =
        (0..5).map(|n| (sign_in(day + (n as i64).minutes(), n, "vm"), SourceCategory::System)).collect();
    t.store.append(&mut auth[..10].to_vec(), now()).await.unwrap();
    t.store.append(&mut auth[10..].to_vec(), now()).await.unwrap();
    t.store.append(&mut system.clone(), now()).await.unwrap();
    let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!((closed.signed.len(), closed.refused.len()), (2, 0), "both of yesterday's partitions are closed");
    t
}

async fn verify(t: &mut TestStore) -> BTreeMap<String, PartitionReport> {
    let day: Date = YESTERDAY.parse().unwrap();
    let reports = t.store.verify(day, day, &t.public_key).await.unwrap();
    reports.into_iter().map(|r| (r.partition.clone(), r)).collect()
}

async fn problem(t: &mut TestStore, partition: &str) -> Option<Problem> {
    verify(t).await.remove(partition).unwrap_or_else(|| panic!("{partition} was not checked")).problem
}

/// A connection to a partition's file, as someone with access to the disk would open it.
async fn sql(t: &TestStore, partition: PartitionKey) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}", partition.path(t.store.root()).display())).await.unwrap()
}

async fn exec(connection: &mut SqliteConnection, statement: &str) {
    sqlx::query(statement).execute(&mut *connection).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}

const AUTH: &str = "2026-12-05/authentication";

#[tokio::test]
async fn an_untouched_store_verifies() {
    let mut t = filled().await;
    let reports = verify(&mut t).await;
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[AUTH].events, 20);
    assert_eq!(reports[AUTH].checkpoints, 1);
    assert_eq!(reports["2026-12-05/system"].events, 5);
    assert!(reports.values().all(|r| r.problem.is_none()), "{reports:?}");
}

#[tokio::test]
async fn an_edited_event_is_named() {
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    exec(&mut db, "UPDATE events SET document = replace(document, 'failure', 'success') WHERE seq = 5").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Altered { seq: 5 })));
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    exec(&mut db, "UPDATE events SET original = CAST('<38>nothing to see' AS BLOB) WHERE seq = 12").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Altered { seq: 12 })));
}

#[tokio::test]
async fn a_deleted_event_is_named_in_the_middle_and_at_the_end() {
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    exec(&mut db, "DELETE FROM events WHERE seq = 7").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 7, to: 7 })));
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    exec(&mut db, "DELETE FROM events WHERE seq > 17").await;
    exec(&mut db, "UPDATE head SET seq = 17, hash = (SELECT hash FROM events WHERE seq = 17)").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 18, to: 20 })));
}

#[tokio::test]
async fn an_inserted_event_is_named_even_when_correctly_chained() {
    // Appended after the end, hash computed as the store would, head moved to it.
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    let last = sqlx::query("SELECT hash FROM events WHERE seq = 20").fetch_one(&mut db).await.unwrap();
    let previous: [u8; 32] = last.get::<Vec<u8>, _>(0).try_into().unwrap();
    let (document, original) = (b"{\"message\":\"forged alibi\"}".to_vec(), b"<38>forged".to_vec());
    let hash = link(&previous, 21, &document, &original);
    sqlx::query(
        "INSERT INTO events (seq, time, created, source, outcome, mandatory, document, original, hash) \
         VALUES (21, 0, 0, 'agency-lm/servers', 'success', 31, $1, $2, $3)",
    )
    .bind(String::from_utf8(document).unwrap())
    .bind(original)
    .bind(hash.to_vec())
    .execute(&mut db)
    .await
    .unwrap();
    exec(&mut db, "UPDATE head SET seq = 21, hash = (SELECT hash FROM events WHERE seq = 21)").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Inserted { seq: 21 })));

    // Slipped in before the first event.
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    exec(
        &mut db,
        "INSERT INTO events (seq, time, created, source, outcome, mandatory, document, original, hash) \
         VALUES (0, 0, 0, 'agency-lm/servers', 'success', 31, '{}', X'00', zeroblob(32))",
    )
    .await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Inserted { seq: 0 })));
}

#[tokio::test]
async fn a_chain_rewritten_from_the_start_does_not_match_its_signed_checkpoint() {
    let mut t = filled().await;
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::System)).await;
    let rows = sqlx::query("SELECT seq, original FROM events ORDER BY seq").fetch_all(&mut db).await.unwrap();
    let mut previous = genesis("2026-12-05/system");
    for row in rows {
        let seq: i64 = row.get(0);
        let original: Vec<u8> = row.get(1);
        let document = format!("{{\"message\":\"rewritten {seq}\"}}");
        let hash = link(&previous, seq as u64, document.as_bytes(), &original);
        sqlx::query("UPDATE events SET document = $1, hash = $2 WHERE seq = $3")
            .bind(&document)
            .bind(hash.to_vec())
            .bind(seq)
            .execute(&mut db)
            .await
            .unwrap();
        previous = hash;
    }
    exec(&mut db, "UPDATE head SET hash = (SELECT hash FROM events WHERE seq = 5)").await;
    assert_eq!(problem(&mut t, "2026-12-05/system").await, Some(Problem::Broken(Break::Rewritten { last_seq: 5 })));
}

#[tokio::test]
async fn checkpoints_removed_forged_or_a_file_deleted_are_named() {
    let mut t = filled().await;
    let catalog = t.store.root().join("catalog.sqlite");
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", catalog.display())).await.unwrap();
    exec(&mut db, "DELETE FROM checkpoints WHERE partition = '2026-12-05/authentication'").await;
    assert_eq!(
        problem(&mut t, AUTH).await,
        Some(Problem::Unmatched { last_seq: 20, only_in: "checkpoint log" }),
        "the checkpoint log outside the store still has it"
    );

    let mut t = filled().await;
    let catalog = t.store.root().join("catalog.sqlite");
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", catalog.display())).await.unwrap();
    exec(&mut db, "UPDATE checkpoints SET last_seq = 19 WHERE partition = '2026-12-05/authentication'").await;
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Signature { last_seq: 19 }));

    let mut t = filled().await;
    remove_partition_files(&key(YESTERDAY, SourceCategory::Authentication).path(t.store.root()));
    assert_eq!(verify_reopened(&mut t).await[AUTH].problem, Some(Problem::Missing), "the file alone deleted");

    let mut t = filled().await;
    remove_partition_files(&key(YESTERDAY, SourceCategory::Authentication).path(t.store.root()));
    let catalog = t.store.root().join("catalog.sqlite");
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", catalog.display())).await.unwrap();
    exec(&mut db, "DELETE FROM partitions WHERE name = '2026-12-05/authentication'").await;
    exec(&mut db, "DELETE FROM checkpoints WHERE partition = '2026-12-05/authentication'").await;
    let reports = verify_reopened(&mut t).await;
    assert_eq!(
        reports[AUTH].problem,
        Some(Problem::Unmatched { last_seq: 20, only_in: "checkpoint log" }),
        "file, catalog row and catalog checkpoint gone: the log outside still names it"
    );
}

fn remove_partition_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Verifies through a store opened afresh on the same directory (no file held open).
async fn verify_reopened(t: &mut TestStore) -> BTreeMap<String, PartitionReport> {
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let config = Config {
        root: t.dir.join("store"),
        checkpoint_log: t.dir.join("elsewhere/checkpoints.jsonl"),
        skew_limit: SignedDuration::from_mins(5),
    };
    let mut store = Store::open(config, key).await.unwrap();
    let day: Date = YESTERDAY.parse().unwrap();
    store.verify(day, day, &t.public_key).await.unwrap().into_iter().map(|r| (r.partition.clone(), r)).collect()
}

#[tokio::test]
async fn rows_appended_before_the_day_is_signed_are_refused_a_signature() {
    let mut t = test_store().await;
    let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
    let events: Vec<_> = (0..3).map(|n| (sign_in(day, n, "lm"), SourceCategory::Authentication)).collect();
    t.store.append(&mut events.clone(), now()).await.unwrap();
    let mut db = sql(&t, key(YESTERDAY, SourceCategory::Authentication)).await;
    let last = sqlx::query("SELECT hash FROM events WHERE seq = 3").fetch_one(&mut db).await.unwrap();
    let previous: [u8; 32] = last.get::<Vec<u8>, _>(0).try_into().unwrap();
    let hash = link(&previous, 4, b"{}", b"<38>forged");
    sqlx::query(
        "INSERT INTO events (seq, time, created, source, outcome, mandatory, document, original, hash) \
         VALUES (4, 0, 0, 'agency-lm/servers', 'success', 31, '{}', CAST('<38>forged' AS BLOB), $1)",
    )
    .bind(hash.to_vec())
    .execute(&mut db)
    .await
    .unwrap();
    exec(&mut db, "UPDATE head SET seq = 4, hash = (SELECT hash FROM events WHERE seq = 4)").await;
    // Another day, untouched, is signed all the same.
    let other = sign_in(format!("{YESTERDAY}T09:00:00Z").parse().unwrap(), 9, "lm");
    t.store.append(&mut vec![(other, SourceCategory::System)], now()).await.unwrap();
    let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!(closed.signed.iter().map(|c| c.partition.as_str()).collect::<Vec<_>>(), ["2026-12-05/system"]);
    let refused = closed.refused.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    assert!(refused.contains("ends at event 4, but this SIEM wrote it up to event 3"), "{refused}");
}

#[tokio::test]
async fn a_late_event_in_a_closed_partition_is_signed_again_at_once() {
    let mut t = filled().await;
    // Sent a minute before midnight, delivered two minutes later (within the skew limit).
    let mut late = sign_in(format!("{YESTERDAY}T23:59:00Z").parse().unwrap(), 99, "lm");
    late.created = late.timestamp + 2.minutes();
    t.store.append(&mut vec![(late, SourceCategory::Authentication)], now()).await.unwrap();
    let reports = verify(&mut t).await;
    assert_eq!((reports[AUTH].events, reports[AUTH].checkpoints), (21, 2));
    assert_eq!(reports[AUTH].problem, None);
}

#[tokio::test]
async fn an_event_dated_months_back_is_kept_by_its_receive_day() {
    let mut t = test_store().await;
    let mut backdated = sign_in(now() - 24.hours() * 400, 1, "lm");
    backdated.created = now();
    let key = t.store.partition_of(&backdated, SourceCategory::Authentication);
    assert_eq!(key.day, now().to_zoned_datetime(TimeZone::UTC).date());
    t.store.append(&mut vec![(backdated, SourceCategory::Authentication)], now()).await.unwrap();
    assert!(key.path(t.store.root()).exists());
}

fn policy(months: i64, holds: Vec<Hold>) -> Policy {
    Policy {
        name: "default".into(),
        months: SourceCategory::ALL.into_iter().map(|c| (c, Months::new(months).unwrap())).collect(),
        holds,
    }
}

#[tokio::test]
async fn retention_removes_whole_days_by_event_time_under_holds_and_policy_changes() {
    let mut t = test_store().await;
    let utc = now().to_zoned_datetime(TimeZone::UTC);
    let back = |months: i64| utc.checked_sub(months.months()).unwrap().timestamp();
    for months in [5, 7, 13, 19] {
        let events: Vec<_> = (0..3).map(|n| (sign_in(back(months), n, "lm"), SourceCategory::Authentication)).collect();
        t.store.append(&mut events.clone(), back(months) + 1.second()).await.unwrap();
    }
    t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
    let day = |months: i64| format!("{}/authentication", back(months).to_zoned_datetime(TimeZone::UTC).date());
    let hold =
        Hold::new("default/case-2026-17".into(), back(14), back(12), Default::default(), Some("lm".into())).unwrap();

    let removed = t.store.apply_retention(&[policy(18, vec![hold.clone()])], now()).await.unwrap();
    assert_eq!(removed.iter().map(|r| r.partition.clone()).collect::<Vec<_>>(), [day(19)]);
    assert_eq!((removed[0].events, removed[0].policy.as_str(), removed[0].months), (3, "default", 18));
    assert!(removed[0].last_checkpoint.as_deref().is_some_and(|c| c.starts_with("3:")), "{removed:?}");

    let removed = t.store.apply_retention(&[policy(12, vec![hold])], now()).await.unwrap();
    assert!(removed.is_empty(), "13 months back is held: {removed:?}");

    let removed = t.store.apply_retention(&[policy(12, vec![])], now()).await.unwrap();
    assert_eq!(removed.iter().map(|r| r.partition.clone()).collect::<Vec<_>>(), [day(13)]);
    let removed = t.store.apply_retention(&[policy(6, vec![])], now()).await.unwrap();
    assert_eq!(removed.iter().map(|r| r.partition.clone()).collect::<Vec<_>>(), [day(7)]);

    assert_eq!(t.store.removals().await.unwrap().len(), 3, "each removal is recorded");
    let everything = t.store.verify(Date::MIN, Date::MAX, &t.public_key).await.unwrap();
    assert_eq!(everything.len(), 1, "removed partitions are not reported missing: {everything:?}");
    assert_eq!((everything[0].partition.clone(), everything[0].problem.clone()), (day(5), None));
}
