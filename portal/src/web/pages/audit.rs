//! The audit trail: platform admins see every entry, an agency's admins and security
//! officers their agency's. Reading the trail — the page, its CSV export, the API — is
//! itself recorded in it before anything is shown, so no one reads it unrecorded.

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tera::Context as TeraContext;

use crate::{
    actions::Actor,
    store::audit::{AuditQuery, AuditRecord, MAX_LISTED},
    web::{
        AppState,
        csv::{self, Field},
        error::WebError,
        viewer::{Viewer, urlencode},
    },
};

/// The audit page's filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    /// One agency.
    pub agency: Option<String>,
    /// One actor.
    pub actor: Option<String>,
    /// Entries before this time (Unix ms), for the next page.
    pub before: Option<i64>,
}

/// The page size.
pub const PAGE: i64 = 100;

/// How the trail is being read, as its own record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The `/audit` page.
    Page,
    /// The `/audit.csv` export.
    Csv,
    /// `GET /api/v1/audit`.
    Api,
}

impl Reading {
    /// The record's action.
    fn action(self) -> &'static str {
        match self {
            Self::Page | Self::Api => "read_audit",
            Self::Csv => "export_audit",
        }
    }

    /// The record's detail: the channel.
    fn channel(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Csv => "csv",
            Self::Api => "api",
        }
    }

    fn limit(self) -> i64 {
        match self {
            Self::Page | Self::Api => PAGE,
            Self::Csv => MAX_LISTED,
        }
    }
}

/// What the filter asks for, for the reading's own record.
fn described(filter: &AuditFilter, channel: &str) -> String {
    let mut words = vec![channel.to_string()];
    if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
        words.push(format!("actor={actor}"));
    }
    if let Some(before) = filter.before {
        words.push(format!("before={before}"));
    }
    words.join(" ")
}

/// The entries `actor` may read that match `filter`, read as `reading` and recorded
/// first (the reading is refused when it cannot be recorded).
pub async fn entries(
    state: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
    reading: Reading,
) -> Result<Vec<AuditRecord>, WebError> {
    let context = &state.context;
    let wanted = filter.agency.as_deref().filter(|a| !a.is_empty());
    let detail = described(filter, reading.channel());
    let (action, object) = (reading.action(), format!("audit {}", wanted.unwrap_or("all")));
    if !actor.access.reads_any_audit() {
        actor.audit(context, wanted, action, &object, "denied", &detail).await?;
        return Err(WebError::Forbidden("you may not read the audit trail".into()));
    }
    let agencies = match wanted {
        Some(agency) if actor.access.may_read_audit(agency) => Some(vec![agency.to_string()]),
        Some(_) => {
            actor.audit(context, wanted, action, &object, "denied", &detail).await?;
            return Err(WebError::NotFound);
        }
        None if actor.access.is_platform_admin() => None,
        None => Some(actor.access.agencies.keys().filter(|a| actor.access.may_read_audit(a)).cloned().collect()),
    };
    actor.audit_reading(context, "audit", agencies.as_deref(), action, &detail).await?;
    let query = AuditQuery {
        agencies,
        actor: filter.actor.clone().filter(|a| !a.is_empty()),
        before: filter.before,
        limit: reading.limit(),
    };
    Ok(context.store.audit_events(&query).await?)
}

/// `GET /audit`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let events = entries(&state, actor, &filter, Reading::Page).await?;
    let mut context = TeraContext::new();
    context.insert("next_before", &(events.len() as i64 == PAGE).then(|| events.last().map(|e| e.event.at)).flatten());
    context.insert("events", &events);
    let (agency, who) = (filter.agency.unwrap_or_default(), filter.actor.unwrap_or_default());
    context.insert("csv_href", &format!("/audit.csv?agency={}&actor={}", urlencode(&agency), urlencode(&who)));
    context.insert("agency", &agency);
    context.insert("actor", &who);
    let readable: Vec<_> = state
        .context
        .view
        .agencies()
        .iter()
        .filter(|a| actor.access.may_read_audit(&a.spec.code))
        .map(|a| a.spec.code.clone())
        .collect();
    context.insert("agencies", &readable);
    Ok(state.templates.page(&viewer, StatusCode::OK, "audit.html", context))
}

/// The columns of the CSV export.
pub const CSV_COLUMNS: [&str; 13] = [
    "seq",
    "id",
    "time_utc",
    "actor",
    "agency",
    "action",
    "object",
    "outcome",
    "source_ip",
    "session_id",
    "user_agent",
    "detail",
    "hash",
];

/// The entries as CSV, newest first, each with its place in the chain and its hash.
pub fn csv_of(records: &[AuditRecord]) -> String {
    let mut body = String::from(csv::BOM);
    body.push_str(&csv::row(CSV_COLUMNS.map(Field::Text)));
    for record in records {
        let event = &record.event;
        let seq = record.seq.map(|s| s.to_string()).unwrap_or_default();
        let time = jiff::Timestamp::from_millisecond(event.at).map(|t| t.to_string()).unwrap_or_default();
        body.push_str(&csv::row([
            Field::Number(&seq),
            Field::Text(&record.id),
            Field::Text(&time),
            Field::Text(&event.actor),
            Field::Text(event.agency.as_deref().unwrap_or("")),
            Field::Text(&event.action),
            Field::Text(&event.object),
            Field::Text(&event.outcome),
            Field::Text(&event.source_ip),
            Field::Text(&event.session_id),
            Field::Text(&event.user_agent),
            Field::Text(&event.detail),
            Field::Text(record.hash.as_deref().unwrap_or("")),
        ]));
    }
    body
}

/// `GET /audit.csv`: the entries the page's filters select (up to 10 000), as CSV.
pub async fn csv_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let records = entries(&state, actor, &filter, Reading::Csv).await?;
    let scope = filter.agency.as_deref().filter(|a| !a.is_empty()).unwrap_or("all");
    let disposition = format!("attachment; filename=\"audit-{scope}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv_of(&records),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::AuditEvent;

    #[test]
    fn the_csv_keeps_the_chain_and_defuses_what_users_typed() {
        let record = AuditRecord {
            seq: Some(7),
            id: "abc".into(),
            event: AuditEvent {
                at: 0,
                actor: "anna".into(),
                agency: Some("vdi".into()),
                action: "reject".into(),
                object: "request vdi-7".into(),
                outcome: "success".into(),
                source_ip: "192.0.2.7".into(),
                session_id: "s-0011".into(),
                user_agent: "Mozilla/5.0 (X11, Linux)".into(),
                detail: "=HYPERLINK(\"http://x\")".into(),
            },
            hash: Some("ff".into()),
        };
        let text = csv_of(&[record]);
        let lines: Vec<_> = text.trim_start_matches(csv::BOM).split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "7,abc,1970-01-01T00:00:00Z,anna,vdi,reject,request vdi-7,success,192.0.2.7,s-0011,\
             \"Mozilla/5.0 (X11, Linux)\",\"'=HYPERLINK(\"\"http://x\"\")\",ff"
        );
    }

    #[test]
    fn a_reading_names_its_channel_and_filter() {
        let filter = AuditFilter { agency: Some("vdi".into()), actor: Some("anna".into()), before: Some(5) };
        assert_eq!(described(&filter, Reading::Api.channel()), "api actor=anna before=5");
        assert_eq!(described(&AuditFilter::default(), Reading::Page.channel()), "page");
        assert_eq!((Reading::Csv.action(), Reading::Page.action()), ("export_audit", "read_audit"));
    }
}
