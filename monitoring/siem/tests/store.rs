//! The event store on both databases — SQLite files, and PostgreSQL's partitioned
//! tables — each case run on each: every kind of tampering done directly to the stored
//! blocks (decoded, changed and written back in SQL, as someone with the database and
//! this crate's source could), to the files or to the tables is named by the check, late events are signed again, and
//! retention removes only what it may, recording each removal.

use std::{collections::BTreeMap, path::PathBuf};

use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date, tz::TimeZone};
use makonis_siem::store::{Backend, PartitionKey, PartitionReport, PostgresConfig, Problem, Store};
use makonis_siem_core::{
    block::{BLOCK_EVENTS, BlockEvent, TAIL_BLOCKS, decode, encode},
    chain::{Break, SigningKey, genesis, link},
    event::{Event, EventCategory, Outcome},
    retention::{Hold, Months, Policy, SourceCategory},
    search::{Search, SearchRequest},
};
use sqlx::{AnyConnection, Row};

#[path = "support/backends.rs"]
mod backends;
mod support;

use backends::{Kind, connect, kinds};
use support::fresh_dir;

/// A store of its own (its directory removed when dropped).
struct TestStore {
    kind: Kind,
    dir: PathBuf,
    backend: Backend,
    store: Store,
    public_key: Vec<u8>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn test_store(kind: Kind) -> TestStore {
    let dir = fresh_dir("store");
    let backend = backends::backend(kind, &dir).await;
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let public_key = key.public_key();
    let store = Store::open(backend.clone(), key).await.unwrap();
    TestStore { kind, dir, backend, store, public_key }
}

impl TestStore {
    /// A connection to a partition's file, or to the database.
    async fn partition_sql(&self, partition: PartitionKey) -> AnyConnection {
        backends::partition_connection(&self.backend, partition).await
    }

    /// A connection to the catalog.
    async fn catalog_sql(&self) -> AnyConnection {
        match &self.backend {
            Backend::Sqlite(config) => {
                connect(&format!("sqlite://{}", config.root.join("catalog.sqlite").display())).await
            }
            Backend::Postgres(config) => connect(&config.url).await,
        }
    }

    /// `template` in this database's words for partition `partition`: `{blocks}` and
    /// `{head}` its tables, `{in}` the condition that selects its rows, `{catalog}` the
    /// catalog tables' prefix.
    fn sql(&self, partition: PartitionKey, template: &str) -> String {
        let (blocks, head, within, catalog) = match self.kind {
            Kind::Sqlite => ("blocks", "head", "1 = 1".to_owned(), ""),
            Kind::Postgres => ("siem.blocks", "siem.heads", format!("partition = '{}'", partition.name()), "siem."),
        };
        template
            .replace("{blocks}", blocks)
            .replace("{head}", head)
            .replace("{in}", &within)
            .replace("{catalog}", catalog)
    }

    /// Runs `template` (see [`TestStore::sql`]) on the partition's database.
    async fn exec(&self, partition: PartitionKey, template: &str) {
        let statement = self.sql(partition, template);
        let mut db = self.partition_sql(partition).await;
        sqlx::query(&statement).execute(&mut db).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Runs `template` on the catalog.
    async fn exec_catalog(&self, template: &str) {
        let statement = self.sql(key(YESTERDAY, SourceCategory::Authentication), template);
        let mut db = self.catalog_sql().await;
        sqlx::query(&statement).execute(&mut db).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Every block of a partition, decoded, by first place: as someone with the
    /// database and this crate's source would read them.
    async fn blocks(&self, partition: PartitionKey) -> Vec<(i64, Vec<BlockEvent>)> {
        let statement = self.sql(partition, "SELECT first_seq, body FROM {blocks} WHERE {in} ORDER BY first_seq");
        let mut db = self.partition_sql(partition).await;
        let rows = sqlx::query(&statement).fetch_all(&mut db).await.unwrap();
        rows.iter().map(|row| (row.get(0), decode(&row.get::<Vec<u8>, _>(1)).unwrap())).collect()
    }

    /// Writes a block's events back in place of what it held, behind the store's back
    /// (a block left empty is deleted).
    async fn rewrite_block(&self, partition: PartitionKey, first_seq: i64, events: &[BlockEvent]) {
        let mut db = self.partition_sql(partition).await;
        if events.is_empty() {
            let statement = self.sql(partition, "DELETE FROM {blocks} WHERE {in} AND first_seq = $1");
            sqlx::query(&statement).bind(first_seq).execute(&mut db).await.unwrap();
            return;
        }
        let statement = self.sql(partition, "UPDATE {blocks} SET body = $1 WHERE {in} AND first_seq = $2");
        sqlx::query(&statement).bind(encode(events).unwrap()).bind(first_seq).execute(&mut db).await.unwrap();
    }

    /// Changes event `seq` behind the store's back.
    async fn edit(&self, partition: PartitionKey, seq: u64, change: impl Fn(&mut BlockEvent)) {
        backends::tamper(&self.backend, partition, seq, change).await;
    }

    /// Deletes the events `which` selects from their blocks behind the store's back.
    async fn delete_events(&self, partition: PartitionKey, which: impl Fn(u64) -> bool) {
        for (first_seq, mut events) in self.blocks(partition).await {
            let before = events.len();
            events.retain(|e| !which(e.seq));
            if events.len() < before {
                self.rewrite_block(partition, first_seq, &events).await;
            }
        }
    }

    /// The stored hash of event `seq`.
    async fn hash(&self, partition: PartitionKey, seq: u64) -> [u8; 32] {
        let blocks = self.blocks(partition).await;
        blocks.into_iter().flat_map(|(_, events)| events).find(|e| e.seq == seq).unwrap().hash
    }

    /// Inserts a block of one event behind the store's back, and moves the partition's
    /// head to it when `head`.
    async fn insert(
        &self,
        partition: PartitionKey,
        seq: u64,
        document: &str,
        original: &[u8],
        hash: [u8; 32],
        head: bool,
    ) {
        let event = BlockEvent {
            seq,
            time: 0,
            created: 0,
            source: "agency-lm/servers".into(),
            agency: Some("lm".into()),
            user: None,
            ip: None,
            action: None,
            outcome: Outcome::Success,
            category: None,
            document: document.to_owned(),
            original: original.to_vec(),
            hash,
        };
        let (column, value) = match self.kind {
            Kind::Sqlite => (String::new(), String::new()),
            Kind::Postgres => {
                ("partition, owners, terms, ".to_owned(), format!("'{}', '{{}}', '{{}}', ", partition.name()))
            }
        };
        let statement = self.sql(
            partition,
            &format!(
                "INSERT INTO {{blocks}} ({column}first_seq, last_seq, min_time, max_time, max_created, body) \
                 VALUES ({value}$1, $1, 0, 0, 0, $2)"
            ),
        );
        let mut db = self.partition_sql(partition).await;
        sqlx::query(&statement)
            .bind(seq as i64)
            .bind(encode(&[event]).unwrap())
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        if head {
            self.move_head(partition, seq, hash).await;
        }
    }

    /// Moves the partition's head record behind the store's back.
    async fn move_head(&self, partition: PartitionKey, seq: u64, hash: [u8; 32]) {
        let statement = self.sql(partition, "UPDATE {head} SET seq = $1, hash = $2 WHERE {in}");
        let mut db = self.partition_sql(partition).await;
        sqlx::query(&statement).bind(seq as i64).bind(hash.to_vec()).execute(&mut db).await.unwrap();
    }

    /// Removes a partition's events behind the store's back: its files, or its table.
    async fn remove_partition(&self, partition: PartitionKey) {
        match &self.backend {
            Backend::Sqlite(config) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", partition.path(&config.root).display()));
                }
            }
            Backend::Postgres(_) => {
                self.exec(partition, &format!("DROP TABLE siem.\"{}\"", partition.table())).await;
            }
        }
    }
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
async fn filled(kind: Kind) -> TestStore {
    let mut t = test_store(kind).await;
    let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
    let auth: Vec<_> =
        (0..20).map(|n| (sign_in(day + (n as i64).minutes(), n, "lm"), SourceCategory::Authentication)).collect();
    let system: Vec<_> =
        (0..5).map(|n| (sign_in(day + (n as i64).minutes(), n, "vm"), SourceCategory::System)).collect();
    t.store.append(&mut auth[..10].to_vec(), now()).await.unwrap();
    t.store.append(&mut auth[10..].to_vec(), now()).await.unwrap();
    t.store.append(&mut system.clone(), now()).await.unwrap();
    let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!(
        (closed.signed.len(), closed.refused.len()),
        (2, 0),
        "{kind:?}: both of yesterday's partitions are closed"
    );
    t
}

async fn verify(t: &mut TestStore) -> BTreeMap<String, PartitionReport> {
    let day: Date = YESTERDAY.parse().unwrap();
    let reports = t.store.verify(day, day, &t.public_key).await.unwrap();
    reports.into_iter().map(|r| (r.partition.clone(), r)).collect()
}

async fn problem(t: &mut TestStore, partition: &str) -> Option<Problem> {
    verify(t).await.remove(partition).unwrap_or_else(|| panic!("{:?}: {partition} was not checked", t.kind)).problem
}

const AUTH: &str = "2026-12-05/authentication";

/// A search of yesterday's events of `user`, of `agency` or every agency.
fn yesterdays(user: &str, agency: Option<&str>) -> Search {
    let request = SearchRequest {
        from: format!("{YESTERDAY}T00:00:00Z"),
        to: format!("{YESTERDAY}T23:59:59Z"),
        agencies: agency.map(|a| vec![a.to_owned()]),
        source: None,
        user: Some(user.to_owned()),
        ip: None,
        action: None,
        outcome: None,
        text: None,
        limit: 10,
        after: None,
    };
    request.check().unwrap()
}

fn auth() -> PartitionKey {
    key(YESTERDAY, SourceCategory::Authentication)
}

#[tokio::test]
async fn an_untouched_store_verifies() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        let reports = verify(&mut t).await;
        assert_eq!(reports.len(), 2, "{kind:?}");
        assert_eq!(reports[AUTH].events, 20, "{kind:?}");
        assert_eq!(reports[AUTH].checkpoints, 1, "{kind:?}");
        assert_eq!(reports["2026-12-05/system"].events, 5, "{kind:?}");
        assert!(reports.values().all(|r| r.problem.is_none()), "{kind:?}: {reports:?}");
    }
}

#[tokio::test]
async fn an_edited_event_is_named() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        t.edit(auth(), 5, |e| e.document = e.document.replace("failure", "success")).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Altered { seq: 5 })), "{kind:?}");

        let mut t = filled(kind).await;
        t.edit(auth(), 12, |e| e.original = b"<38>nothing to see".to_vec()).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Altered { seq: 12 })), "{kind:?}");
    }
}

#[tokio::test]
async fn a_deleted_event_is_named_in_the_middle_and_at_the_end() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        t.delete_events(auth(), |seq| seq == 7).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 7, to: 7 })), "{kind:?}");

        let mut t = filled(kind).await;
        t.delete_events(auth(), |seq| seq > 17).await;
        let hash = t.hash(auth(), 17).await;
        t.move_head(auth(), 17, hash).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 18, to: 20 })), "{kind:?}");

        // A whole block: the second append's ten events.
        let mut t = filled(kind).await;
        t.exec(auth(), "DELETE FROM {blocks} WHERE {in} AND first_seq = 11").await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 11, to: 20 })), "{kind:?}");
    }
}

#[tokio::test]
async fn an_inserted_event_is_named_even_when_correctly_chained() {
    for kind in kinds() {
        // Appended after the end, hash computed as the store would, head moved to it.
        let mut t = filled(kind).await;
        let previous = t.hash(auth(), 20).await;
        let (document, original) = ("{\"message\":\"forged alibi\"}", b"<38>forged");
        let hash = link(&previous, 21, document.as_bytes(), original);
        t.insert(auth(), 21, document, original, hash, true).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Inserted { seq: 21 })), "{kind:?}");

        // Slipped in before the first event.
        let mut t = filled(kind).await;
        t.insert(auth(), 0, "{}", b"\0", [0; 32], false).await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Inserted { seq: 0 })), "{kind:?}");
    }
}

#[tokio::test]
async fn a_chain_rewritten_from_the_start_does_not_match_its_signed_checkpoint() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        let system = key(YESTERDAY, SourceCategory::System);
        let mut previous = genesis("2026-12-05/system");
        for (first_seq, mut events) in t.blocks(system).await {
            for event in &mut events {
                event.document = format!("{{\"message\":\"rewritten {}\"}}", event.seq);
                event.hash = link(&previous, event.seq, event.document.as_bytes(), &event.original);
                previous = event.hash;
            }
            t.rewrite_block(system, first_seq, &events).await;
        }
        t.move_head(system, 5, previous).await;
        assert_eq!(
            problem(&mut t, "2026-12-05/system").await,
            Some(Problem::Broken(Break::Rewritten { last_seq: 5 })),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_block_that_cannot_be_read_is_named_and_the_rest_still_checked() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        t.exec(auth(), "UPDATE {blocks} SET body = substr(body, 1, 20) WHERE {in} AND first_seq = 11").await;
        let reports = verify(&mut t).await;
        assert!(
            matches!(&reports[AUTH].problem, Some(Problem::Unreadable { first_seq: 11, .. })),
            "{kind:?}: {:?}",
            reports[AUTH].problem
        );
        assert_eq!(reports[AUTH].events, 10, "{kind:?}: the block before it was checked");
        assert_eq!(reports["2026-12-05/system"].problem, None, "{kind:?}");
    }
}

#[tokio::test]
async fn small_appends_end_in_full_blocks_and_every_event_is_still_found_and_checked() {
    for kind in kinds() {
        let mut t = test_store(kind).await;
        let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
        let events: Vec<_> = (0..1_100)
            .map(|n| (sign_in(day + (n as i64).seconds(), n, "lm"), SourceCategory::Authentication))
            .collect();
        // Batches of 7, as a quiet sender's arrive, and one larger than a block.
        for batch in events[..1_000].chunks(7) {
            t.store.append(&mut batch.to_vec(), now()).await.unwrap();
        }
        t.store.append(&mut events[1_000..].to_vec(), now()).await.unwrap();

        let blocks = t.blocks(auth()).await;
        let places: Vec<u64> = blocks.iter().flat_map(|(_, events)| events.iter().map(|e| e.seq)).collect();
        assert_eq!(places, (1..=1_100).collect::<Vec<_>>(), "{kind:?}: each event once, in chain order");
        let sizes: Vec<usize> = blocks.iter().map(|(_, events)| events.len()).collect();
        let full = sizes.iter().take_while(|&&size| size == BLOCK_EVENTS).count();
        assert_eq!(full, 2, "{kind:?}: {sizes:?}");
        assert!(sizes.len() - full <= TAIL_BLOCKS, "{kind:?}: at most {TAIL_BLOCKS} small blocks: {sizes:?}");

        let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
        assert_eq!(closed.signed.len(), 1, "{kind:?}");
        let report = &verify(&mut t).await[AUTH];
        assert_eq!((report.events, &report.problem), (1_100, &None), "{kind:?}");
        for n in [0, 511, 512, 999, 1_000, 1_099] {
            let page = t.store.search(&yesterdays(&format!("user{n}"), Some("lm"))).await.unwrap();
            let found: Vec<_> = page.hits.iter().map(|hit| hit.seq).collect();
            assert_eq!(found, [n as i64 + 1], "{kind:?}: user{n}'s one event");
        }
        assert_eq!(t.store.documents(auth(), 2_000).await.unwrap().len(), 1_100, "{kind:?}");
    }
}

#[tokio::test]
async fn checkpoints_removed_forged_or_a_partition_dropped_are_named() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        t.exec_catalog("DELETE FROM {catalog}checkpoints WHERE partition = '2026-12-05/authentication'").await;
        assert_eq!(
            problem(&mut t, AUTH).await,
            Some(Problem::Unmatched { last_seq: 20, only_in: "checkpoint log" }),
            "{kind:?}: the checkpoint log outside the store still has it"
        );

        let mut t = filled(kind).await;
        t.exec_catalog("UPDATE {catalog}checkpoints SET last_seq = 19 WHERE partition = '2026-12-05/authentication'")
            .await;
        assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Signature { last_seq: 19 }), "{kind:?}");

        let mut t = filled(kind).await;
        t.remove_partition(auth()).await;
        assert_eq!(
            verify_reopened(&mut t).await[AUTH].problem,
            Some(Problem::Missing),
            "{kind:?}: the file or table alone removed"
        );

        let mut t = filled(kind).await;
        t.remove_partition(auth()).await;
        t.exec_catalog("DELETE FROM {catalog}partitions WHERE name = '2026-12-05/authentication'").await;
        t.exec_catalog("DELETE FROM {catalog}checkpoints WHERE partition = '2026-12-05/authentication'").await;
        let reports = verify_reopened(&mut t).await;
        assert_eq!(
            reports[AUTH].problem,
            Some(Problem::Unmatched { last_seq: 20, only_in: "checkpoint log" }),
            "{kind:?}: events, catalog row and catalog checkpoint gone: the log outside still names it"
        );
    }
}

/// Verifies through a store opened afresh on the same files or database (none held open).
async fn verify_reopened(t: &mut TestStore) -> BTreeMap<String, PartitionReport> {
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let mut store = Store::open(t.backend.clone(), key).await.unwrap();
    let day: Date = YESTERDAY.parse().unwrap();
    store.verify(day, day, &t.public_key).await.unwrap().into_iter().map(|r| (r.partition.clone(), r)).collect()
}

#[tokio::test]
async fn rows_appended_before_the_day_is_signed_are_refused_a_signature() {
    for kind in kinds() {
        let mut t = test_store(kind).await;
        let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
        let events: Vec<_> = (0..3).map(|n| (sign_in(day, n, "lm"), SourceCategory::Authentication)).collect();
        t.store.append(&mut events.clone(), now()).await.unwrap();
        let previous = t.hash(auth(), 3).await;
        let hash = link(&previous, 4, b"{}", b"<38>forged");
        t.insert(auth(), 4, "{}", b"<38>forged", hash, true).await;
        // Another day, untouched, is signed all the same.
        let other = sign_in(format!("{YESTERDAY}T09:00:00Z").parse().unwrap(), 9, "lm");
        t.store.append(&mut vec![(other, SourceCategory::System)], now()).await.unwrap();
        let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
        let signed: Vec<_> = closed.signed.iter().map(|c| c.partition.as_str()).collect();
        assert_eq!(signed, ["2026-12-05/system"], "{kind:?}");
        let refused = closed.refused.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        assert!(refused.contains("ends at event 4, but this SIEM wrote it up to event 3"), "{kind:?}: {refused}");
    }
}

#[tokio::test]
async fn a_late_event_in_a_closed_partition_is_signed_again_at_once() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        // Sent a minute before midnight, delivered two minutes later (within the skew limit).
        let mut late = sign_in(format!("{YESTERDAY}T23:59:00Z").parse().unwrap(), 99, "lm");
        late.created = late.timestamp + 2.minutes();
        t.store.append(&mut vec![(late, SourceCategory::Authentication)], now()).await.unwrap();
        let reports = verify(&mut t).await;
        assert_eq!((reports[AUTH].events, reports[AUTH].checkpoints), (21, 2), "{kind:?}");
        assert_eq!(reports[AUTH].problem, None, "{kind:?}");
    }
}

#[tokio::test]
async fn an_event_dated_months_back_is_kept_by_its_receive_day() {
    for kind in kinds() {
        let mut t = test_store(kind).await;
        let mut backdated = sign_in(now() - 24.hours() * 400, 1, "lm");
        backdated.created = now();
        let key = t.store.partition_of(&backdated, SourceCategory::Authentication);
        assert_eq!(key.day, now().to_zoned_datetime(TimeZone::UTC).date(), "{kind:?}");
        t.store.append(&mut vec![(backdated, SourceCategory::Authentication)], now()).await.unwrap();
        assert_eq!(t.store.documents(key, 10).await.unwrap().len(), 1, "{kind:?}");
    }
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
    for kind in kinds() {
        retention_on(kind).await;
    }
}

async fn retention_on(kind: Kind) {
    let mut t = test_store(kind).await;
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
    for months in [19, 13, 7] {
        let key = PartitionKey::parse(&day(months)).unwrap();
        assert!(t.store.documents(key, 1).await.unwrap().is_empty(), "{kind:?}: {} is gone", day(months));
    }
}

#[tokio::test]
async fn two_writers_never_fork_a_chain() {
    for kind in kinds() {
        let t = test_store(kind).await;
        let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
        let writers = (0..2).map(|w| {
            let backend = t.backend.clone();
            tokio::spawn(async move {
                let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
                let mut store = Store::open(backend, key).await.unwrap();
                for batch in 0..20 {
                    let mut events: Vec<_> = (0..10)
                        .map(|n| {
                            (
                                sign_in(day + (batch * 10 + n).seconds(), w * 1000 + n as u32, "lm"),
                                SourceCategory::Authentication,
                            )
                        })
                        .collect();
                    store.append(&mut events, now()).await.unwrap();
                }
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap();
        }
        let mut t = t;
        let reports = verify(&mut t).await;
        assert_eq!((reports[AUTH].events, reports[AUTH].problem.clone()), (400, None), "{kind:?}");
    }
}

#[tokio::test]
async fn a_partition_table_dropped_under_a_running_store_is_made_again_and_its_loss_named() {
    if !kinds().contains(&Kind::Postgres) {
        return;
    }
    let mut t = filled(Kind::Postgres).await;
    t.remove_partition(auth()).await;
    let late = || {
        let mut late = sign_in(format!("{YESTERDAY}T23:59:00Z").parse().unwrap(), 99, "lm");
        late.created = late.timestamp + 2.minutes();
        vec![(late, SourceCategory::Authentication)]
    };
    let mut batch = late();
    assert!(t.store.append(&mut batch, now()).await.is_err(), "the table is gone");
    assert_eq!(batch.len(), 1, "what failed stays in the batch");
    t.store.append(&mut batch, now()).await.expect("the retry makes the partition again");
    assert_eq!(problem(&mut t, AUTH).await, Some(Problem::Broken(Break::Removed { from: 1, to: 20 })));
}

#[tokio::test]
async fn a_read_only_role_searches_and_checks_partitions_made_after_its_grant() {
    if !kinds().contains(&Kind::Postgres) {
        return;
    }
    let mut t = test_store(Kind::Postgres).await;
    let Backend::Postgres(config) = t.backend.clone() else { unreachable!() };
    // The grants the operator guide gives a reader: on what exists, and by default on
    // what the SIEM's role creates later (a search reads a partition's own table).
    let reader = format!("siem_reader_{}", std::process::id());
    let mut db = connect(&config.url).await;
    let creator: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut db).await.unwrap();
    for statement in [
        format!("CREATE ROLE {reader} LOGIN"),
        format!("GRANT USAGE ON SCHEMA siem TO {reader}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA siem TO {reader}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {creator} IN SCHEMA siem GRANT SELECT ON TABLES TO {reader}"),
    ] {
        sqlx::query(&statement).execute(&mut db).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let day: Timestamp = format!("{YESTERDAY}T08:00:00Z").parse().unwrap();
    let events: Vec<_> =
        (0..30).map(|n| (sign_in(day + (n as i64).minutes(), n, "lm"), SourceCategory::Authentication)).collect();
    t.store.append(&mut events.clone(), now()).await.unwrap();
    t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();

    let base = config.url.split_once("://").unwrap().1.split_once('@').unwrap().1;
    let as_reader = PostgresConfig { url: format!("postgres://{reader}@{base}"), ..config.clone() };
    let mut store = Store::open_read_only(as_reader).await.unwrap();
    let page = store.search(&yesterdays("user17", None)).await.unwrap();
    assert_eq!(page.hits.iter().map(|hit| hit.seq).collect::<Vec<_>>(), [18]);
    let day: Date = YESTERDAY.parse().unwrap();
    let reports = store.verify(day, day, &t.public_key).await.unwrap();
    assert_eq!(reports.iter().map(|r| (r.events, r.problem.is_none())).collect::<Vec<_>>(), [(30, true)]);
    drop(store);
    for statement in [format!("DROP OWNED BY {reader}"), format!("DROP ROLE {reader}")] {
        sqlx::query(&statement).execute(&mut db).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

#[tokio::test]
async fn a_store_that_touches_every_partition_keeps_few_files_open() {
    let descriptors = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let mut t = test_store(Kind::Sqlite).await;
    let before = descriptors();
    // 150 days of one category, each appended to and then closed with a checkpoint, as
    // a SIEM's rounds of closing past days touch every partition it keeps.
    let first: Timestamp = "2026-07-01T08:00:00Z".parse().unwrap();
    for day in 0..150 {
        let at = first + (day * 24).hours();
        let mut event = sign_in(at, day as u32, "lm");
        event.created = at;
        t.store.append(&mut vec![(event, SourceCategory::Authentication)], at).await.unwrap();
    }
    let closed = t.store.checkpoint_closed(now(), SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!((closed.signed.len(), closed.refused.len()), (150, 0));
    let opened = descriptors().saturating_sub(before);
    // At most 64 partition files of three descriptors each (other tests of this binary
    // open a few files of their own meanwhile).
    assert!(opened <= 3 * 64 + 40, "{opened} more descriptors open for 150 partitions");
}

#[tokio::test]
async fn an_open_day_is_signed_so_far_and_whatever_was_signed_stays_checked() {
    for kind in kinds() {
        let mut t = test_store(kind).await;
        let today = key("2026-12-06", SourceCategory::Authentication);
        let name = today.name();
        let day: Date = "2026-12-06".parse().unwrap();
        let morning: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let events: Vec<_> = (0..15)
            .map(|n| (sign_in(morning + (n as i64).minutes(), n, "lm"), SourceCategory::Authentication))
            .collect();
        let lateness = SignedDuration::from_hours(1);
        t.store.append(&mut events[..10].to_vec(), now()).await.unwrap();
        let signed = t.store.checkpoint_open(now(), lateness).await.unwrap();
        assert_eq!(signed.signed.iter().map(|c| (c.interim, c.end.last_seq)).collect::<Vec<_>>(), [(true, 10)]);
        assert!(t.store.checkpoint_open(now(), lateness).await.unwrap().signed.is_empty(), "{kind:?}: unchanged");
        assert!(t.store.checkpoint_closed(now(), lateness).await.unwrap().signed.is_empty(), "{kind:?}: still open");

        // More events after the interim checkpoint: the open day goes on past it.
        t.store.append(&mut events[10..].to_vec(), now()).await.unwrap();
        let report = t.store.verify(day, day, &t.public_key).await.unwrap().remove(0);
        assert_eq!((report.events, report.checkpoints, report.problem), (15, 1, None), "{kind:?}");
        t.store.checkpoint_open(now(), lateness).await.unwrap();

        // Events removed from the end and the head moved back: the interim checkpoint at
        // event 15 still says they were there.
        let mut cut = test_store(kind).await;
        cut.store.append(&mut events.clone(), now()).await.unwrap();
        cut.store.checkpoint_open(now(), lateness).await.unwrap();
        cut.delete_events(today, |seq| seq > 12).await;
        let hash = cut.hash(today, 12).await;
        cut.move_head(today, 12, hash).await;
        let report = cut.store.verify(day, day, &cut.public_key).await.unwrap().remove(0);
        assert_eq!(report.problem, Some(Problem::Broken(Break::Removed { from: 13, to: 15 })), "{kind:?}");

        // Appended behind the SIEM's back, head moved: not signed, and named.
        let previous = t.hash(today, 15).await;
        let forged = link(&previous, 16, b"{}", b"<38>forged");
        t.insert(today, 16, "{}", b"<38>forged", forged, true).await;
        let refused = t.store.checkpoint_open(now(), lateness).await.unwrap().refused;
        let refused = refused.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        assert!(refused.contains("ends at event 16, but this SIEM wrote it up to event 15"), "{kind:?}: {refused}");

        // The day closes: the closing checkpoint in the catalog and the log, the interim
        // ones in the log only, all of them checked.
        let mut closing = test_store(kind).await;
        closing.store.append(&mut events[..10].to_vec(), now()).await.unwrap();
        closing.store.checkpoint_open(now(), lateness).await.unwrap();
        closing.store.append(&mut events[10..].to_vec(), now()).await.unwrap();
        let later = now() + SignedDuration::from_hours(24);
        let closed = closing.store.checkpoint_closed(later, lateness).await.unwrap();
        assert_eq!(closed.signed.iter().map(|c| (c.interim, c.end.last_seq)).collect::<Vec<_>>(), [(false, 15)]);
        let report = closing.store.verify(day, day, &closing.public_key).await.unwrap().remove(0);
        assert_eq!((report.events, report.checkpoints, report.problem), (15, 2, None), "{kind:?}: {name}");
    }
}

#[tokio::test]
async fn a_partition_kept_as_rows_by_an_earlier_build_is_rewritten_as_blocks_with_nothing_lost() {
    for kind in kinds() {
        let mut t = filled(kind).await;
        // The partition as builds before blocks wrote it: a row per event (in SQLite with
        // three indexes; in PostgreSQL a partition of `siem.events`), its blocks gone.
        let blocks = t.blocks(auth()).await;
        let (table, partition_column, partition_value) = match kind {
            Kind::Sqlite => ("events", "", String::new()),
            Kind::Postgres => ("siem.events", "partition, ", format!("'{AUTH}', ")),
        };
        let mut db = t.partition_sql(auth()).await;
        let columns = "seq BIGINT NOT NULL, time BIGINT NOT NULL, created BIGINT NOT NULL, source TEXT NOT NULL, \
             agency TEXT, user_name TEXT, source_ip TEXT, action TEXT, outcome TEXT NOT NULL, \
             mandatory INTEGER NOT NULL, document TEXT NOT NULL";
        let old_schema = match kind {
            Kind::Sqlite => vec![
                format!(
                    "CREATE TABLE events ({columns}, original BLOB NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (seq))"
                ),
                "CREATE INDEX events_user ON events (user_name, time)".to_owned(),
                "DROP TABLE blocks".to_owned(),
                "DROP TABLE terms".to_owned(),
            ],
            Kind::Postgres => vec![
                format!(
                    "CREATE TABLE siem.events (partition TEXT NOT NULL, {columns}, original BYTEA NOT NULL, \
                     hash BYTEA NOT NULL, PRIMARY KEY (partition, seq)) PARTITION BY LIST (partition)"
                ),
                format!(
                    "CREATE TABLE siem.events_20261205_authentication PARTITION OF siem.events FOR VALUES IN ('{AUTH}')"
                ),
                format!("DROP TABLE siem.\"{}\"", auth().table()),
            ],
        };
        for statement in old_schema {
            sqlx::query(&statement).execute(&mut db).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let insert = format!(
            "INSERT INTO {table} ({partition_column}seq, time, created, source, agency, user_name, source_ip, action, \
             outcome, mandatory, document, original, hash) \
             VALUES ({partition_value}$1, $2, $3, $4, $5, $6, $7, $8, $9, 31, $10, $11, $12)"
        );
        for event in blocks.into_iter().flat_map(|(_, events)| events) {
            sqlx::query(&insert)
                .bind(event.seq as i64)
                .bind(event.time)
                .bind(event.created)
                .bind(event.source)
                .bind(event.agency)
                .bind(event.user)
                .bind(event.ip)
                .bind(event.action)
                .bind(event.outcome.as_str())
                .bind(event.document)
                .bind(event.original)
                .bind(event.hash.to_vec())
                .execute(&mut db)
                .await
                .unwrap_or_else(|e| panic!("{insert}: {e}"));
        }
        drop(db);

        // A store opened afresh converts it: every event there, each link and the signed
        // checkpoint holding, found by user, and the rows gone.
        let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
        let mut store = Store::open(t.backend.clone(), key).await.unwrap();
        let page = store.search(&yesterdays("user7", Some("lm"))).await.unwrap();
        assert_eq!(page.hits.iter().map(|hit| hit.seq).collect::<Vec<_>>(), [8], "{kind:?}");
        let day: Date = YESTERDAY.parse().unwrap();
        let reports = store.verify(day, day, &t.public_key).await.unwrap();
        let report = reports.iter().find(|r| r.partition == AUTH).unwrap();
        assert_eq!((report.events, report.checkpoints, &report.problem), (20, 1, &None), "{kind:?}");
        assert_eq!(t.blocks(auth()).await.iter().map(|(_, events)| events.len()).sum::<usize>(), 20, "{kind:?}");
        let mut db = t.partition_sql(auth()).await;
        let left = match kind {
            Kind::Sqlite => "SELECT count(*) FROM sqlite_master WHERE name = 'events'",
            Kind::Postgres => "SELECT count(*) FROM pg_class WHERE relname = 'events'",
        };
        let left: i64 = sqlx::query_scalar(left).fetch_one(&mut db).await.unwrap();
        assert_eq!(left, 0, "{kind:?}: the rows' table is gone once its events are blocks");
        t.store = store;
    }
}

#[tokio::test]
async fn detection_records_its_positions_and_alerts_together_and_reads_events_from_a_place() {
    use makonis_siem::store::{AlertFold, AlertRecord};
    for kind in kinds() {
        let t = filled(kind).await;
        let mut detection = Store::open_for_alerts(t.backend.clone()).await.unwrap();
        assert!(detection.detection_positions().await.unwrap().is_empty(), "{kind:?}: nothing evaluated yet");
        let partitions = detection.partitions_since(YESTERDAY.parse().unwrap()).await.unwrap();
        assert!(partitions.contains(&auth()), "{kind:?}: {partitions:?}");
        assert_eq!(detection.last_seq(auth()).await.unwrap(), 20, "{kind:?}");
        let from_seven = detection.events_from(auth(), 7).await.unwrap();
        assert_eq!(from_seven.iter().map(|e| e.seq).collect::<Vec<_>>(), (7..=20).collect::<Vec<_>>(), "{kind:?}");
        assert_eq!(from_seven[0].original, b"<38>Dec  5 10:00:00 web1 sshd[1]: Failed password for user6".to_vec());
        assert!(detection.events_from(auth(), 21).await.unwrap().is_empty(), "{kind:?}");
        let alert = AlertRecord {
            id: "a1".into(),
            raised_at: now(),
            object: "ClusterDetectionRule brute-force".into(),
            rule_id: Some("0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e03".into()),
            title: "SSH brute force".into(),
            level: "high".into(),
            kind: "correlation".into(),
            agency: Some("lm".into()),
            group: r#"{"source.ip":"10.0.0.7"}"#.into(),
            first: now() - 1.minute(),
            last: now() - 1.minute() + 250.milliseconds(),
            events: r#"[{"partition":"2026-12-05/authentication","seq":6,"time":"2026-12-05T10:00:00Z"}]"#.into(),
            delay_seconds: 0.25,
            late: true,
            firings: 1,
        };
        let positions = BTreeMap::from([(auth(), 20)]);
        detection.record_detection(&positions, std::slice::from_ref(&alert), &[]).await.unwrap();
        // A later time with fewer digits of the second than the first: the fold keeps the
        // later one, by time, not by text.
        detection
            .record_detection(
                &BTreeMap::new(),
                &[],
                &[AlertFold {
                    id: "a1".into(),
                    firings: 0,
                    last: now() - 1.minute() + 500.milliseconds(),
                    events: "[]".into(),
                }],
            )
            .await
            .unwrap();
        let seventh = r#"{"partition":"2026-12-05/authentication","seq":7,"time":"2026-12-05T10:05:00Z"}"#;
        let later =
            AlertFold { id: "a1".into(), firings: 2, last: now() + 5.minutes(), events: format!("[{seventh}]") };
        detection.record_detection(&BTreeMap::from([(auth(), 21)]), &[], &[later]).await.unwrap();
        assert_eq!(detection.detection_positions().await.unwrap(), BTreeMap::from([(auth(), 21)]), "{kind:?}");
        // The repeats' events are the alert's too, after its own.
        let events = r#"[{"partition":"2026-12-05/authentication","seq":6,"time":"2026-12-05T10:00:00Z"},"#.to_string()
            + seventh
            + "]";
        let folded = AlertRecord { firings: 3, last: now() + 5.minutes(), events, ..alert };
        assert_eq!(detection.alerts(10).await.unwrap(), vec![folded], "{kind:?}: repeats folded into it");
    }
}

#[tokio::test]
async fn alerts_are_listed_by_agency_state_and_level_and_each_action_is_kept_with_who_did_it() {
    use makonis_siem::store::AlertRecord;
    use makonis_siem_core::alerts::{AlertListRequest, AlertState, TriageAction, TriageError, TriageRecord, Verdict};
    for kind in kinds() {
        let t = filled(kind).await;
        let mut store = Store::open_for_alerts(t.backend.clone()).await.unwrap();
        let raised = |id: &str, agency: Option<&str>, level: &str, seq: u64| AlertRecord {
            id: id.into(),
            raised_at: now(),
            object: "ClusterDetectionRule pack".into(),
            rule_id: None,
            title: format!("rule {id}"),
            level: level.into(),
            kind: "detection".into(),
            agency: agency.map(str::to_owned),
            group: "{}".into(),
            first: now(),
            last: now(),
            events: format!(r#"[{{"partition":"{}","seq":{seq},"time":"{}"}}]"#, auth().name(), now()),
            delay_seconds: 0.1,
            late: false,
            firings: 1,
        };
        let alerts = [
            raised("lm-high", Some("lm"), "high", 6),
            raised("vdi-low", Some("vdi"), "low", 7),
            raised("platform-critical", None, "critical", 8),
        ];
        store.record_detection(&BTreeMap::new(), &alerts, &[]).await.unwrap();
        let ids =
            |listed: Vec<makonis_siem::store::StoredAlert>| listed.into_iter().map(|a| a.record.id).collect::<Vec<_>>();
        let all = AlertListRequest { limit: 10, ..Default::default() };
        assert_eq!(ids(store.list_alerts(&all).await.unwrap()), ["platform-critical", "vdi-low", "lm-high"]);
        let lm = AlertListRequest { agencies: Some(vec!["lm".into()]), ..all.clone() };
        assert_eq!(ids(store.list_alerts(&lm).await.unwrap()), ["lm-high"], "{kind:?}: only its agency's");
        let none = AlertListRequest { agencies: Some(vec![]), ..all.clone() };
        assert!(store.list_alerts(&none).await.unwrap().is_empty(), "{kind:?}: no agencies, no alerts");
        let serious = AlertListRequest { levels: Some(vec!["high".into(), "critical".into()]), ..all.clone() };
        assert_eq!(ids(store.list_alerts(&serious).await.unwrap()), ["platform-critical", "lm-high"]);
        let rows: Vec<i64> = store.list_alerts(&all).await.unwrap().iter().map(|a| a.row).collect();
        let feed = AlertListRequest { after: Some(rows[2]), ..all.clone() };
        assert_eq!(ids(store.list_alerts(&feed).await.unwrap()), ["vdi-low", "platform-critical"], "oldest first");
        let page = AlertListRequest { before: Some(rows[0]), limit: 1, ..all.clone() };
        assert_eq!(ids(store.list_alerts(&page).await.unwrap()), ["vdi-low"]);

        let act = |action: TriageAction| TriageRecord {
            at: now().to_string(),
            actor: "lm-security".into(),
            address: "192.0.2.10".into(),
            action,
        };
        let acknowledged = store.triage_alert("lm-high", &act(TriageAction::Acknowledge)).await.unwrap();
        assert_eq!(acknowledged.unwrap().unwrap().state, AlertState::Acknowledged, "{kind:?}");
        let again = store.triage_alert("lm-high", &act(TriageAction::Acknowledge)).await.unwrap().unwrap();
        assert!(matches!(again, Err(TriageError::State { .. })), "{kind:?}: {again:?}");
        let close =
            act(TriageAction::Close { verdict: Verdict::TruePositive, comment: Some("blocked at the edge".into()) });
        store.triage_alert("lm-high", &close).await.unwrap().unwrap().unwrap();
        assert_eq!(store.triage_alert("nothing", &close).await.unwrap(), None, "{kind:?}: no such alert");

        let open = AlertListRequest { state: Some(AlertState::Open), ..all.clone() };
        assert_eq!(ids(store.list_alerts(&open).await.unwrap()), ["platform-critical", "vdi-low"], "{kind:?}");
        let closed = AlertListRequest { state: Some(AlertState::Closed), ..all };
        assert_eq!(ids(store.list_alerts(&closed).await.unwrap()), ["lm-high"], "{kind:?}");

        let detail = store.alert_detail("lm-high").await.unwrap().unwrap();
        assert_eq!(detail.alert.triage.verdict, Some(Verdict::TruePositive), "{kind:?}");
        assert_eq!(detail.history.len(), 2, "{kind:?}: the refused action is not history");
        assert_eq!(
            (detail.history[1].actor.as_str(), detail.history[1].address.as_str()),
            ("lm-security", "192.0.2.10")
        );
        assert_eq!(detail.history[1].action, close.action, "{kind:?}");
        assert_eq!(detail.events.len(), 1, "{kind:?}: its event read back from the store");
        assert_eq!(detail.events[0].seq, 6, "{kind:?}");
        assert!(detail.events[0].original.contains("sshd"), "{kind:?}: {:?}", detail.events[0]);
    }
}
