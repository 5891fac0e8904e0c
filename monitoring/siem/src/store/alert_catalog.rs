//! The alerts' SQL, written once for both catalogs: detection's record (positions,
//! alerts, folds), the lists and pages of alerts, and triage (each action recorded with
//! the handling it leads to, in one transaction).
//!
//! The two catalogs reach their database differently (a SQLite connection, a PostgreSQL
//! pool) and name their tables and row numbers differently; [`alert_catalog!`] writes the
//! same methods for each from those differences, so that a query cannot drift between
//! them. sqlx's generic `Executor` bounds for this are longer than the queries.

/// The alert methods of a catalog type: `table_prefix` before each table's name,
/// `row` its alerts' row number column, `lock` what locks an alert's row for the rest of
/// a transaction, and `|this| executor` how a method reaches the database.
macro_rules! alert_catalog {
    ($catalog:ty, prefix: $prefix:literal, row: $row:literal, lock: $lock:literal, |$this:ident| $executor:expr) => {
        impl $catalog {
            /// Records detection's positions, the alerts raised and the firings folded
            /// into alerts recorded before, in one transaction.
            pub(in crate::store) async fn record_detection(
                &mut self,
                positions: &[(String, u64)],
                alerts: &[$crate::store::AlertRecord],
                folds: &[$crate::store::AlertFold],
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::rows;
                let $this = self;
                let mut tx = sqlx::Acquire::begin($executor).await?;
                for (partition, seq) in positions {
                    sqlx::query(concat!(
                        "INSERT INTO ",
                        $prefix,
                        "detection_positions (partition, seq) VALUES ($1, $2) \
                         ON CONFLICT (partition) DO UPDATE SET seq = excluded.seq"
                    ))
                    .bind(partition)
                    .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
                }
                for alert in alerts {
                    sqlx::query(&rows::alert_insert(concat!($prefix, "alerts")))
                        .bind(&alert.id)
                        .bind(rows::alert_time(alert.raised_at))
                        .bind(&alert.object)
                        .bind(&alert.rule_id)
                        .bind(&alert.title)
                        .bind(&alert.level)
                        .bind(&alert.kind)
                        .bind(&alert.agency)
                        .bind(&alert.group)
                        .bind(rows::alert_time(alert.first))
                        .bind(rows::alert_time(alert.last))
                        .bind(&alert.events)
                        .bind(alert.delay_seconds)
                        .bind(alert.late)
                        .bind(alert.firings)
                        .execute(&mut *tx)
                        .await?;
                }
                for fold in folds {
                    let existing: Option<(String,)> = sqlx::query_as(&rows::alert_events(concat!($prefix, "alerts")))
                        .bind(&fold.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let events = $crate::store::merge_events(
                        existing.as_ref().map_or("[]", |(events,)| events.as_str()),
                        &fold.events,
                    );
                    sqlx::query(&rows::alert_fold(concat!($prefix, "alerts")))
                        .bind(fold.firings)
                        .bind(rows::alert_time(fold.last))
                        .bind(&fold.id)
                        .bind(events)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            /// Alerts as [`makonis_siem_core::alerts::AlertListRequest`] selects them
            /// (its agencies, state, levels and row bounds), in its order.
            pub(in crate::store) async fn list_alerts(
                &mut self,
                request: &makonis_siem_core::alerts::AlertListRequest,
            ) -> Result<Vec<$crate::store::StoredAlert>, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::store::rows;
                let $this = self;
                let select = rows::alert_select(concat!($prefix, "alerts"), concat!($prefix, "alert_triage"), $row);
                let (sql, binds) = rows::alert_list_query(&select, $row, request);
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = match bind {
                        rows::Bind::Text(text) => query.bind(text),
                        rows::Bind::Number(number) => query.bind(number),
                    };
                }
                let found = query.fetch_all($executor).await?;
                found
                    .iter()
                    .map(|row| {
                        rows::stored_alert(
                            row.get(0),
                            std::array::from_fn(|i| row.get(i + 1)),
                            (row.get(13), row.get(14), row.get(15)),
                            std::array::from_fn(|i| row.get(i + 16)),
                        )
                    })
                    .collect()
            }

            /// One alert with what people did to it, oldest first; `None` when there is
            /// no such alert.
            pub(in crate::store) async fn alert(
                &mut self,
                id: &str,
            ) -> Result<
                Option<($crate::store::StoredAlert, Vec<makonis_siem_core::alerts::TriageRecord>)>,
                $crate::store::StoreError,
            > {
                use sqlx::Row;
                use $crate::store::rows;
                let $this = self;
                let select = rows::alert_select(concat!($prefix, "alerts"), concat!($prefix, "alert_triage"), $row);
                let found = sqlx::query(&format!("{select} WHERE a.id = $1")).bind(id).fetch_optional($executor).await?;
                let Some(row) = found else { return Ok(None) };
                let alert = rows::stored_alert(
                    row.get(0),
                    std::array::from_fn(|i| row.get(i + 1)),
                    (row.get(13), row.get(14), row.get(15)),
                    std::array::from_fn(|i| row.get(i + 16)),
                )?;
                let history = sqlx::query(concat!(
                    "SELECT at, actor, address, action_json FROM ",
                    $prefix,
                    "alert_actions WHERE alert_id = $1 ORDER BY at, ",
                    $row
                ))
                .bind(id)
                .fetch_all($executor)
                .await?;
                let history = history
                    .iter()
                    .map(|row| rows::triage_record(row.get(0), row.get(1), row.get(2), row.get(3)))
                    .collect::<Result<_, _>>()?;
                Ok(Some((alert, history)))
            }

            /// Records `record` on alert `id` with the handling it leads to, in one
            /// transaction that holds the alert against another action meanwhile.
            /// `None` when there is no such alert; the refusal when its state does not
            /// allow the action (nothing is recorded then).
            pub(in crate::store) async fn triage(
                &mut self,
                id: &str,
                record: &makonis_siem_core::alerts::TriageRecord,
            ) -> Result<
                Option<Result<makonis_siem_core::alerts::Triage, makonis_siem_core::alerts::TriageError>>,
                $crate::store::StoreError,
            > {
                use sqlx::Row;
                use $crate::store::rows;
                let $this = self;
                let mut tx = sqlx::Acquire::begin($executor).await?;
                let exists = sqlx::query(concat!("SELECT id FROM ", $prefix, "alerts WHERE id = $1", $lock))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                let current = sqlx::query(concat!(
                    "SELECT state, assignee, verdict, updated_at FROM ",
                    $prefix,
                    "alert_triage WHERE alert_id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let current = match current {
                    Some(row) => rows::triage([row.get(0), row.get(1), row.get(2), row.get(3)])?,
                    None => makonis_siem_core::alerts::Triage::default(),
                };
                let next = match current.apply(&record.action, &record.at) {
                    Ok(next) => next,
                    Err(refused) => return Ok(Some(Err(refused))),
                };
                sqlx::query(concat!(
                    "INSERT INTO ",
                    $prefix,
                    "alert_triage (alert_id, state, assignee, verdict, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (alert_id) DO UPDATE SET state = excluded.state, assignee = excluded.assignee, \
                     verdict = excluded.verdict, updated_at = excluded.updated_at"
                ))
                .bind(id)
                .bind(next.state.as_str())
                .bind(&next.assignee)
                .bind(next.verdict.map(|v| v.as_str()))
                .bind(&next.updated_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(concat!(
                    "INSERT INTO ",
                    $prefix,
                    "alert_actions (alert_id, at, actor, address, action_json) VALUES ($1, $2, $3, $4, $5)"
                ))
                .bind(id)
                .bind(&record.at)
                .bind(&record.actor)
                .bind(&record.address)
                .bind(rows::action_json(&record.action))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(Ok(next)))
            }
        }
    };
}

pub(super) use alert_catalog;
