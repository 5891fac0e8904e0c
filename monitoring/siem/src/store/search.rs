//! Searches of the store and its monthly report, read from the partition files while the
//! writer appends (SQLite's WAL lets readers and one writer work at once).
//!
//! A search walks the days of its range newest first, every category's partition of a
//! day at once, and stops after the day that filled the page: events are partitioned by
//! day, so a later day's events all come before an earlier day's. (An event whose clock
//! was off by more than the skew limit is kept in the partition of its receive day; it is
//! found when that day is searched.)

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use makonis_siem_core::{
    event::Outcome,
    search::{
        After, CategoryCount, Cursor, FailedSignIns, Hit, MAX_FAILED_ROWS, Page, RemovedPartition, Report,
        ReportRequest, Search, VerifiedPartition, after_cursor, contains_pattern, page_of,
    },
};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{Store, StoreError};

/// The value of `event.category` that marks a sign-in (`authentication`).
const AUTHENTICATION: &str = "authentication";

impl Store {
    /// One page of the events `search` selects, newest first.
    pub async fn search(&mut self, search: &Search) -> Result<Page, StoreError> {
        let first = search.from.to_zoned_datetime(TimeZone::UTC).date();
        let last = (search.to - jiff::SignedDuration::from_micros(1)).to_zoned_datetime(TimeZone::UTC).date();
        let keys = self.catalog.partitions(first, last).await?;
        let mut found = Vec::new();
        let mut days: Vec<Date> = keys.iter().map(|k| k.day).collect();
        days.dedup();
        for day in days.into_iter().rev() {
            for key in keys.iter().filter(|k| k.day == day) {
                let name = key.name();
                let file = self.file(*key, false).await?;
                found.extend(search_partition(file.connection(), &name, search).await?);
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
        for key in self.catalog.partitions(first, last).await? {
            let name = key.name();
            let file = self.file(key, false).await?;
            let counts = count_outcomes(file.connection(), agency, from, to).await?;
            own_events.insert(name, counts.iter().map(|(_, n)| n).sum());
            for (outcome, events) in counts {
                let category = key.category.as_str();
                match by_category.iter_mut().find(|c| c.category == category && c.outcome == outcome) {
                    Some(count) => count.events += events,
                    None => by_category.push(CategoryCount { category: category.to_owned(), outcome, events }),
                }
            }
            for (user, ip, events) in failed_sign_ins(file.connection(), agency, from, to).await? {
                *failed.entry((user, ip)).or_default() += events;
            }
        }
        by_category.sort_by(|a, b| (&a.category, &a.outcome).cmp(&(&b.category, &b.outcome)));
        let mut failed_sign_ins: Vec<FailedSignIns> =
            failed.into_iter().map(|((user, ip), events)| FailedSignIns { user, ip, events }).collect();
        failed_sign_ins.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| (&a.user, &a.ip).cmp(&(&b.user, &b.ip))));
        failed_sign_ins.truncate(MAX_FAILED_ROWS);
        let removed = self
            .catalog
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
        // An agency sees the partitions that hold its events, with its own count.
        let verified = self
            .verify(first, last, public_key)
            .await?
            .into_iter()
            .filter_map(|report| {
                let own = own_events.get(&report.partition).copied();
                let events = match agency {
                    Some(_) => own.filter(|n| *n > 0)?,
                    None => report.events,
                };
                Some(VerifiedPartition {
                    partition: report.partition,
                    events,
                    checkpoints: report.checkpoints,
                    problems: report.problem.map(|p| p.to_string()).into_iter().collect(),
                })
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

/// Adds `AND agency IN (…)` for a search limited to agencies (none at all: nothing).
fn push_agencies(query: &mut QueryBuilder<'_, Sqlite>, agencies: Option<&[String]>) {
    if let Some(agencies) = agencies {
        if agencies.is_empty() {
            query.push(" AND 0");
            return;
        }
        query.push(" AND agency IN (");
        let mut list = query.separated(", ");
        for agency in agencies {
            list.push_bind(agency.clone());
        }
        query.push(")");
    }
}

/// The events of one partition that `search` selects, at most one more than a page.
async fn search_partition(
    connection: &mut sqlx::SqliteConnection,
    name: &str,
    search: &Search,
) -> Result<Vec<(Cursor, Hit)>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT seq, time, source, agency, user_name, source_ip, action, outcome, document, original \
         FROM events WHERE time >= ",
    );
    query.push_bind(search.from.as_microsecond()).push(" AND time < ").push_bind(search.to.as_microsecond());
    push_agencies(&mut query, search.agencies.as_deref());
    for (column, value) in
        [("source", &search.source), ("user_name", &search.user), ("source_ip", &search.ip), ("action", &search.action)]
    {
        if let Some(value) = value {
            query.push(format_args!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    if let Some(outcome) = search.outcome {
        query.push(" AND outcome = ").push_bind(outcome.as_str());
    }
    if let Some(text) = &search.text {
        query.push(" AND CAST(original AS TEXT) LIKE ").push_bind(contains_pattern(text)).push(" ESCAPE '\\'");
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
    query.push(" ORDER BY time DESC, seq DESC LIMIT ").push_bind(search.limit as i64 + 1);
    let rows = query.build().fetch_all(connection).await?;
    rows.iter()
        .map(|row| {
            let (seq, time): (i64, i64) = (row.get(0), row.get(1));
            let at =
                Timestamp::from_microsecond(time).map_err(|_| StoreError::Corrupt(format!("event time {time}")))?;
            let cursor = Cursor { time, partition: name.to_owned(), seq };
            let hit = Hit {
                cursor: cursor.to_string(),
                time: at.to_string(),
                partition: name.to_owned(),
                seq,
                source: row.get(2),
                agency: row.get(3),
                user: row.get(4),
                ip: row.get(5),
                action: row.get(6),
                outcome: row.get(7),
                document: row.get(8),
                original: String::from_utf8_lossy(&row.get::<Vec<u8>, _>(9)).into_owned(),
            };
            Ok((cursor, hit))
        })
        .collect()
}

/// The events of the month in one partition by outcome, of one agency or all.
async fn count_outcomes(
    connection: &mut sqlx::SqliteConnection,
    agency: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new("SELECT outcome, count(*) FROM events WHERE time >= ");
    query.push_bind(from.as_microsecond()).push(" AND time < ").push_bind(to.as_microsecond());
    if let Some(agency) = agency {
        query.push(" AND agency = ").push_bind(agency.to_owned());
    }
    query.push(" GROUP BY outcome");
    let rows = query.build().fetch_all(connection).await?;
    Ok(rows.iter().map(|row| (row.get(0), u64::try_from(row.get::<i64, _>(1)).unwrap_or(0))).collect())
}

/// The month's failed sign-ins in one partition by user and address.
async fn failed_sign_ins(
    connection: &mut sqlx::SqliteConnection,
    agency: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, String, u64)>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT coalesce(user_name, ''), coalesce(source_ip, ''), count(*) FROM events WHERE time >= ",
    );
    query.push_bind(from.as_microsecond()).push(" AND time < ").push_bind(to.as_microsecond());
    query.push(" AND outcome = ").push_bind(Outcome::Failure.as_str());
    query.push(" AND json_extract(document, '$.event.category[0]') = ").push_bind(AUTHENTICATION);
    if let Some(agency) = agency {
        query.push(" AND agency = ").push_bind(agency.to_owned());
    }
    query.push(" GROUP BY 1, 2");
    let rows = query.build().fetch_all(connection).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1), u64::try_from(row.get::<i64, _>(2)).unwrap_or(0))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_limited_to_no_agency_selects_nothing() {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT 1 FROM events WHERE 1");
        push_agencies(&mut query, Some(&[]));
        assert_eq!(query.sql(), "SELECT 1 FROM events WHERE 1 AND 0");
        let mut query = QueryBuilder::<Sqlite>::new("SELECT 1 FROM events WHERE 1");
        push_agencies(&mut query, Some(&["vdi".into(), "lm".into()]));
        assert_eq!(query.sql(), "SELECT 1 FROM events WHERE 1 AND agency IN (?, ?)");
        let mut query = QueryBuilder::<Sqlite>::new("SELECT 1 FROM events WHERE 1");
        push_agencies(&mut query, None);
        assert_eq!(query.sql(), "SELECT 1 FROM events WHERE 1");
    }
}
