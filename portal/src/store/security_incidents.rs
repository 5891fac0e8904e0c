//! Security incidents: the incidents SIEM alerts of level high or critical open (source
//! `siem`), one per alert, in the incidents table the SLA ledger's burn-rate incidents
//! live in too. An incident is resolved when its alert is closed, and open again when
//! the alert is reopened. Only security roles see them; the SLA report reads burn-rate
//! incidents only.

use serde::Serialize;
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError};

/// The `source` of a security incident.
pub const SECURITY_SOURCE: &str = "siem";

/// A security incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityIncident {
    /// Its id: `sec-` and the first 16 hex digits of the alert's.
    pub id: String,
    /// The agency of the alert's events; empty for the platform's.
    pub agency: String,
    /// The alert's rule title.
    pub rule: String,
    /// The alert's level (`high`, `critical`).
    pub severity: String,
    /// One line for people.
    pub summary: String,
    /// When it was opened (Unix ms).
    pub opened_at: i64,
    /// When it was resolved (its alert closed), if it was.
    pub resolved_at: Option<i64>,
    /// The alert in the SIEM's store.
    pub alert_id: String,
    /// The alert's row there.
    pub alert_row: i64,
}

impl SecurityIncident {
    /// The incident's id for an alert's.
    pub fn id_for(alert_id: &str) -> String {
        format!("sec-{}", alert_id.chars().take(16).collect::<String>())
    }
}

const COLUMNS: &str = "id, agency, rule, severity, summary, opened_at, resolved_at, alert_id, alert_row";

fn read(row: &AnyRow) -> Result<SecurityIncident, sqlx::Error> {
    Ok(SecurityIncident {
        id: row.try_get("id")?,
        agency: row.try_get("agency")?,
        rule: row.try_get("rule")?,
        severity: row.try_get("severity")?,
        summary: row.try_get("summary")?,
        opened_at: row.try_get("opened_at")?,
        resolved_at: row.try_get("resolved_at")?,
        alert_id: row.try_get("alert_id")?,
        alert_row: row.try_get("alert_row")?,
    })
}

impl Store {
    /// Opens `incident` unless its alert has one; whether it was opened.
    pub async fn open_security_incident(&self, incident: &SecurityIncident) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO incidents (id, agency, namespace, instance, objective, source, rule, severity, summary, \
             opened_at, resolved_at, alert_id, alert_row) VALUES ($1, $2, '', '', '', $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&incident.id)
        .bind(&incident.agency)
        .bind(SECURITY_SOURCE)
        .bind(&incident.rule)
        .bind(&incident.severity)
        .bind(&incident.summary)
        .bind(incident.opened_at)
        .bind(incident.resolved_at)
        .bind(&incident.alert_id)
        .bind(incident.alert_row)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the alert of an incident was closed (`Some(when)`, Unix ms) or
    /// reopened (`None`): the incident is resolved, or open again, with it.
    pub async fn resolve_security_incident(&self, alert_id: &str, resolved_at: Option<i64>) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET resolved_at = $1 WHERE source = $2 AND alert_id = $3")
            .bind(resolved_at)
            .bind(SECURITY_SOURCE)
            .bind(alert_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The SIEM's row of the last alert an incident was opened for; 0 before any.
    pub async fn last_security_alert_row(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT MAX(alert_row) AS last FROM incidents WHERE source = $1")
            .bind(SECURITY_SOURCE)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>("last")?.unwrap_or(0))
    }

    /// The security incidents of these agencies (`None`: every one, the platform's too),
    /// newest first, at most `limit`.
    pub async fn security_incidents(
        &self,
        agencies: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<SecurityIncident>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM incidents WHERE source = $1");
        if let Some(agencies) = agencies {
            let marks: Vec<String> = (0..agencies.len()).map(|n| format!("${}", n + 3)).collect();
            sql.push_str(&match agencies.is_empty() {
                true => " AND 1 = 0".to_owned(),
                false => format!(" AND agency IN ({})", marks.join(", ")),
            });
        }
        sql.push_str(" ORDER BY opened_at DESC, id LIMIT $2");
        let mut query = sqlx::query(&sql).bind(SECURITY_SOURCE).bind(limit.max(1));
        for agency in agencies.into_iter().flatten() {
            query = query.bind(agency);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }

    /// The security incident of an alert, if one was opened.
    pub async fn security_incident_of(&self, alert_id: &str) -> Result<Option<SecurityIncident>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incidents WHERE source = $1 AND alert_id = $2"))
            .bind(SECURITY_SOURCE)
            .bind(alert_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(read).transpose()?)
    }
}
