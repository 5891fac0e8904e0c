//! The PostgreSQL store's searches, one partition at a time (the partition's name selects
//! its table alone); the same filters as SQLite's, from [`crate::store::search`].

use jiff::Timestamp;
use makonis_siem_core::{
    event::Outcome,
    search::{Cursor, Hit, Search, contains_pattern},
};
use sqlx::{Postgres as Pg, QueryBuilder, Row};

use super::Postgres;
use crate::store::{
    PartitionKey, StoreError,
    search::{AUTHENTICATION, HIT_COLUMNS, HitRow, hit, push_filters},
};

impl Postgres {
    pub(in crate::store) async fn search_partition(
        &mut self,
        key: PartitionKey,
        search: &Search,
    ) -> Result<Vec<(Cursor, Hit)>, StoreError> {
        let name = key.name();
        let mut query = QueryBuilder::<Pg>::new(format!("SELECT {HIT_COLUMNS} FROM siem.events WHERE partition = "));
        query.push_bind(name.clone()).push(" AND ");
        push_filters(&mut query, &name, search);
        if let Some(text) = &search.text {
            // The original's bytes against the pattern's (backslash escapes, as in SQLite).
            query.push(" AND original LIKE ").push_bind(contains_pattern(text).into_bytes());
        }
        query.push(" ORDER BY time DESC, seq DESC LIMIT ").push_bind(search.limit as i64 + 1);
        let rows = query.build_query_as::<HitRow>().fetch_all(&self.pool).await?;
        rows.into_iter().map(|row| hit(&name, row)).collect()
    }

    pub(in crate::store) async fn count_outcomes(
        &mut self,
        key: PartitionKey,
        agency: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut query = QueryBuilder::<Pg>::new("SELECT outcome, count(*) FROM siem.events WHERE partition = ");
        query.push_bind(key.name());
        query
            .push(" AND time >= ")
            .push_bind(from.as_microsecond())
            .push(" AND time < ")
            .push_bind(to.as_microsecond());
        if let Some(agency) = agency {
            query.push(" AND agency = ").push_bind(agency.to_owned());
        }
        query.push(" GROUP BY outcome");
        let rows = query.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|row| (row.get(0), u64::try_from(row.get::<i64, _>(1)).unwrap_or(0))).collect())
    }

    pub(in crate::store) async fn failed_sign_ins(
        &mut self,
        key: PartitionKey,
        agency: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut query = QueryBuilder::<Pg>::new(
            "SELECT coalesce(user_name, ''), coalesce(source_ip, ''), count(*) FROM siem.events WHERE partition = ",
        );
        query.push_bind(key.name());
        query
            .push(" AND time >= ")
            .push_bind(from.as_microsecond())
            .push(" AND time < ")
            .push_bind(to.as_microsecond());
        query.push(" AND outcome = ").push_bind(Outcome::Failure.as_str());
        query.push(" AND (document::jsonb -> 'event' -> 'category' ->> 0) = ").push_bind(AUTHENTICATION);
        if let Some(agency) = agency {
            query.push(" AND agency = ").push_bind(agency.to_owned());
        }
        query.push(" GROUP BY 1, 2");
        let rows = query.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1), u64::try_from(row.get::<i64, _>(2)).unwrap_or(0))).collect())
    }
}
