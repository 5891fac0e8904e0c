//! The audit trail: every user action with who, agency, what, on which object, outcome,
//! when (UTC) and from where. Rows are only ever added.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, random_id};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// When (Unix ms, UTC).
    pub at: i64,
    /// The username who acted (or tried to), `-` when unknown.
    pub actor: String,
    /// The agency the action concerned, if one.
    pub agency: Option<String>,
    /// What was done, e.g. `sign_in`, `order`, `approve`.
    pub action: String,
    /// What it was done to, e.g. `request vdi-17`.
    pub object: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    /// The client's address.
    pub source_ip: String,
    /// Anything else worth keeping (a reason, a comment).
    pub detail: String,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only these agencies' entries; `None` means every entry (platform admins).
    pub agencies: Option<Vec<String>>,
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only entries before this time (Unix ms), for paging back.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

impl Store {
    /// Records `event`.
    pub async fn audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (id, at, actor, agency, action, object, outcome, source_ip, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(random_id(12))
        .bind(event.at)
        .bind(&event.actor)
        .bind(&event.agency)
        .bind(&event.action)
        .bind(&event.object)
        .bind(&event.outcome)
        .bind(&event.source_ip)
        .bind(&event.detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Audit entries matching `query`, newest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT at, actor, agency, action, object, outcome, source_ip, detail FROM audit_events WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if let Some(agencies) = &query.agencies {
            if agencies.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<_> = agencies.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND agency IN ({})", marks.join(", ")));
        }
        if query.actor.is_some() {
            sql.push_str(&format!(" AND actor = {}", next()));
        }
        if query.before.is_some() {
            sql.push_str(&format!(" AND at < {}", next()));
        }
        sql.push_str(&format!(" ORDER BY at DESC LIMIT {}", next()));
        let mut q = sqlx::query(&sql);
        for agency in query.agencies.iter().flatten() {
            q = q.bind(agency);
        }
        if let Some(actor) = &query.actor {
            q = q.bind(actor);
        }
        if let Some(before) = query.before {
            q = q.bind(before);
        }
        let rows = q.bind(query.limit.clamp(1, 1000)).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    agency: row.try_get("agency")?,
                    action: row.try_get("action")?,
                    object: row.try_get("object")?,
                    outcome: row.try_get("outcome")?,
                    source_ip: row.try_get("source_ip")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
