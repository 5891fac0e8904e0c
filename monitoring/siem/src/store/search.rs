//! Searches of the store and its monthly report, on either database.
//!
//! A search walks the days of its range newest first, every category's partition of a
//! day at once, and stops after the day that filled the page: events are partitioned by
//! day, so a later day's events all come before an earlier day's. Within a partition, the
//! blocks that have the search's terms are opened newest first, and its filters are
//! applied to each event ([`Search::selects`]), the same on either database. (An event
//! dated more than 5 minutes ahead of its arrival or more than a week before it is kept,
//! and found, by its receive time: see `Event::retention_time`.)

use std::{collections::BTreeMap, ops::ControlFlow};

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use makonis_siem_core::{
    block::{BlockEvent, TermKind, term},
    event::Outcome,
    search::{
        BlockTerms, CategoryCount, Cursor, FailedSignIns, Hit, MAX_FAILED_ROWS, Page, RemovedPartition, Report,
        ReportRequest, Search, VerifiedPartition, page_of,
    },
    silence::Activity,
};

use super::{PartitionKey, Store, StoreError, blocks::events_of};

/// The value of `event.category` that marks a sign-in (`authentication`).
const AUTHENTICATION: &str = "authentication";

impl Store {
    /// One page of the events `search` selects, newest first.
    pub async fn search(&mut self, search: &Search) -> Result<Page, StoreError> {
        let first = search.from.to_zoned_datetime(TimeZone::UTC).date();
        let last = (search.to - jiff::SignedDuration::from_micros(1)).to_zoned_datetime(TimeZone::UTC).date();
        let keys = self.db.partitions(first, last).await?;
        let mut found = Vec::new();
        let mut days: Vec<Date> = keys.iter().map(|k| k.day).collect();
        days.dedup();
        for day in days.into_iter().rev() {
            for key in keys.iter().filter(|k| k.day == day) {
                found.extend(self.search_partition(*key, search).await?);
            }
            if found.len() > search.limit {
                break;
            }
        }
        Ok(page_of(found, search.limit))
    }

    /// The monthly report of one agency (or of the whole platform), with the month's
    /// partitions verified against `public_key` now, and the silences of the LogSources
    /// the request names up to `now` (or the month's end).
    pub async fn report(
        &mut self,
        request: &ReportRequest,
        first: Date,
        next: Date,
        public_key: &[u8],
        now: Timestamp,
    ) -> Result<Report, StoreError> {
        let from = TimeZone::UTC.to_timestamp(first.at(0, 0, 0, 0)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let to = TimeZone::UTC.to_timestamp(next.at(0, 0, 0, 0)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let last = next.yesterday().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let agency = request.agency.as_deref();
        let mut by_category: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
        let mut failed: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut own_events: BTreeMap<String, u64> = BTreeMap::new();
        let mut activity = Activity::new(from, to, request.sources.iter().map(|s| s.source.clone()));
        for key in self.db.partitions(first, last).await? {
            let tally = self.tally(key, agency, from, to, &mut activity).await?;
            own_events.insert(key.name(), tally.outcomes.values().sum());
            for (outcome, events) in tally.outcomes {
                *by_category.entry((key.category.as_str(), outcome)).or_default() += events;
            }
            for (user_and_ip, events) in tally.failed_sign_ins {
                *failed.entry(user_and_ip).or_default() += events;
            }
        }
        let by_category = by_category
            .into_iter()
            .map(|((category, outcome), events)| CategoryCount {
                category: category.to_owned(),
                outcome: outcome.to_owned(),
                events,
            })
            .collect();
        let mut failed_sign_ins: Vec<FailedSignIns> =
            failed.into_iter().map(|((user, ip), events)| FailedSignIns { user, ip, events }).collect();
        failed_sign_ins.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| (&a.user, &a.ip).cmp(&(&b.user, &b.ip))));
        failed_sign_ins.truncate(MAX_FAILED_ROWS);
        let removed = self
            .db
            .removals()
            .await?
            .into_iter()
            .filter(|r| r.removed_at >= from && r.removed_at < to)
            .map(|r| RemovedPartition {
                partition: r.partition,
                removed_at: r.removed_at.to_string(),
                events: r.events,
                policy: r.policy,
                months: r.months,
            })
            .collect();
        // An agency sees (and has verified) only the partitions that hold its events, with
        // its own count; the platform's report, every partition of the month.
        let own = |name: &str| own_events.get(name).copied().unwrap_or(0);
        let verified = self
            .verify_where(first, last, public_key, |key| agency.is_none() || own(&key.name()) > 0)
            .await?
            .into_iter()
            .map(|report| VerifiedPartition {
                events: if agency.is_some() { own(&report.partition) } else { report.events },
                partition: report.partition,
                checkpoints: report.checkpoints,
                problems: report.problem.map(|p| p.to_string()).into_iter().collect(),
            })
            .collect();
        let silences = activity.silences(&request.sources, now.min(to));
        Ok(Report {
            month: request.month.clone(),
            agency: request.agency.clone(),
            by_category,
            failed_sign_ins,
            removed,
            verified,
            silences,
        })
    }
}

/// A partition's events of a month, counted for the report.
#[derive(Debug, Default)]
struct Tally {
    /// Events by outcome.
    outcomes: BTreeMap<&'static str, u64>,
    /// Failed sign-ins by user and address (empty when the event has none).
    failed_sign_ins: BTreeMap<(String, String), u64>,
}

impl Store {
    /// The events of one partition that `search` selects, at most one more than a page,
    /// newest first. Blocks are opened newest first, and once a page's worth is found, a
    /// block whose every event is older than the oldest of them is not opened at all.
    async fn search_partition(&mut self, key: PartitionKey, search: &Search) -> Result<Vec<(Cursor, Hit)>, StoreError> {
        let name = key.name();
        let (from, to) = (search.from.as_microsecond(), search.to.as_microsecond());
        let mut blocks = self.blocks_within(key, &search.block_terms(), from, to).await?;
        blocks.sort_by_key(|block| std::cmp::Reverse(block.max_time));
        let wanted = search.limit + 1;
        let mut found: Vec<(Cursor, Hit)> = Vec::new();
        self.visit_blocks(key, &blocks, |block, body| {
            if found.len() >= wanted && found.last().is_some_and(|(oldest, _)| block.max_time < oldest.time) {
                return Ok(ControlFlow::Break(()));
            }
            for event in events_of(&name, block.first_seq, body)? {
                if search.selects(&name, &event) {
                    found.push(hit(&name, event)?);
                }
            }
            found.sort_by(|a, b| b.0.cmp(&a.0));
            found.truncate(wanted);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok(found)
    }

    /// A partition's events in `from..to` of one agency (or all), counted, and the minutes
    /// they arrived in noted in `activity`.
    async fn tally(
        &mut self,
        key: PartitionKey,
        agency: Option<&str>,
        from: Timestamp,
        to: Timestamp,
        activity: &mut Activity,
    ) -> Result<Tally, StoreError> {
        let name = key.name();
        let (from, to) = (from.as_microsecond(), to.as_microsecond());
        let terms = BlockTerms { all: agency.map(|a| term(TermKind::Agency, a)).into_iter().collect(), any: None };
        let mut tally = Tally::default();
        let blocks = self.blocks_within(key, &terms, from, to).await?;
        self.visit_blocks(key, &blocks, |block, body| {
            for event in events_of(&name, block.first_seq, body)? {
                if event.time < from || event.time >= to || agency.is_some_and(|a| event.agency.as_deref() != Some(a)) {
                    continue;
                }
                activity.heard(&event.source, event.created);
                *tally.outcomes.entry(event.outcome.as_str()).or_default() += 1;
                if event.outcome == Outcome::Failure && event.category.as_deref() == Some(AUTHENTICATION) {
                    let user_and_ip = (event.user.unwrap_or_default(), event.ip.unwrap_or_default());
                    *tally.failed_sign_ins.entry(user_and_ip).or_default() += 1;
                }
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok(tally)
    }
}

/// A stored event found in partition `name`, and its place in the order of results.
pub(super) fn hit(name: &str, event: BlockEvent) -> Result<(Cursor, Hit), StoreError> {
    let at = Timestamp::from_microsecond(event.time)
        .map_err(|_| StoreError::Corrupt(format!("event time {} in {name}", event.time)))?;
    let seq = event.seq as i64;
    let cursor = Cursor { time: event.time, partition: name.to_owned(), seq };
    let hit = Hit {
        cursor: cursor.to_string(),
        time: at.to_string(),
        partition: name.to_owned(),
        seq,
        source: event.source,
        agency: event.agency,
        user: event.user,
        ip: event.ip,
        action: event.action,
        outcome: event.outcome.as_str().to_owned(),
        document: event.document,
        original: String::from_utf8_lossy(&event.original).into_owned(),
    };
    Ok((cursor, hit))
}
