//! Searches of the store and its monthly report, on either database.
//!
//! A search walks the days of its range newest first, every category's partition of a
//! day at once, and stops after the day that filled the page: events are partitioned by
//! day, so a later day's events all come before an earlier day's. (An event dated more
//! than 5 minutes ahead of its arrival or more than a week before it is kept, and found,
//! by its receive time: see `Event::retention_time`.)

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use makonis_siem_core::search::{
    After, CategoryCount, Cursor, FailedSignIns, Hit, MAX_FAILED_ROWS, Page, RemovedPartition, Report, ReportRequest,
    Search, VerifiedPartition, after_cursor, page_of,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Store, StoreError};

/// The value of `event.category` that marks a sign-in (`authentication`).
pub(super) const AUTHENTICATION: &str = "authentication";

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
                found.extend(self.db.search_partition(*key, search).await?);
            }
            if found.len() > search.limit {
                break;
            }
        }
        Ok(page_of(found, search.limit))
    }

    /// The monthly report of one agency (or of the whole platform), with the month's
    /// partitions verified against `public_key` now.
    pub async fn report(
        &mut self,
        request: &ReportRequest,
        first: Date,
        next: Date,
        public_key: &[u8],
    ) -> Result<Report, StoreError> {
        let from = TimeZone::UTC.to_timestamp(first.at(0, 0, 0, 0)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let to = TimeZone::UTC.to_timestamp(next.at(0, 0, 0, 0)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let last = next.yesterday().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let agency = request.agency.as_deref();
        let mut by_category: Vec<CategoryCount> = Vec::new();
        let mut failed: std::collections::BTreeMap<(String, String), u64> = Default::default();
        let mut own_events: std::collections::BTreeMap<String, u64> = Default::default();
        for key in self.db.partitions(first, last).await? {
            let counts = self.db.count_outcomes(key, agency, from, to).await?;
            own_events.insert(key.name(), counts.iter().map(|(_, n)| n).sum());
            for (outcome, events) in counts {
                let category = key.category.as_str();
                match by_category.iter_mut().find(|c| c.category == category && c.outcome == outcome) {
                    Some(count) => count.events += events,
                    None => by_category.push(CategoryCount { category: category.to_owned(), outcome, events }),
                }
            }
            for (user, ip, events) in self.db.failed_sign_ins(key, agency, from, to).await? {
                *failed.entry((user, ip)).or_default() += events;
            }
        }
        by_category.sort_by(|a, b| (&a.category, &a.outcome).cmp(&(&b.category, &b.outcome)));
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
        Ok(Report {
            month: request.month.clone(),
            agency: request.agency.clone(),
            by_category,
            failed_sign_ins,
            removed,
            verified,
        })
    }
}

/// The columns a hit is read from, in the order [`hit`] takes them.
pub(super) const HIT_COLUMNS: &str =
    "seq, time, source, agency, user_name, source_ip, action, outcome, document, original";

/// A hit's columns as read.
pub(super) type HitRow =
    (i64, i64, String, Option<String>, Option<String>, Option<String>, Option<String>, String, String, Vec<u8>);

/// A hit of partition `name`, and its place in the order of results.
pub(super) fn hit(
    name: &str,
    (seq, time, source, agency, user, ip, action, outcome, document, original): HitRow,
) -> Result<(Cursor, Hit), StoreError> {
    let at = Timestamp::from_microsecond(time).map_err(|_| StoreError::Corrupt(format!("event time {time}")))?;
    let cursor = Cursor { time, partition: name.to_owned(), seq };
    let hit = Hit {
        cursor: cursor.to_string(),
        time: at.to_string(),
        partition: name.to_owned(),
        seq,
        source,
        agency,
        user,
        ip,
        action,
        outcome,
        document,
        original: String::from_utf8_lossy(&original).into_owned(),
    };
    Ok((cursor, hit))
}

/// The conditions of `search` on partition `name` but its free text, in the SQL both
/// databases speak: the time range, the agencies (none at all: nothing), the fields,
/// the outcome, and the place after the cursor.
pub(super) fn push_filters<'a, DB>(query: &mut QueryBuilder<'a, DB>, name: &str, search: &Search)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
{
    query
        .push("time >= ")
        .push_bind(search.from.as_microsecond())
        .push(" AND time < ")
        .push_bind(search.to.as_microsecond());
    match search.agencies.as_deref() {
        Some([]) => {
            query.push(" AND FALSE");
        }
        Some(agencies) => {
            query.push(" AND agency IN (");
            let mut list = query.separated(", ");
            for agency in agencies {
                list.push_bind(agency.clone());
            }
            query.push(")");
        }
        None => {}
    }
    for (column, value) in
        [("source", &search.source), ("user_name", &search.user), ("source_ip", &search.ip), ("action", &search.action)]
    {
        if let Some(value) = value {
            query.push(format_args!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    if let Some(outcome) = search.outcome {
        query.push(" AND outcome = ").push_bind(outcome.as_str().to_owned());
    }
    if let Some(cursor) = &search.after {
        match after_cursor(name, cursor) {
            After::AtOrBefore => query.push(" AND time <= ").push_bind(cursor.time),
            After::Before => query.push(" AND time < ").push_bind(cursor.time),
            After::EarlierPlace => query
                .push(" AND (time < ")
                .push_bind(cursor.time)
                .push(" OR (time = ")
                .push_bind(cursor.time)
                .push(" AND seq < ")
                .push_bind(cursor.seq)
                .push("))"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(agencies: Option<Vec<String>>) -> Search {
        let from: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        Search {
            from,
            to: from + jiff::SignedDuration::from_hours(24),
            agencies,
            source: None,
            user: None,
            ip: None,
            action: None,
            outcome: None,
            text: None,
            limit: 10,
            after: None,
        }
    }

    #[test]
    fn a_search_limited_to_no_agency_selects_nothing() {
        let sql = |agencies| {
            let mut query = QueryBuilder::<sqlx::Postgres>::new("");
            push_filters(&mut query, "2026-12-01/system", &search(agencies));
            query.sql().to_owned()
        };
        assert_eq!(sql(Some(vec![])), "time >= $1 AND time < $2 AND FALSE");
        assert_eq!(sql(Some(vec!["vdi".into(), "lm".into()])), "time >= $1 AND time < $2 AND agency IN ($3, $4)");
        assert_eq!(sql(None), "time >= $1 AND time < $2");
    }
}
