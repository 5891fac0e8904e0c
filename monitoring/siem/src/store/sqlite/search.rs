//! The SQLite store's searches: one partition file at a time, read while the writer
//! appends (WAL lets readers and one writer work at once).

use jiff::Timestamp;
use makonis_siem_core::{
    event::Outcome,
    search::{Cursor, Hit, Search},
};
use sqlx::{QueryBuilder, Row, Sqlite as Db, SqliteConnection};

use super::Sqlite;
use crate::store::{
    PartitionKey, StoreError,
    search::{AUTHENTICATION, HIT_COLUMNS, HitRow, hit, push_filters},
};

impl Sqlite {
    pub(in crate::store) async fn search_partition(
        &mut self,
        key: PartitionKey,
        search: &Search,
    ) -> Result<Vec<(Cursor, Hit)>, StoreError> {
        search_partition(self.file(key, false).await?.connection(), &key.name(), search).await
    }

    pub(in crate::store) async fn count_outcomes(
        &mut self,
        key: PartitionKey,
        agency: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        count_outcomes(self.file(key, false).await?.connection(), agency, from, to).await
    }

    pub(in crate::store) async fn failed_sign_ins(
        &mut self,
        key: PartitionKey,
        agency: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        failed_sign_ins(self.file(key, false).await?.connection(), agency, from, to).await
    }
}

/// The events of one partition that `search` selects, at most one more than a page.
async fn search_partition(
    connection: &mut SqliteConnection,
    name: &str,
    search: &Search,
) -> Result<Vec<(Cursor, Hit)>, StoreError> {
    let mut query = QueryBuilder::<Db>::new(format!("SELECT {HIT_COLUMNS} FROM events WHERE "));
    push_filters(&mut query, name, search);
    if let Some(text) = &search.text {
        // Bytes within bytes, as PostgreSQL's LIKE over `bytea` matches: the same answers on
        // both stores.
        query.push(" AND instr(original, ").push_bind(text.as_bytes().to_vec()).push(") > 0");
    }
    query.push(" ORDER BY time DESC, seq DESC LIMIT ").push_bind(search.limit as i64 + 1);
    let rows = query.build_query_as::<HitRow>().fetch_all(connection).await?;
    rows.into_iter().map(|row| hit(name, row)).collect()
}

/// The events of the month in one partition by outcome, of one agency or all.
async fn count_outcomes(
    connection: &mut SqliteConnection,
    agency: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut query = QueryBuilder::<Db>::new("SELECT outcome, count(*) FROM events WHERE time >= ");
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
    connection: &mut SqliteConnection,
    agency: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, String, u64)>, StoreError> {
    let mut query = QueryBuilder::<Db>::new(
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
