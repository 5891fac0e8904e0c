//! The audit trail: every user action with who, agency, what, on which object, outcome,
//! when (UTC) and from where (address, session or API token, user agent). Rows are only
//! ever added, each in the same transaction as the action it records ([`super::Tx`]),
//! and each chained to the one before by a hash ([`super::audit_chain`]).
//!
//! Appends are serialised by the chain's head row (`audit_chain`, one row): an append
//! first advances the head (`UPDATE … RETURNING`, which takes PostgreSQL's row lock or
//! SQLite's write lock), so every writer — other tasks, other portal replicas — waits
//! for the transaction before it to end and then sees its head. The rows' `seq` is that
//! total order, without gaps, since a rolled-back action rolls back its head move too.

use serde::Serialize;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{
    Store, StoreError,
    audit_chain::{Anchor, Break, Head, Link, Summary, Verifier, link_hash},
    random_id,
};

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
    /// `success`, `denied`, `failure`, or `started` (what the platform is about to do
    /// outside the database).
    pub outcome: String,
    /// The client's address.
    pub source_ip: String,
    /// The browser session (`s-…`) or API token (`t-…`) the action came through; empty
    /// before a session exists (a sign-in that failed).
    pub session_id: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// Anything else worth keeping (a reason, a comment).
    pub detail: String,
}

/// An entry as stored: its place in the chain, its id and its hash besides its content.
/// A row written around the chain has neither place nor hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its place in the chain, from 1.
    pub seq: Option<i64>,
    /// Its id.
    pub id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The chain's hash over this row and the one before.
    pub hash: Option<String>,
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

/// The most entries one listing returns.
pub const MAX_LISTED: i64 = 10_000;

/// How many rows the check and the first chaining read at once.
const BATCH: i64 = 1000;

pub(super) const COLUMNS: &str =
    "seq, id, at, actor, agency, action, object, outcome, source_ip, session_id, user_agent, detail, hash";

/// `text` as it can be stored in both databases: PostgreSQL's text holds no NUL.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

impl AuditEvent {
    /// The event exactly as it will be stored (and hashed).
    fn storable(&self) -> Self {
        Self {
            at: self.at,
            actor: storable(&self.actor),
            agency: self.agency.as_deref().map(storable),
            action: storable(&self.action),
            object: storable(&self.object),
            outcome: storable(&self.outcome),
            source_ip: storable(&self.source_ip),
            session_id: storable(&self.session_id),
            user_agent: storable(&self.user_agent),
            detail: storable(&self.detail),
        }
    }
}

fn read_event(row: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        agency: row.try_get("agency")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        outcome: row.try_get("outcome")?,
        source_ip: row.try_get("source_ip")?,
        session_id: row.try_get("session_id")?,
        user_agent: row.try_get("user_agent")?,
        detail: row.try_get("detail")?,
    })
}

pub(super) fn read_record(row: &AnyRow) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        event: read_event(row)?,
        hash: row.try_get("hash")?,
    })
}

async fn insert(
    conn: &mut AnyConnection,
    seq: i64,
    id: &str,
    event: &AuditEvent,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(seq)
    .bind(id)
    .bind(event.at)
    .bind(&event.actor)
    .bind(&event.agency)
    .bind(&event.action)
    .bind(&event.object)
    .bind(&event.outcome)
    .bind(&event.source_ip)
    .bind(&event.session_id)
    .bind(&event.user_agent)
    .bind(&event.detail)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the chain's head one row on (taking the lock that serialises appends) and
/// returns the new row's seq and the previous row's hash.
async fn advance_head(conn: &mut AnyConnection) -> Result<(i64, String), sqlx::Error> {
    let row =
        sqlx::query("UPDATE audit_chain SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(conn).await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

async fn set_head_hash(conn: &mut AnyConnection, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1").bind(hash).execute(conn).await?;
    Ok(())
}

/// Appends `event` to the chain on `conn`, inside the caller's transaction; the head
/// stays locked until that transaction ends.
pub(super) async fn append(conn: &mut AnyConnection, event: &AuditEvent) -> Result<(), sqlx::Error> {
    let (seq, previous) = advance_head(conn).await?;
    let event = event.storable();
    let id = random_id(12);
    let hash = link_hash(&previous, seq, &id, &event);
    insert(conn, seq, &id, &event, &hash).await?;
    set_head_hash(conn, &hash).await
}

impl Store {
    /// Records `event` on its own: for what has no other write (a refusal, reading the
    /// trail, an export). Fails with [`StoreError::Audit`] when it cannot be recorded.
    pub async fn audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.begin().await.map_err(StoreError::into_audit)?.commit(event).await
    }

    /// Audit entries matching `query`, newest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE 1 = 1");
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
        sql.push_str(&format!(" ORDER BY at DESC, seq DESC LIMIT {}", next()));
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
        let rows = q.bind(query.limit.clamp(1, MAX_LISTED)).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(read_record).collect::<Result<_, _>>()?)
    }

    /// Chains rows written before the trail was a chain (migration 0004), oldest first,
    /// once: only while the chain is still empty. Rows that appear around the chain
    /// later are left alone, for [`Store::verify_audit`] to report. Returns how many rows
    /// were chained.
    pub(super) async fn chain_earlier_rows(&self) -> Result<i64, StoreError> {
        let head: i64 =
            sqlx::query("SELECT seq FROM audit_chain WHERE id = 1").fetch_one(self.pool()).await?.try_get("seq")?;
        let waiting: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE seq IS NULL")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        if head != 0 || waiting == 0 {
            return Ok(0);
        }
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await?;
        let (mut seq, mut previous): (i64, String) = (row.try_get("seq")?, row.try_get("hash")?);
        if seq != 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM audit_events WHERE seq IS NULL ORDER BY at, id LIMIT {BATCH}"
            ))
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let id: String = row.try_get("id")?;
                let event = read_event(row)?;
                seq += 1;
                let hash = link_hash(&previous, seq, &id, &event);
                sqlx::query("UPDATE audit_events SET seq = $1, hash = $2 WHERE id = $3")
                    .bind(seq)
                    .bind(&hash)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                previous = hash;
            }
        }
        sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&previous)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Recomputes the whole chain: the summary of an intact trail, or the first break.
    /// Reads only (a role with SELECT on the trail runs it), and may run while the
    /// portal appends: it checks the rows up to the head it read first.
    pub async fn verify_audit(&self, anchor: Option<Anchor>) -> Result<Result<Summary, Break>, StoreError> {
        if let Some(row) =
            sqlx::query("SELECT id, at FROM audit_events WHERE seq IS NULL OR hash IS NULL ORDER BY at, id LIMIT 1")
                .fetch_optional(self.pool())
                .await?
        {
            return Ok(Err(Break::Unchained { id: row.try_get("id")?, at: row.try_get("at")? }));
        }
        let Some(head) = self.audit_head().await? else {
            return Ok(Err(Break::NoHead));
        };
        let mut verifier = Verifier::new(anchor);
        let (mut after_seq, mut after_id) = (0_i64, String::new());
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM audit_events WHERE seq <= $1 AND (seq > $2 OR (seq = $2 AND id > $3)) \
                 ORDER BY seq, id LIMIT {BATCH}"
            ))
            .bind(head.seq)
            .bind(after_seq)
            .bind(&after_id)
            .fetch_all(self.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let link = Link {
                    seq: row.try_get("seq")?,
                    id: row.try_get("id")?,
                    event: read_event(row)?,
                    hash: row.try_get("hash")?,
                };
                if let Err(broken) = verifier.check(&link) {
                    return Ok(Err(broken));
                }
                (after_seq, after_id) = (link.seq, link.id);
            }
        }
        let summary = match verifier.finish(&head) {
            Ok(summary) => summary,
            Err(broken) => return Ok(Err(broken)),
        };
        // Appends commit their row and the head together, so no committed row lies
        // beyond the head as it is now.
        let now = self.audit_head().await?.map_or(head.seq, |h| h.seq);
        if let Some(row) = sqlx::query("SELECT seq, id FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1")
            .bind(now)
            .fetch_optional(self.pool())
            .await?
        {
            return Ok(Err(Break::BeyondHead { seq: row.try_get("seq")?, id: row.try_get("id")? }));
        }
        Ok(Ok(summary))
    }

    pub(super) async fn audit_head(&self) -> Result<Option<Head>, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1").fetch_optional(self.pool()).await?;
        Ok(row
            .map(|row| -> Result<Head, sqlx::Error> {
                Ok(Head { seq: row.try_get("seq")?, hash: row.try_get("hash")? })
            })
            .transpose()?)
    }
}
