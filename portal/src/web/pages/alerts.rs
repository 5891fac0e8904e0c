//! The Security section's alerts and security incidents: the alerts the SIEM's detection
//! raised, worked here (acknowledge, assign, close with a verdict, reopen, comment), and
//! the incidents high and critical alerts opened.
//!
//! Who sees what follows the security logs: an agency's admins and security officers see
//! their agency's alerts and work them, the platform's security group every alert, the
//! platform's own too; security incidents only security officers. Every look is recorded
//! in the audit trail before anything is shown, and every action with its outcome; the
//! SIEM keeps each action beside the alert as well, with who did it and from where.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use makonis_siem_core::alerts::{
    AlertDetail, AlertList, AlertListRequest, AlertRequest, AlertState, AlertView, LEVELS, TriageAction, TriageRequest,
    Verdict,
};
use serde::{Deserialize, Serialize};
use tera::Context as TeraContext;

use super::security::{Asked, Reading, ask_siem, given, readable_agencies, scope};
use crate::{
    actions::Actor,
    web::{AppState, error::WebError, redirect::see_other, viewer::Viewer},
};

/// Alerts per page.
pub const PAGE: usize = 100;

/// Security incidents one page shows.
pub const INCIDENTS: i64 = 200;

/// The list's filter, as the query string carries it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AlertFilter {
    /// `open`, `acknowledged` or `closed`; empty for all.
    pub state: Option<String>,
    /// A Sigma level; empty for all.
    pub level: Option<String>,
    /// One agency of those the user may see.
    pub agency: Option<String>,
    /// Where the previous page ended (a row).
    pub before: Option<i64>,
}

impl AlertFilter {
    fn described(&self) -> String {
        let words = [("state", given(&self.state)), ("level", given(&self.level)), ("agency", given(&self.agency))];
        let mut described: Vec<String> =
            words.iter().filter_map(|(key, value)| value.map(|v| format!("{key}={v}"))).collect();
        described.extend(self.before.map(|row| format!("before={row}")));
        described.join(" ")
    }

    /// The question for the SIEM, or what is wrong with the filter.
    fn question(&self, agencies: Option<Vec<String>>) -> Result<AlertListRequest, String> {
        let state = match given(&self.state) {
            Some(text) => Some(AlertState::parse(text).ok_or_else(|| format!("state: {text:?} is not a state"))?),
            None => None,
        };
        let levels = match given(&self.level) {
            Some(level) if LEVELS.contains(&level) => Some(vec![level.to_owned()]),
            Some(level) => return Err(format!("level: {level:?} is not one of {}", LEVELS.join(", "))),
            None => None,
        };
        Ok(AlertListRequest { agencies, state, levels, after: None, before: self.before, limit: PAGE })
    }
}

/// `GET /security/alerts`: a page of alerts, newest first.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AlertFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = scope(&state, actor, given(&filter.agency), Reading::Alerts, &filter.described()).await?;
    let mut context = TeraContext::new();
    let (mut alerts, mut next, mut problem, mut unavailable) = (Vec::new(), None, None, false);
    match filter.question(agencies) {
        Err(message) => problem = Some(message),
        Ok(question) => {
            match ask_siem::<AlertList>(state.context.config.siem.as_ref(), "/v1/alerts", &question).await {
                Ok(list) => (alerts, next) = (list.alerts, list.next),
                Err(Asked::Refused(message)) => problem = Some(message),
                Err(Asked::Unavailable | Asked::Missing | Asked::Conflict(_)) => unavailable = true,
            }
        }
    }
    let status = match (&problem, unavailable) {
        (Some(_), _) => StatusCode::BAD_REQUEST,
        (None, true) => StatusCode::SERVICE_UNAVAILABLE,
        (None, false) => StatusCode::OK,
    };
    let next_href = next.map(|row| {
        let page = AlertFilter { before: Some(row), ..filter.clone() };
        format!("/security/alerts?{}", serde_urlencoded::to_string(&page).unwrap_or_default())
    });
    context.insert("alerts", &alerts);
    context.insert("next_href", &next_href);
    context.insert("filter", &filter);
    context.insert("problem", &problem);
    context.insert("unavailable", &unavailable);
    context.insert("levels", &LEVELS);
    context.insert("agencies", &readable_agencies(&state, actor));
    Ok(state.templates.page(&viewer, status, "security_alerts.html", context))
}

/// `GET /security/alerts/{id}`: one alert, its events, its history and what may be done.
pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = scope(&state, actor, None, Reading::Alert, &format!("alert={id}")).await?;
    let detail = detail(&state, &id, agencies).await?;
    alert_page(&state, &viewer, actor, detail, StatusCode::OK, None).await
}

async fn detail(state: &AppState, id: &str, agencies: Option<Vec<String>>) -> Result<AlertDetail, WebError> {
    let question = AlertRequest { id: id.to_owned(), agencies };
    match ask_siem(state.context.config.siem.as_ref(), "/v1/alerts/one", &question).await {
        Ok(detail) => Ok(detail),
        Err(Asked::Missing | Asked::Refused(_)) => Err(WebError::NotFound),
        Err(Asked::Unavailable | Asked::Conflict(_)) => Err(WebError::SiemUnavailable),
    }
}

async fn alert_page(
    state: &AppState,
    viewer: &Viewer,
    actor: &Actor,
    detail: AlertDetail,
    status: StatusCode,
    problem: Option<String>,
) -> Result<Response, WebError> {
    let incident = match actor.access.security_incident_scope() {
        Some(agencies) if !agencies.iter().any(|a| Some(a) == detail.alert.agency.as_ref()) => None,
        _ => state.context.store.security_incident_of(&detail.alert.id).await?,
    };
    let mut context = TeraContext::new();
    context.insert("alert", &detail.alert);
    context.insert("history", &detail.history);
    context.insert("events", &detail.events);
    context.insert("incident", &incident);
    context.insert("problem", &problem);
    context.insert("verdicts", &[Verdict::TruePositive, Verdict::FalsePositive, Verdict::Benign].map(Verdict::as_str));
    context.insert("me", &actor.identity.username);
    Ok(state.templates.page(viewer, status, "security_alert.html", context))
}

/// The action form of an alert's page.
#[derive(Debug, Deserialize)]
pub struct TriageForm {
    /// `acknowledge`, `assign`, `close`, `reopen` or `comment`.
    pub action: String,
    /// Who is to have it (assign).
    #[serde(default)]
    pub assignee: String,
    /// The verdict (close).
    #[serde(default)]
    pub verdict: String,
    /// Words (comment; optional when closing).
    #[serde(default)]
    pub comment: String,
}

impl TriageForm {
    /// The action, or what is wrong with the form.
    fn action(&self) -> Result<TriageAction, String> {
        let comment = self.comment.trim();
        Ok(match self.action.as_str() {
            "acknowledge" => TriageAction::Acknowledge,
            "assign" => TriageAction::Assign { assignee: self.assignee.clone() },
            "close" => TriageAction::Close {
                verdict: Verdict::parse(&self.verdict)
                    .ok_or("verdict: choose true positive, false positive or benign")?,
                comment: (!comment.is_empty()).then(|| self.comment.clone()),
            },
            "reopen" => TriageAction::Reopen,
            "comment" => TriageAction::Comment { text: self.comment.clone() },
            other => return Err(format!("action: {other:?} is not an action on an alert")),
        })
    }

    /// The form's words for the audit record (the comment's length, not its text).
    fn described(&self) -> String {
        let mut words = vec![format!("action={}", self.action)];
        if !self.assignee.trim().is_empty() {
            words.push(format!("assignee={}", self.assignee.trim()));
        }
        if !self.verdict.is_empty() {
            words.push(format!("verdict={}", self.verdict));
        }
        if !self.comment.trim().is_empty() {
            words.push(format!("comment_chars={}", self.comment.chars().count()));
        }
        words.join(" ")
    }
}

/// `POST /security/alerts/{id}`: acts on an alert, then shows it again.
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let context = &state.context;
    let object = format!("security alert {id}");
    const ACTION: &str = "triage_security_alert";
    if !actor.access.reads_security_logs() {
        actor.audit(context, None, ACTION, &object, "denied", &form.described()).await?;
        return Err(WebError::Forbidden("you may not work security alerts".into()));
    }
    let agencies = actor.access.security_log_scope();
    let problem = match form.action() {
        Err(message) => (StatusCode::BAD_REQUEST, message, "invalid"),
        Ok(action) => {
            let request = TriageRequest {
                id: id.clone(),
                agencies: agencies.clone(),
                actor: actor.identity.username.clone(),
                address: actor.source_ip.clone(),
                action,
            };
            match ask_siem::<AlertView>(context.config.siem.as_ref(), "/v1/alerts/triage", &request).await {
                Ok(alert) => {
                    actor.audit(context, alert.agency.as_deref(), ACTION, &object, "ok", &form.described()).await?;
                    // The alert's security incident, if one was opened, follows it.
                    let resolved = match alert.triage.state {
                        AlertState::Closed => Some(jiff::Timestamp::now().as_millisecond()),
                        AlertState::Open | AlertState::Acknowledged => None,
                    };
                    context.store.resolve_security_incident(&id, resolved).await?;
                    return Ok(see_other(&format!("/security/alerts/{id}")));
                }
                Err(Asked::Refused(words)) => (StatusCode::BAD_REQUEST, words, "invalid"),
                Err(Asked::Conflict(words)) => (StatusCode::CONFLICT, words, "refused"),
                Err(Asked::Missing) => {
                    actor.audit(context, None, ACTION, &object, "denied", &form.described()).await?;
                    return Err(WebError::NotFound);
                }
                Err(Asked::Unavailable) => {
                    actor.audit(context, None, ACTION, &object, "failed", &form.described()).await?;
                    return Err(WebError::SiemUnavailable);
                }
            }
        }
    };
    // Refused: the alert's page again, with the reason (and the alert's agency in the
    // audit record); an alert the user may not see is not found, and recorded as denied.
    let (status, words, outcome) = problem;
    let shown = match detail(&state, &id, agencies).await {
        Ok(shown) => shown,
        Err(WebError::NotFound) => {
            actor.audit(context, None, ACTION, &object, "denied", &form.described()).await?;
            return Err(WebError::NotFound);
        }
        Err(other) => return Err(other),
    };
    actor.audit(context, shown.alert.agency.as_deref(), ACTION, &object, outcome, &form.described()).await?;
    alert_page(&state, &viewer, actor, shown, status, Some(words)).await
}

/// `GET /security/incidents`: the security incidents the user may see, newest first.
pub async fn incidents(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let context = &state.context;
    let scope = actor.access.security_incident_scope();
    if !actor.access.sees_security_incidents() {
        actor.audit(context, None, Reading::Incidents.action(), "security incidents", "denied", "").await?;
        return Err(WebError::Forbidden("security incidents are for security officers".into()));
    }
    actor.audit_reading(context, "security incidents", scope.as_deref(), Reading::Incidents.action(), "").await?;
    let incidents = context.store.security_incidents(scope.as_deref(), INCIDENTS).await?;
    let mut page = TeraContext::new();
    page.insert("incidents", &incidents);
    Ok(state.templates.page(&viewer, StatusCode::OK, "security_incidents.html", page))
}
