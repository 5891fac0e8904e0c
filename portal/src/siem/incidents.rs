//! The feed that opens security incidents: every SIEM alert of level high or critical
//! opens one (visible only to security roles), read in the order the SIEM raised them
//! from after the last alert an incident was opened for. An alert read twice (two
//! replicas, a round cut short) opens one incident.

use jiff::Timestamp;
use makonis_siem_core::alerts::{AlertList, AlertListRequest, AlertState, AlertView, INCIDENT_LEVELS};
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::{SiemSink, client};
use crate::store::{
    Store, StoreError,
    security_incidents::{SECURITY_SOURCE, SecurityIncident},
};

/// Alerts read per question.
pub const BATCH: usize = 200;

/// The feed's metrics, in a registry of their own that `/metrics` gathers too.
#[derive(Debug, Clone)]
pub struct IncidentFeedMetrics {
    registry: Registry,
    opened: IntCounter,
    failures: IntCounterVec,
}

impl IncidentFeedMetrics {
    /// New, zeroed metrics.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let opened = IntCounter::new(
            "makonis_portal_security_incidents_opened_total",
            "Security incidents opened for high and critical SIEM alerts",
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "makonis_portal_security_incident_feed_failures_total",
                "Rounds of the incident feed that failed, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(opened.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        Ok(Self { registry, opened, failures })
    }

    /// Everything, for `/metrics`.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }
}

/// Why a round stopped early; the next round starts again from the last incident.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The portal's database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SIEM could not be asked.
    #[error(transparent)]
    Siem(#[from] client::ShipError),
    /// The SIEM's answer is not a list of alerts.
    #[error("the SIEM's list of alerts cannot be read: {0}")]
    Answer(String),
}

impl FeedError {
    fn category(&self) -> &'static str {
        match self {
            Self::Store(_) => "database",
            Self::Siem(error) => error.category(),
            Self::Answer(_) => "answer",
        }
    }
}

/// The incident an alert opens: resolved already when the alert was closed before the
/// feed read it.
pub fn incident_for(alert: &AlertView, now_ms: i64) -> SecurityIncident {
    let group: Vec<String> = alert
        .group
        .iter()
        .map(|(field, value)| match value.as_str() {
            Some(text) => format!("{field}={text}"),
            None => format!("{field}={value}"),
        })
        .collect();
    let summary = match group.is_empty() {
        true => alert.title.clone(),
        false => format!("{} ({})", alert.title, group.join(", ")),
    };
    let closed = (alert.triage.state == AlertState::Closed)
        .then(|| alert.triage.updated_at.as_deref()?.parse::<Timestamp>().ok())
        .flatten()
        .map(|at| at.as_millisecond());
    SecurityIncident {
        id: SecurityIncident::id_for(&alert.id),
        agency: alert.agency.clone().unwrap_or_default(),
        rule: alert.title.chars().take(200).collect(),
        severity: alert.level.clone(),
        summary: summary.chars().take(500).collect(),
        opened_at: now_ms,
        resolved_at: closed,
        alert_id: alert.id.clone(),
        alert_row: alert.row,
    }
}

/// Opens an incident for every high or critical alert raised after the last one that
/// has one; how many were opened.
pub async fn round(store: &Store, sink: &SiemSink, metrics: &IncidentFeedMetrics) -> Result<u64, FeedError> {
    let mut opened = 0;
    loop {
        let question = AlertListRequest {
            agencies: None,
            levels: Some(INCIDENT_LEVELS.map(str::to_owned).to_vec()),
            after: Some(store.last_security_alert_row().await?),
            limit: BATCH,
            ..AlertListRequest::default()
        };
        let body = serde_json::to_vec(&question).map_err(|e| FeedError::Answer(e.to_string()))?;
        let answer = client::ask(sink, "/v1/alerts", body).await?;
        let list: AlertList = serde_json::from_slice(&answer).map_err(|e| FeedError::Answer(e.to_string()))?;
        for alert in &list.alerts {
            let incident = incident_for(alert, Timestamp::now().as_millisecond());
            if store.open_security_incident(&incident).await? {
                tracing::warn!(incident = %incident.id, alert = %alert.id, agency = %incident.agency,
                    level = %alert.level, rule = %alert.title, source = SECURITY_SOURCE, "a security incident was opened");
                metrics.opened.inc();
                opened += 1;
            }
        }
        if list.alerts.len() < BATCH {
            return Ok(opened);
        }
    }
}

/// Runs the feed on the sink's interval until the task is stopped; failures are logged
/// and counted, and the alerts read again on the next round.
pub async fn run(store: Store, sink: SiemSink, metrics: IncidentFeedMetrics) {
    let mut tick = tokio::time::interval(sink.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = round(&store, &sink, &metrics).await {
            metrics.failures.with_label_values(&[error.category()]).inc();
            tracing::warn!(%error, sink = %sink.url, "opening security incidents from the SIEM's alerts failed; retried on the next round");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use makonis_siem_core::alerts::Triage;

    use super::*;

    #[test]
    fn an_incident_names_the_rule_its_group_and_the_alert() {
        let alert = AlertView {
            row: 42,
            id: "0123456789abcdef0123".into(),
            raised_at: "2026-12-07T10:00:00Z".into(),
            object: "ClusterDetectionRule makonis-pack".into(),
            rule_id: None,
            title: "SSH brute force".into(),
            level: "high".into(),
            kind: "correlation".into(),
            agency: Some("lm".into()),
            group: BTreeMap::from([("source.ip".into(), "192.0.2.7".into()), ("count".into(), 12.into())]),
            first: "2026-12-07T09:59:00Z".into(),
            last: "2026-12-07T10:00:00Z".into(),
            events: vec![],
            delay_seconds: 0.2,
            late: false,
            firings: 1,
            triage: Triage::default(),
        };
        let incident = incident_for(&alert, 7);
        assert_eq!(incident.id, "sec-0123456789abcdef");
        assert_eq!(incident.summary, "SSH brute force (count=12, source.ip=192.0.2.7)");
        assert_eq!((incident.agency.as_str(), incident.alert_row, incident.opened_at), ("lm", 42, 7));
        assert_eq!(incident.resolved_at, None);
        let closed =
            Triage { state: AlertState::Closed, updated_at: Some("2026-12-07T10:05:00Z".into()), ..Triage::default() };
        let decided = incident_for(&AlertView { triage: closed, ..alert.clone() }, 7);
        assert_eq!(decided.resolved_at, Some(1_796_637_900_000), "resolved when its alert was closed");
        let platform = incident_for(&AlertView { agency: None, group: BTreeMap::new(), ..alert }, 7);
        assert_eq!((platform.agency.as_str(), platform.summary.as_str()), ("", "SSH brute force"));
    }
}
