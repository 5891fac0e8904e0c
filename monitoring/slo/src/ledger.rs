//! The SLA ledger in SQL: objectives (kept after deletion), outages as intervals, and
//! the incidents burn-rate alerts open. The schema is the portal's
//! (`portal/migrations/`); every query uses `$n` placeholders, which SQLite and
//! PostgreSQL both accept.

use std::collections::HashMap;

use makonis_slo_core::{
    HolidayCalendar, Interval, Objective, SupportHours, WeeklyWindow,
    report::{ObjectiveRecord, OutageRecord},
    window::Window,
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row, any::AnyRow};

/// Why the ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database could not be reached or refused a statement.
    #[error("SLA ledger: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row could not be read back (a hand-edited row, or a newer schema).
    #[error("SLA ledger: stored {what} is not readable: {why}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why.
        why: String,
    },
}

/// An objective as the engine writes it to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveRow {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The agency's code, or empty for the platform's own objectives.
    pub agency: String,
    /// The instance it measures, or empty.
    pub instance: String,
    /// The service as people call it.
    pub service: String,
    /// The probe it reads outages from, or empty.
    pub probe: String,
    /// The target in percent.
    pub target_percent: f64,
    /// When downtime counts.
    pub support: SupportHours,
    /// The measurement window.
    pub window: Window,
    /// Planned maintenance.
    pub maintenance: Vec<WeeklyWindow>,
    /// When the objective was created (Unix ms).
    pub created_at: i64,
}

/// An outage that has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOutage {
    /// Its id.
    pub id: String,
    /// The probe's namespace.
    pub namespace: String,
    /// The probe.
    pub probe: String,
    /// When it began.
    pub started_at: i64,
}

/// An incident a burn-rate alert opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRow {
    /// Its id, e.g. `inc-3f2a…`.
    pub id: String,
    /// The agency's code, or empty for the platform.
    pub agency: String,
    /// The objective's namespace.
    pub namespace: String,
    /// The instance, or empty.
    pub instance: String,
    /// The objective.
    pub objective: String,
    /// The burn-rate rule that opened it, e.g. `fast`.
    pub rule: String,
    /// `page` or `ticket`.
    pub severity: String,
    /// One line for people.
    pub summary: String,
    /// When it was opened (Unix ms).
    pub opened_at: i64,
    /// When the alerts stopped firing, if they have.
    pub resolved_at: Option<i64>,
}

/// The ledger over a connection pool of the portal's database.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: AnyPool,
}

/// A weekly window as the ledger stores it.
#[derive(Serialize, Deserialize)]
struct StoredWindow {
    weekday: i8,
    start_minute: u16,
    duration_ms: i64,
}

impl Ledger {
    /// A ledger on `pool` (whose schema is already migrated).
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Records an objective, or updates what it promises. An objective created again
    /// under a deleted one's name is a new incarnation: the earlier one ends where the
    /// new one begins, and past months keep reporting it.
    pub async fn upsert_objective(&self, row: &ObjectiveRow, now: i64) -> Result<(), LedgerError> {
        let maintenance = serde_json::to_string(
            &row.maintenance
                .iter()
                .map(|w| StoredWindow {
                    weekday: w.weekday.to_monday_zero_offset(),
                    start_minute: w.start_minute,
                    duration_ms: w.duration_ms,
                })
                .collect::<Vec<_>>(),
        )
        .map_err(|e| LedgerError::Corrupt { what: "maintenance windows", why: e.to_string() })?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE slo_objectives SET deleted_at = $3, updated_at = $4 \
             WHERE namespace = $1 AND name = $2 AND created_at < $3 AND deleted_at IS NULL",
        )
        .bind(&row.namespace)
        .bind(&row.name)
        .bind(row.created_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO slo_objectives (namespace, name, agency, instance, service, probe, target_percent, \
             support_hours, window_kind, maintenance_json, created_at, deleted_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12) \
             ON CONFLICT (namespace, name, created_at) DO UPDATE SET agency = $3, instance = $4, service = $5, \
             probe = $6, target_percent = $7, support_hours = $8, window_kind = $9, maintenance_json = $10, \
             deleted_at = NULL, updated_at = $12",
        )
        .bind(&row.namespace)
        .bind(&row.name)
        .bind(&row.agency)
        .bind(&row.instance)
        .bind(&row.service)
        .bind(&row.probe)
        .bind(row.target_percent)
        .bind(support_text(row.support))
        .bind(window_text(row.window))
        .bind(maintenance)
        .bind(row.created_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the declared days off and working days with those of `calendar`, both in
    /// one transaction.
    pub async fn set_calendar(&self, calendar: &HolidayCalendar) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM slo_days_off").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM slo_working_days").execute(&mut *tx).await?;
        for day in calendar.declared_days_off() {
            sqlx::query("INSERT INTO slo_days_off (day) VALUES ($1)").bind(day.to_string()).execute(&mut *tx).await?;
        }
        for day in calendar.declared_working_days() {
            sqlx::query("INSERT INTO slo_working_days (day) VALUES ($1)")
                .bind(day.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The calendar the engine last recorded: the Latvian holidays with its declared days
    /// off and working days.
    pub async fn calendar(&self) -> Result<HolidayCalendar, LedgerError> {
        let days_off = self.days("SELECT day FROM slo_days_off ORDER BY day", "day off").await?;
        let working = self.days("SELECT day FROM slo_working_days ORDER BY day", "working day").await?;
        Ok(HolidayCalendar::latvia(days_off).with_working_days(working))
    }

    /// The dates in column `day` of `query`'s rows.
    async fn days(&self, query: &'static str, what: &'static str) -> Result<Vec<jiff::civil::Date>, LedgerError> {
        let rows = sqlx::query(query).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                day.parse().map_err(|e: jiff::Error| LedgerError::Corrupt { what, why: e.to_string() })
            })
            .collect()
    }

    /// Marks an objective deleted: past months keep reporting it.
    pub async fn delete_objective(&self, namespace: &str, name: &str, at: i64) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE slo_objectives SET deleted_at = $3, updated_at = $3 \
             WHERE namespace = $1 AND name = $2 AND deleted_at IS NULL",
        )
        .bind(namespace)
        .bind(name)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The objectives the ledger believes alive, as `(namespace, name)`.
    pub async fn live_objectives(&self) -> Result<Vec<(String, String)>, LedgerError> {
        let rows = sqlx::query("SELECT DISTINCT namespace, name FROM slo_objectives WHERE deleted_at IS NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("namespace")?, r.try_get("name")?))).collect()
    }

    /// Opens an outage; returns its id.
    pub async fn open_outage(
        &self,
        namespace: &str,
        probe: &str,
        agency: &str,
        started_at: i64,
        cause: &str,
    ) -> Result<String, LedgerError> {
        let id = format!("out-{}", random_hex(8));
        sqlx::query(
            "INSERT INTO slo_outages (id, namespace, probe, agency, started_at, ended_at, cause, incident_id) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, \
             (SELECT MAX(i.id) FROM incidents i JOIN slo_objectives o ON o.namespace = i.namespace \
              AND o.name = i.objective WHERE o.namespace = $2 AND o.probe = $3 AND i.resolved_at IS NULL))",
        )
        .bind(&id)
        .bind(namespace)
        .bind(probe)
        .bind(agency)
        .bind(started_at)
        .bind(truncate(cause, 500))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Closes an open outage at `ended_at`.
    pub async fn close_outage(&self, id: &str, ended_at: i64) -> Result<(), LedgerError> {
        sqlx::query("UPDATE slo_outages SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
            .bind(id)
            .bind(ended_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every outage that has not ended (the engine resumes them at start-up).
    pub async fn open_outages(&self) -> Result<Vec<OpenOutage>, LedgerError> {
        let rows = sqlx::query("SELECT id, namespace, probe, started_at FROM slo_outages WHERE ended_at IS NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_open_outage).collect()
    }

    /// The open outage of one probe, if any.
    pub async fn open_outage_of(&self, namespace: &str, probe: &str) -> Result<Option<OpenOutage>, LedgerError> {
        let row = sqlx::query(
            "SELECT id, namespace, probe, started_at FROM slo_outages \
             WHERE namespace = $1 AND probe = $2 AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1",
        )
        .bind(namespace)
        .bind(probe)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_open_outage).transpose()
    }

    /// The outages of a probe that overlap `[since, now)`; open ones end at `now`.
    pub async fn outages_of(
        &self,
        namespace: &str,
        probe: &str,
        since: i64,
        now: i64,
    ) -> Result<Vec<Interval>, LedgerError> {
        let rows = sqlx::query(
            "SELECT started_at, ended_at FROM slo_outages \
             WHERE namespace = $1 AND probe = $2 AND (ended_at IS NULL OR ended_at > $3)",
        )
        .bind(namespace)
        .bind(probe)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let start: i64 = r.try_get("started_at")?;
                let end: Option<i64> = r.try_get("ended_at")?;
                Ok(Interval { start, end: end.unwrap_or(now).max(start) })
            })
            .collect()
    }

    /// The open incident of an objective, if any.
    pub async fn open_incident(&self, namespace: &str, objective: &str) -> Result<Option<IncidentRow>, LedgerError> {
        let row = sqlx::query(&format!(
            "{INCIDENT_COLUMNS} WHERE namespace = $1 AND objective = $2 AND resolved_at IS NULL \
             ORDER BY opened_at DESC LIMIT 1"
        ))
        .bind(namespace)
        .bind(objective)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_incident).transpose()
    }

    /// Opens an incident and links the probe's outages since `linked_since` to it;
    /// returns its id.
    pub async fn create_incident(
        &self,
        incident: &IncidentRow,
        probe: &str,
        linked_since: i64,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO incidents (id, agency, namespace, instance, objective, source, rule, severity, summary, \
             opened_at, resolved_at) VALUES ($1, $2, $3, $4, $5, 'slo-burn-rate', $6, $7, $8, $9, NULL)",
        )
        .bind(&incident.id)
        .bind(&incident.agency)
        .bind(&incident.namespace)
        .bind(&incident.instance)
        .bind(&incident.objective)
        .bind(&incident.rule)
        .bind(&incident.severity)
        .bind(truncate(&incident.summary, 500))
        .bind(incident.opened_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE slo_outages SET incident_id = $1 WHERE namespace = $2 AND probe = $3 AND incident_id IS NULL \
             AND (ended_at IS NULL OR ended_at > $4)",
        )
        .bind(&incident.id)
        .bind(&incident.namespace)
        .bind(probe)
        .bind(linked_since)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Raises an open incident's severity (a page rule fires after a ticket one).
    pub async fn escalate_incident(&self, id: &str, rule: &str, severity: &str) -> Result<(), LedgerError> {
        sqlx::query("UPDATE incidents SET rule = $2, severity = $3 WHERE id = $1")
            .bind(id)
            .bind(rule)
            .bind(severity)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks an incident resolved: its alerts stopped firing.
    pub async fn resolve_incident(&self, id: &str, at: i64) -> Result<(), LedgerError> {
        sqlx::query("UPDATE incidents SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The burn-rate incidents of these agencies (`None`: every agency and the platform)
    /// opened in `span` or still open during it, newest first. Security incidents share
    /// the table and are never among them: only security roles see those.
    pub async fn incidents(
        &self,
        agencies: Option<&[String]>,
        span: Interval,
    ) -> Result<Vec<IncidentRow>, LedgerError> {
        let (filter, binds) = agency_filter(agencies, 3);
        let sql = format!(
            "{INCIDENT_COLUMNS} WHERE source = 'slo-burn-rate' AND opened_at < $2 \
             AND (resolved_at IS NULL OR resolved_at > $1){filter} ORDER BY opened_at DESC"
        );
        let mut query = sqlx::query(&sql).bind(span.start).bind(span.end);
        for agency in binds {
            query = query.bind(agency);
        }
        query.fetch_all(&self.pool).await?.iter().map(read_incident).collect()
    }

    /// What the monthly report needs for `span`: the probe-measured objectives of these
    /// agencies (`None`: all, the platform's included) alive during it, and their
    /// probes' outages overlapping it. Objectives with a Prometheus ratio have no outages
    /// here; their numbers are Prometheus's.
    pub async fn report_inputs(
        &self,
        agencies: Option<&[String]>,
        span: Interval,
    ) -> Result<(Vec<ObjectiveRecord>, Vec<OutageRecord>), LedgerError> {
        let (filter, binds) = agency_filter(agencies, 3);
        let sql = format!(
            "SELECT namespace, name, agency, instance, service, probe, target_percent, support_hours, window_kind, \
             maintenance_json, created_at, deleted_at FROM slo_objectives \
             WHERE probe <> '' AND created_at < $2 AND (deleted_at IS NULL OR deleted_at > $1){filter}"
        );
        let mut query = sqlx::query(&sql).bind(span.start).bind(span.end);
        for agency in &binds {
            query = query.bind(agency.clone());
        }
        let mut objectives = Vec::new();
        let mut by_probe: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for row in query.fetch_all(&self.pool).await? {
            let probe: String = row.try_get("probe")?;
            let record = read_objective(&row)?;
            if !probe.is_empty() {
                by_probe.entry((record.namespace.clone(), probe)).or_default().push(objectives.len());
            }
            objectives.push(record);
        }
        let sql = format!(
            "SELECT namespace, probe, started_at, ended_at, cause FROM slo_outages \
             WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1){filter}"
        );
        let mut query = sqlx::query(&sql).bind(span.start).bind(span.end);
        for agency in &binds {
            query = query.bind(agency.clone());
        }
        let mut outages = Vec::new();
        for row in query.fetch_all(&self.pool).await? {
            let key: (String, String) = (row.try_get("namespace")?, row.try_get("probe")?);
            let Some(users) = by_probe.get(&key) else { continue };
            let started_at: i64 = row.try_get("started_at")?;
            let ended_at: Option<i64> = row.try_get("ended_at")?;
            let cause: String = row.try_get("cause")?;
            for &index in users {
                outages.push(OutageRecord {
                    namespace: key.0.clone(),
                    objective: objectives[index].name.clone(),
                    started_at,
                    ended_at,
                    cause: cause.clone(),
                });
            }
        }
        Ok((objectives, outages))
    }
}

const INCIDENT_COLUMNS: &str = "SELECT id, agency, namespace, instance, objective, rule, severity, summary, \
                                opened_at, resolved_at FROM incidents";

/// ` AND agency IN ($first, …)` for `agencies`, and the values to bind.
fn agency_filter(agencies: Option<&[String]>, first: usize) -> (String, Vec<String>) {
    match agencies {
        None => (String::new(), Vec::new()),
        Some([]) => (" AND 1 = 0".into(), Vec::new()),
        Some(list) => {
            let marks: Vec<String> = (first..first + list.len()).map(|n| format!("${n}")).collect();
            (format!(" AND agency IN ({})", marks.join(", ")), list.to_vec())
        }
    }
}

fn read_open_outage(row: &AnyRow) -> Result<OpenOutage, LedgerError> {
    Ok(OpenOutage {
        id: row.try_get("id")?,
        namespace: row.try_get("namespace")?,
        probe: row.try_get("probe")?,
        started_at: row.try_get("started_at")?,
    })
}

fn read_incident(row: &AnyRow) -> Result<IncidentRow, LedgerError> {
    Ok(IncidentRow {
        id: row.try_get("id")?,
        agency: row.try_get("agency")?,
        namespace: row.try_get("namespace")?,
        instance: row.try_get("instance")?,
        objective: row.try_get("objective")?,
        rule: row.try_get("rule")?,
        severity: row.try_get("severity")?,
        summary: row.try_get("summary")?,
        opened_at: row.try_get("opened_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

fn read_objective(row: &AnyRow) -> Result<ObjectiveRecord, LedgerError> {
    let support: String = row.try_get("support_hours")?;
    let window: String = row.try_get("window_kind")?;
    let maintenance: String = row.try_get("maintenance_json")?;
    let stored: Vec<StoredWindow> = serde_json::from_str(&maintenance)
        .map_err(|e| LedgerError::Corrupt { what: "maintenance windows", why: e.to_string() })?;
    let maintenance = stored
        .into_iter()
        .map(|w| {
            let weekday = jiff::civil::Weekday::from_monday_zero_offset(w.weekday)
                .map_err(|e| LedgerError::Corrupt { what: "maintenance weekday", why: e.to_string() })?;
            Ok(WeeklyWindow { weekday, start_minute: w.start_minute, duration_ms: w.duration_ms })
        })
        .collect::<Result<_, LedgerError>>()?;
    let target_percent: f64 = row.try_get("target_percent")?;
    Ok(ObjectiveRecord {
        namespace: row.try_get("namespace")?,
        name: row.try_get("name")?,
        agency: row.try_get("agency")?,
        instance: row.try_get("instance")?,
        service: row.try_get("service")?,
        objective: Objective {
            target: target_percent / 100.0,
            window: parse_window(&window)?,
            support: parse_support(&support)?,
            maintenance,
            measured_since: row.try_get("created_at")?,
        },
        deleted_at: row.try_get("deleted_at")?,
    })
}

/// How support hours are stored.
pub fn support_text(support: SupportHours) -> &'static str {
    match support {
        SupportHours::TwentyFourSeven => "24x7",
        SupportHours::BusinessHours => "BusinessHours",
    }
}

fn parse_support(text: &str) -> Result<SupportHours, LedgerError> {
    match text {
        "24x7" => Ok(SupportHours::TwentyFourSeven),
        "BusinessHours" => Ok(SupportHours::BusinessHours),
        other => Err(LedgerError::Corrupt { what: "support hours", why: format!("unknown value `{other}`") }),
    }
}

fn window_text(window: Window) -> String {
    match window {
        Window::CalendarMonth => "CalendarMonth".into(),
        Window::Rolling { days } => format!("Rolling{days}Days"),
    }
}

fn parse_window(text: &str) -> Result<Window, LedgerError> {
    if text == "CalendarMonth" {
        return Ok(Window::CalendarMonth);
    }
    text.strip_prefix("Rolling")
        .and_then(|rest| rest.strip_suffix("Days"))
        .and_then(|days| days.parse().ok())
        .map(|days| Window::Rolling { days })
        .ok_or_else(|| LedgerError::Corrupt { what: "window", why: format!("unknown value `{text}`") })
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

/// `bytes` random bytes as lower-case hex, for ids.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source");
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
