//! The Security section: search of the security logs the SIEM keeps, its CSV export,
//! the health of the log sources and the monthly security-log report.
//!
//! An agency's admins and security officers see their agency's events and sources; the
//! platform's security group sees every event, the platform's own too. The SIEM is asked
//! with the portal's client certificate and told which agencies the user may see. Every
//! search, export, report and look at the sources is recorded in the audit trail before
//! anything is asked or shown (Regulation No. 442: who looked at which logs); when it
//! cannot be recorded, nothing is shown.

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use kube::{Api, api::ListParams};
use makonis_api::security::{LogCategory, LogSource, LogSourceState};
use makonis_catalog::FieldError;
use makonis_siem_core::{
    search::{Hit, MAX_PAGE, Page, Report, ReportRequest, SearchRequest},
    silence::{Watched, parse_silence},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tera::Context as TeraContext;

use crate::{
    actions::Actor,
    siem::{
        SiemSink,
        client::{ShipError, ask},
    },
    web::{
        AppState,
        csv::{self, Field},
        error::WebError,
        viewer::{Viewer, urlencode},
    },
};

/// Results per page.
pub const PAGE: usize = 100;

/// Pages of [`MAX_PAGE`] results one CSV export reads at most.
pub const EXPORT_PAGES: usize = 20;

/// The search form, as the query string carries it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct SecurityFilter {
    /// First day (UTC), `YYYY-MM-DD`; default yesterday.
    pub from: Option<String>,
    /// Last day (UTC), inclusive; default today.
    pub to: Option<String>,
    /// One agency of those the user may see.
    pub agency: Option<String>,
    /// One LogSource, `namespace/name`.
    pub source: Option<String>,
    /// `user.name`.
    pub user: Option<String>,
    /// `source.ip`.
    pub ip: Option<String>,
    /// `event.action`.
    pub action: Option<String>,
    /// `event.outcome`.
    pub outcome: Option<String>,
    /// Text in the original record.
    pub text: Option<String>,
    /// Where the previous page ended.
    pub after: Option<String>,
}

/// How the logs are being read, as the audit record names it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reading {
    Search,
    Export,
    Report,
    Sources,
    Alerts,
    Alert,
    Incidents,
}

impl Reading {
    pub(super) fn action(self) -> &'static str {
        match self {
            Self::Search => "search_security_logs",
            Self::Export => "export_security_logs",
            Self::Report => "read_security_report",
            Self::Sources => "read_log_sources",
            Self::Alerts => "read_security_alerts",
            Self::Alert => "read_security_alert",
            Self::Incidents => "read_security_incidents",
        }
    }
}

pub(super) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The filter's non-empty fields as `key=value` words, for the audit record.
fn described(filter: &SecurityFilter) -> String {
    let fields = [
        ("from", &filter.from),
        ("to", &filter.to),
        ("agency", &filter.agency),
        ("source", &filter.source),
        ("user", &filter.user),
        ("ip", &filter.ip),
        ("action", &filter.action),
        ("outcome", &filter.outcome),
        ("text", &filter.text),
        ("after", &filter.after),
    ];
    fields.iter().filter_map(|(key, value)| given(value).map(|v| format!("{key}={v}"))).collect::<Vec<_>>().join(" ")
}

/// The agencies whose logs `actor` reads with `wanted` (one agency, or all they may):
/// `None` is every event. Recorded as denied and refused (404) for an agency they may not
/// read, refused (403) when they read none.
pub(super) async fn scope(
    state: &AppState,
    actor: &Actor,
    wanted: Option<&str>,
    reading: Reading,
    detail: &str,
) -> Result<Option<Vec<String>>, WebError> {
    let context = &state.context;
    let object = format!("security logs {}", wanted.unwrap_or("all"));
    if !actor.access.reads_security_logs() {
        actor.audit(context, wanted, reading.action(), &object, "denied", detail).await?;
        return Err(WebError::Forbidden("you may not read security logs".into()));
    }
    let scope = match wanted {
        Some(agency) if actor.access.may_read_security_logs(agency) => Some(vec![agency.to_owned()]),
        Some(_) => {
            actor.audit(context, wanted, reading.action(), &object, "denied", detail).await?;
            return Err(WebError::NotFound);
        }
        None => actor.access.security_log_scope(),
    };
    actor.audit_reading(context, "security logs", scope.as_deref(), reading.action(), detail).await?;
    Ok(scope)
}

/// Why the SIEM gave no answer, as the page shows it.
#[derive(Debug)]
pub(super) enum Asked {
    /// The SIEM refused the question: the field and why, in its words.
    Refused(String),
    /// What was asked about does not exist, or not for this user.
    Missing,
    /// The state of what was asked about does not allow it: why, in the SIEM's words.
    Conflict(String),
    /// No SIEM configured, or it cannot be reached.
    Unavailable,
}

pub(super) async fn ask_siem<T: DeserializeOwned>(
    sink: Option<&SiemSink>,
    path: &str,
    question: &impl Serialize,
) -> Result<T, Asked> {
    let sink = sink.ok_or(Asked::Unavailable)?;
    let body = serde_json::to_vec(question).map_err(|_| Asked::Unavailable)?;
    match ask(sink, path, body).await {
        Ok(answer) => serde_json::from_slice(&answer).map_err(|error| {
            tracing::error!(%error, path, "the SIEM's answer cannot be read");
            Asked::Unavailable
        }),
        Err(ShipError::Refused { status: 404, .. }) => Err(Asked::Missing),
        Err(ShipError::Refused { status: status @ (400 | 409), body }) => {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(body);
            Err(if status == 400 { Asked::Refused(message) } else { Asked::Conflict(message) })
        }
        Err(error) => {
            tracing::warn!(%error, category = error.category(), path, "the SIEM cannot be asked");
            Err(Asked::Unavailable)
        }
    }
}

fn today() -> Date {
    Timestamp::now().to_zoned_datetime(TimeZone::UTC).date()
}

/// The question for the SIEM, or what is wrong with the form.
fn question(filter: &SecurityFilter, agencies: Option<Vec<String>>, limit: usize) -> Result<SearchRequest, String> {
    let day = |field: &str, value: Option<&str>, default: Date| match value {
        Some(text) => text.parse::<Date>().map_err(|_| format!("{field}: {text:?} is not a date such as 2026-12-06")),
        None => Ok(default),
    };
    let to = day("to", given(&filter.to), today())?;
    let from = day("from", given(&filter.from), to.yesterday().unwrap_or(to))?;
    let next = to.tomorrow().map_err(|_| "to: too far ahead".to_owned())?;
    let owned = |value: &Option<String>| given(value).map(str::to_owned);
    Ok(SearchRequest {
        from: format!("{from}T00:00:00Z"),
        to: format!("{next}T00:00:00Z"),
        agencies,
        source: owned(&filter.source),
        user: owned(&filter.user),
        ip: owned(&filter.ip),
        action: owned(&filter.action),
        outcome: owned(&filter.outcome),
        text: owned(&filter.text),
        limit,
        after: owned(&filter.after),
    })
}

/// The agencies the user may pick in the forms.
pub(super) fn readable_agencies(state: &AppState, actor: &Actor) -> Vec<String> {
    state
        .context
        .view
        .agencies()
        .iter()
        .map(|a| a.spec.code.clone())
        .filter(|code| actor.access.may_read_security_logs(code))
        .collect()
}

/// `GET /security`: the search form and a page of results.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<SecurityFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = scope(&state, actor, given(&filter.agency), Reading::Search, &described(&filter)).await?;
    let mut context = TeraContext::new();
    let mut status = StatusCode::OK;
    let (mut hits, mut next, mut problem, mut unavailable) = (Vec::<Hit>::new(), None, None, false);
    match question(&filter, agencies, PAGE) {
        Err(message) => problem = Some(message),
        Ok(request) => {
            context.insert("from", &request.from[..10]);
            let last = request.to[..10].parse::<Date>().ok().and_then(|d| d.yesterday().ok());
            context.insert("to", &last.map(|d| d.to_string()).unwrap_or_default());
            match ask_siem::<Page>(state.context.config.siem.as_ref(), "/v1/search", &request).await {
                Ok(page) => (hits, next) = (page.hits, page.next),
                Err(Asked::Refused(message)) => problem = Some(message),
                Err(Asked::Unavailable | Asked::Missing | Asked::Conflict(_)) => unavailable = true,
            }
        }
    }
    if problem.is_some() {
        status = StatusCode::BAD_REQUEST;
    } else if unavailable {
        status = StatusCode::SERVICE_UNAVAILABLE;
    }
    let query = |after: Option<&str>| {
        let mut page = filter.clone();
        page.after = after.map(str::to_owned);
        serde_urlencoded::to_string(&page).unwrap_or_default()
    };
    context.insert("next_href", &next.as_deref().map(|cursor| format!("/security?{}", query(Some(cursor)))));
    context.insert("csv_href", &format!("/security/events.csv?{}", query(None)));
    context.insert("hits", &hits);
    context.insert("filter", &filter);
    context.insert("problem", &problem);
    context.insert("unavailable", &unavailable);
    context.insert("agencies", &readable_agencies(&state, actor));
    Ok(state.templates.page(&viewer, status, "security.html", context))
}

/// The columns of the CSV export.
pub const CSV_COLUMNS: [&str; 10] =
    ["time_utc", "agency", "source", "user", "source_ip", "action", "outcome", "partition", "seq", "original"];

/// The hits as CSV, formula-safe, with their place in the store's chains.
pub fn csv_of(hits: &[Hit]) -> String {
    let mut body = String::from(csv::BOM);
    body.push_str(&csv::row(CSV_COLUMNS.map(Field::Text)));
    for hit in hits {
        let seq = hit.seq.to_string();
        body.push_str(&csv::row([
            Field::Text(&hit.time),
            Field::Text(hit.agency.as_deref().unwrap_or("")),
            Field::Text(&hit.source),
            Field::Text(hit.user.as_deref().unwrap_or("")),
            Field::Text(hit.ip.as_deref().unwrap_or("")),
            Field::Text(hit.action.as_deref().unwrap_or("")),
            Field::Text(&hit.outcome),
            Field::Text(&hit.partition),
            Field::Number(&seq),
            Field::Text(&hit.original),
        ]));
    }
    body
}

/// `GET /security/events.csv`: what the search selects, up to
/// [`EXPORT_PAGES`] × [`MAX_PAGE`] events, as CSV.
pub async fn csv_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<SecurityFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = scope(&state, actor, given(&filter.agency), Reading::Export, &described(&filter)).await?;
    let mut request = question(&filter, agencies, MAX_PAGE)
        .map_err(|message| WebError::Invalid(vec![FieldError::new("filter", message)]))?;
    let mut hits = Vec::new();
    for _ in 0..EXPORT_PAGES {
        let page: Page = match ask_siem(state.context.config.siem.as_ref(), "/v1/search", &request).await {
            Ok(page) => page,
            Err(Asked::Refused(message)) => {
                return Err(WebError::Invalid(vec![FieldError::new("filter", message)]));
            }
            Err(Asked::Unavailable | Asked::Missing | Asked::Conflict(_)) => return Err(WebError::SiemUnavailable),
        };
        hits.extend(page.hits);
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    let scope = given(&filter.agency).unwrap_or("all");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"security-logs-{}.csv\"", urlencode(scope))),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv_of(&hits),
    )
        .into_response())
}

/// One LogSource as the health page shows it.
#[derive(Debug, Serialize)]
struct SourceRow {
    namespace: String,
    name: String,
    /// Shown as its API name (`platform-audit`).
    category: LogCategory,
    state: &'static str,
    last_event: Option<String>,
    rate_per_minute: Option<f64>,
    events: i64,
    quarantined: i64,
    duplicates: i64,
    mandatory_percent: Option<f64>,
    problem: Option<String>,
}

fn source_row(source: &LogSource) -> SourceRow {
    let status = source.status.clone().unwrap_or_default();
    let state = match status.state {
        Some(LogSourceState::Receiving) => "receiving",
        Some(LogSourceState::Silent) => "silent",
        Some(LogSourceState::Waiting) | None => "waiting",
    };
    let problem =
        status.conditions.iter().find(|c| c.type_ == "Ready" && c.status == "False").map(|c| c.message.clone());
    SourceRow {
        namespace: source.metadata.namespace.clone().unwrap_or_default(),
        name: source.metadata.name.clone().unwrap_or_default(),
        category: source.spec.category,
        state,
        last_event: status.last_event_time,
        rate_per_minute: status.rate_per_minute,
        events: status.events_received,
        quarantined: status.quarantined,
        duplicates: status.duplicates,
        mandatory_percent: status.mandatory_fields_percent,
        problem,
    }
}

/// The LogSources of `agencies` (`None`: all), or `Err` when they cannot be listed (no
/// cluster, or the API server refused).
async fn visible_sources(state: &AppState, agencies: Option<&[String]>) -> Result<Vec<LogSource>, ()> {
    let client = state.context.client.as_ref().ok_or(())?;
    let list = Api::<LogSource>::all(client.clone()).list(&ListParams::default()).await.map_err(|error| {
        tracing::warn!(%error, "listing LogSources failed");
    })?;
    let visible = |namespace: &str| match agencies {
        None => true,
        Some(agencies) => namespace.strip_prefix("agency-").is_some_and(|code| agencies.iter().any(|a| a == code)),
    };
    Ok(list.items.into_iter().filter(|s| visible(s.metadata.namespace.as_deref().unwrap_or(""))).collect())
}

/// A LogSource as the report looks for its silences: its silence and when it was made
/// (`None` when its silence is not one the CRD allows, or it has no creation time).
fn watched_of(source: &LogSource) -> Option<Watched> {
    let minutes = parse_silence(&source.spec.silence_after)?.as_mins();
    Some(Watched {
        source: source.id(),
        silence_minutes: u32::try_from(minutes).ok()?,
        since: source.metadata.creation_timestamp.as_ref()?.0.to_string(),
    })
}

/// `GET /security/sources`: every LogSource the user may see, with its health.
pub async fn sources(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = scope(&state, actor, None, Reading::Sources, "sources").await?;
    let listed = visible_sources(&state, agencies.as_deref()).await;
    let rows: Vec<SourceRow> = listed.iter().flatten().map(source_row).collect();
    let mut context = TeraContext::new();
    context.insert("sources", &rows);
    context.insert("unavailable", &listed.is_err());
    let status = if listed.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok(state.templates.page(&viewer, status, "security_sources.html", context))
}

/// The report page's query.
#[derive(Debug, Default, Deserialize)]
pub struct ReportFilter {
    /// `YYYY-MM`; default this month.
    pub month: Option<String>,
    /// One agency; default the user's only one, or (for the platform's security group) all.
    pub agency: Option<String>,
}

/// `GET /security/report`: the monthly security-log report.
pub async fn report(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<ReportFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let month = given(&filter.month).map(str::to_owned).unwrap_or_else(|| today().strftime("%Y-%m").to_string());
    let wanted = given(&filter.agency);
    let detail = format!("month={month}");
    let agencies = scope(&state, actor, wanted, Reading::Report, &detail).await?;
    // A report is of one agency, or of the whole platform for its security group.
    let agency = match (&agencies, wanted) {
        (_, Some(agency)) => Some(agency.to_owned()),
        (None, None) => None,
        (Some(agencies), None) => match agencies.as_slice() {
            [one] => Some(one.clone()),
            _ => {
                let first = agencies.first().cloned().ok_or(WebError::NotFound)?;
                return Ok(axum::response::Redirect::to(&format!(
                    "/security/report?month={}&agency={}",
                    urlencode(&month),
                    urlencode(&first)
                ))
                .into_response());
            }
        },
    };
    // The LogSources of the report's scope, whose silences during the month it lists.
    let scope_of_report = agency.as_ref().map(|a| vec![a.clone()]);
    let sources = visible_sources(&state, scope_of_report.as_deref()).await.unwrap_or_default();
    let request = ReportRequest {
        month: month.clone(),
        agency: agency.clone(),
        sources: sources.iter().filter_map(watched_of).collect(),
    };
    let mut context = TeraContext::new();
    let (report, problem, unavailable) =
        match ask_siem::<Report>(state.context.config.siem.as_ref(), "/v1/report", &request).await {
            Ok(report) => (Some(report), None, false),
            Err(Asked::Refused(message)) => (None, Some(message), false),
            Err(Asked::Unavailable | Asked::Missing | Asked::Conflict(_)) => (None, None, true),
        };
    let status = match (&problem, unavailable) {
        (Some(_), _) => StatusCode::BAD_REQUEST,
        (None, true) => StatusCode::SERVICE_UNAVAILABLE,
        (None, false) => StatusCode::OK,
    };
    if let Some(report) = &report {
        let failed: u64 = report.by_category.iter().filter(|c| c.outcome == "failure").map(|c| c.events).sum();
        let total: u64 = report.by_category.iter().map(|c| c.events).sum();
        context.insert("total", &total);
        context.insert("failed", &failed);
        context.insert("intact", &report.verified.iter().all(|v| v.problems.is_empty()));
    }
    context.insert("report", &report);
    context.insert("problem", &problem);
    context.insert("unavailable", &unavailable);
    context.insert("month", &month);
    context.insert("agency", &agency.unwrap_or_default());
    context.insert("agencies", &readable_agencies(&state, actor));
    context.insert("all_agencies", &agencies.is_none());
    Ok(state.templates.page(&viewer, status, "security_report.html", context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_source_is_watched_by_its_silence_from_when_it_was_made() {
        let mut source: LogSource = serde_json::from_value(serde_json::json!({
            "apiVersion": "security.makonis.lv/v1alpha1",
            "kind": "LogSource",
            "metadata": {"name": "dc", "namespace": "agency-lm", "creationTimestamp": "2026-11-20T08:00:00Z"},
            "spec": {"senders": [{"address": "10.0.0.1"}], "format": "syslog", "category": "authentication",
                     "silenceAfter": "2h"}
        }))
        .unwrap();
        let watched = watched_of(&source).unwrap();
        assert_eq!(
            (watched.source.as_str(), watched.silence_minutes, watched.since.as_str()),
            ("agency-lm/dc", 120, "2026-11-20T08:00:00Z")
        );
        source.spec.silence_after = "soon".into();
        assert_eq!(watched_of(&source), None, "a silence the CRD would refuse is not guessed");
    }

    #[test]
    fn a_form_becomes_whole_utc_days_and_names_a_bad_date() {
        let filter = SecurityFilter {
            from: Some("2026-12-01".into()),
            to: Some("2026-12-06".into()),
            user: Some(" anna ".into()),
            ip: Some(String::new()),
            ..SecurityFilter::default()
        };
        let request = question(&filter, Some(vec!["lm".into()]), 100).unwrap();
        assert_eq!((request.from.as_str(), request.to.as_str()), ("2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z"));
        assert_eq!((request.user.as_deref(), request.ip), (Some("anna"), None));
        let bad = SecurityFilter { from: Some("1.12.2026".into()), ..SecurityFilter::default() };
        assert!(question(&bad, None, 100).unwrap_err().starts_with("from:"));
    }

    #[test]
    fn the_audit_record_names_every_filter_given() {
        let filter = SecurityFilter {
            agency: Some("lm".into()),
            text: Some("50%".into()),
            source: Some("  ".into()),
            ..SecurityFilter::default()
        };
        assert_eq!(described(&filter), "agency=lm text=50%");
    }

    #[test]
    fn the_csv_defuses_formulas_in_what_senders_wrote() {
        let hit = Hit {
            cursor: String::new(),
            time: "2026-12-06T10:00:00Z".into(),
            partition: "2026-12-06/authentication".into(),
            seq: 7,
            source: "agency-lm/dc".into(),
            agency: Some("lm".into()),
            user: Some("=cmd|' /C calc'!A0".into()),
            ip: Some("10.0.0.1".into()),
            action: Some("logon-failed".into()),
            outcome: "failure".into(),
            document: "{}".into(),
            original: "Failed password, for x".into(),
        };
        let text = csv_of(&[hit]);
        let lines: Vec<_> = text.trim_start_matches(csv::BOM).split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2026-12-06T10:00:00Z,lm,agency-lm/dc,'=cmd|' /C calc'!A0,10.0.0.1,logon-failed,failure,2026-12-06/authentication,7,\"Failed password, for x\""
        );
    }
}
