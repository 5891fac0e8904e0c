//! Evaluating every objective: its outages (or its Prometheus ratio) against its target
//! and calendar, giving its status, metrics, ledger row and incidents.

use std::collections::HashMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource, ResourceExt, runtime::reflector::ObjectRef};
use makonis_api::slo::{ServiceLevelObjective, ServiceLevelObjectiveStatus, SloState};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};
use makonis_slo_core::{
    DAY_MS, DEFAULT_RULES, Interval, Objective, ObjectiveState, ObjectiveStatus, Severity, burn::burn_rate,
    counted_time, evaluate,
};

use crate::{
    caches::decoded,
    context::{Context, MANAGER, ObjectKey},
    ledger::{IncidentRow, ObjectiveRow, random_hex},
    prometheus::evaluate_ratio,
    spec::{agency_of, objective_of, rfc3339},
};

/// What the evaluator remembers of an objective between passes.
struct Known {
    row: ObjectiveRow,
    state: Option<ObjectiveState>,
    incident: Option<IncidentRow>,
}

/// Evaluates objectives pass after pass.
#[derive(Default)]
pub struct Evaluator {
    known: HashMap<ObjectKey, Known>,
    reconciled_ledger: bool,
}

/// Why an objective cannot be measured now.
struct NotMeasured {
    reason: &'static str,
    message: String,
}

impl Evaluator {
    /// One pass over every objective in the cache.
    pub async fn pass(&mut self, ctx: &Context) {
        let started = std::time::Instant::now();
        let now = Timestamp::now().as_millisecond();
        // Undecodable objectives are skipped but stay known: their ledger records are not
        // marked deleted.
        let live = ctx.caches.objectives.state();
        for slo in live.iter().filter_map(|guarded| decoded(guarded)) {
            if slo.metadata.deletion_timestamp.is_none() {
                self.evaluate_one(ctx, slo, now).await;
            }
        }
        let keys: std::collections::HashSet<ObjectKey> = live.iter().map(|s| ObjectKey::of(s.as_ref())).collect();
        let gone: Vec<ObjectKey> = self.known.keys().filter(|k| !keys.contains(k)).cloned().collect();
        for key in gone {
            self.forget(ctx, &key, now).await;
        }
        if !self.reconciled_ledger {
            match ctx.ledger.live_objectives().await {
                Ok(rows) => {
                    for (namespace, name) in rows {
                        let key = ObjectKey { namespace, name };
                        if !keys.contains(&key) {
                            self.forget(ctx, &key, now).await;
                        }
                    }
                    self.reconciled_ledger = true;
                }
                Err(error) => tracing::warn!(%error, "cannot list the ledger's objectives"),
            }
        }
        ctx.metrics.record_evaluation(started.elapsed());
    }

    /// Marks a deleted objective in the ledger and drops its series.
    async fn forget(&mut self, ctx: &Context, key: &ObjectKey, now: i64) {
        if let Err(error) = ctx.ledger.delete_objective(&key.namespace, &key.name, now).await {
            tracing::warn!(%error, objective = key.name, "cannot mark a deleted objective in the ledger");
            return;
        }
        if let Some(known) = self.known.remove(key)
            && let Some(incident) = known.incident
            && let Err(error) = ctx.ledger.resolve_incident(&incident.id, now).await
        {
            tracing::warn!(%error, incident = incident.id, "cannot resolve the incident of a deleted objective");
        }
        let rules: Vec<(&str, &str)> = DEFAULT_RULES.iter().map(|r| (r.name, severity_name(r.severity))).collect();
        let agency = agency_of(&key.namespace);
        ctx.metrics.forget_objective([&agency, &key.namespace, &key.name], &burn_windows(), &rules);
    }

    async fn evaluate_one(&mut self, ctx: &Context, slo: &ServiceLevelObjective, now: i64) {
        let key = ObjectKey::of(slo);
        let agency = agency_of(&key.namespace);
        let objective = match objective_of(slo) {
            Ok(objective) => objective,
            Err(message) => {
                let not = NotMeasured { reason: "InvalidSpec", message: format!("{message}: fix the objective") };
                write_status(ctx, slo, unmeasured_status(slo, not)).await;
                return;
            }
        };
        let row = ObjectiveRow {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            agency: agency.clone(),
            instance: slo.spec.instance.clone().unwrap_or_default(),
            service: slo.spec.service.clone(),
            probe: slo.spec.indicator.probe.clone().unwrap_or_default(),
            target_percent: slo.spec.target_percent,
            support: objective.support,
            window: objective.window,
            maintenance: objective.maintenance.clone(),
            created_at: objective.measured_since,
        };
        if self.known.get(&key).map(|k| &k.row) != Some(&row) {
            if let Err(error) = ctx.ledger.upsert_objective(&row, now).await {
                tracing::warn!(%error, objective = key.name, "cannot record the objective in the ledger");
                return;
            }
            let incident = match self.known.remove(&key) {
                Some(known) => known.incident,
                None => ctx.ledger.open_incident(&key.namespace, &key.name).await.ok().flatten(),
            };
            self.known.insert(key.clone(), Known { row: row.clone(), state: None, incident });
        }
        let measured = match measure(ctx, slo, &objective, now).await {
            Ok(measured) => measured,
            Err(not) => {
                write_status(ctx, slo, unmeasured_status(slo, not)).await;
                return;
            }
        };
        let Measured { status, burns, source } = measured;
        let known = self.known.get_mut(&key).expect("inserted above");
        update_incident(ctx, slo, &row, &status, known, now).await;
        let labels = [agency.as_str(), key.namespace.as_str(), key.name.as_str()];
        let rules: Vec<(&str, &str, bool)> = DEFAULT_RULES
            .iter()
            .map(|r| (r.name, severity_name(r.severity), status.firing.iter().any(|f| f.rule == r.name)))
            .collect();
        ctx.metrics.set_objective(labels, objective.target, &status, &burns, &rules);
        if known.state.is_some_and(|s| s != status.state) {
            state_event(ctx, slo, &status).await;
        }
        known.state = Some(status.state);
        let incident = known.incident.as_ref().map(|i| i.id.clone());
        write_status(ctx, slo, measured_status(slo, &status, incident, &source)).await;
    }
}

/// An objective's standing, its burn rates by window, and what measured it.
struct Measured {
    status: ObjectiveStatus,
    burns: Vec<(i64, f64)>,
    source: String,
}

/// The windows of the burn-rate rules, shortest first, each once.
pub fn burn_windows() -> Vec<i64> {
    let mut windows: Vec<i64> = DEFAULT_RULES.iter().flat_map(|r| [r.short_ms, r.long_ms]).collect();
    windows.sort_unstable();
    windows.dedup();
    windows
}

async fn measure(
    ctx: &Context,
    slo: &ServiceLevelObjective,
    objective: &Objective,
    now: i64,
) -> Result<Measured, NotMeasured> {
    let namespace = slo.namespace().unwrap_or_default();
    let indicator = &slo.spec.indicator;
    if let Some(ratio) = &indicator.prometheus {
        let Some(url) = &ctx.config.prometheus_url else {
            return Err(NotMeasured {
                reason: "PrometheusNotConfigured",
                message: "the indicator is a Prometheus ratio, but the SLO engine runs without --prometheus-url".into(),
            });
        };
        let (status, burns) = evaluate_ratio(url, ratio, objective, now, &DEFAULT_RULES, &burn_windows())
            .await
            .map_err(|e| NotMeasured { reason: "PrometheusUnavailable", message: e.to_string() })?;
        return Ok(Measured { status, burns, source: format!("Prometheus at {url}") });
    }
    let probe = indicator.probe.clone().unwrap_or_default();
    if ctx.caches.probes.get(&ObjectRef::new(&probe).within(&namespace)).is_none() {
        return Err(NotMeasured {
            reason: "ProbeNotFound",
            message: format!("Probe {namespace}/{probe} does not exist: create it or fix spec.indicator.probe"),
        });
    }
    let window = objective.window.containing(now);
    let since = window.start.min(now - 3 * DAY_MS);
    let outages = ctx.ledger.outages_of(&namespace, &probe, since, now).await.map_err(|e| NotMeasured {
        reason: "LedgerUnavailable",
        message: format!("{e}; the objective is evaluated again when the database answers"),
    })?;
    let status = evaluate(objective, &outages, now, &ctx.calendar, &DEFAULT_RULES);
    let burns = burn_windows()
        .into_iter()
        .map(|window| {
            let lookback = Interval::new((now - window).max(objective.measured_since), now);
            let counted = counted_time(objective.support, &objective.maintenance, &ctx.calendar, lookback);
            (window, burn_rate(&counted, &outages, lookback, objective.target))
        })
        .collect();
    Ok(Measured { status, burns, source: format!("probe {probe}") })
}

/// Opens, escalates or resolves the objective's incident as its alerts fire or stop.
async fn update_incident(
    ctx: &Context,
    slo: &ServiceLevelObjective,
    row: &ObjectiveRow,
    status: &ObjectiveStatus,
    known: &mut Known,
    now: i64,
) {
    let worst = status.firing.iter().min_by_key(|f| f.severity);
    match (worst, &known.incident) {
        (Some(alert), None) => {
            let incident = IncidentRow {
                id: format!("inc-{}", random_hex(6)),
                agency: row.agency.clone(),
                namespace: row.namespace.clone(),
                instance: row.instance.clone(),
                objective: row.name.clone(),
                rule: alert.rule.clone(),
                severity: severity_name(alert.severity).into(),
                summary: format!(
                    "{}: the error budget burns {:.1}× too fast ({} alert); availability {} against {} %",
                    row.service,
                    alert.long_burn,
                    alert.rule,
                    status.availability.map(|a| format!("{:.3} %", a * 100.0)).unwrap_or_else(|| "not measured".into()),
                    row.target_percent
                ),
                opened_at: now,
                resolved_at: None,
            };
            match ctx.ledger.create_incident(&incident, &row.probe, now - 3 * DAY_MS).await {
                Ok(()) => {
                    ctx.metrics.record_incident(&incident.severity);
                    let note = format!("incident {} opened: {}", incident.id, incident.summary);
                    ctx.events.warning(&slo.object_ref(&()), "IncidentOpened", "Evaluate", note).await;
                    known.incident = Some(incident);
                }
                Err(error) => tracing::error!(%error, objective = row.name, "cannot open an incident"),
            }
        }
        (Some(alert), Some(open)) if alert.severity == Severity::Page && open.severity != "page" => {
            match ctx.ledger.escalate_incident(&open.id, &alert.rule, "page").await {
                Ok(()) => {
                    if let Some(incident) = known.incident.as_mut() {
                        (incident.rule, incident.severity) = (alert.rule.clone(), "page".into());
                    }
                }
                Err(error) => tracing::error!(%error, incident = open.id, "cannot escalate an incident"),
            }
        }
        (None, Some(open)) => match ctx.ledger.resolve_incident(&open.id, now).await {
            Ok(()) => {
                let note = format!("incident {}: the burn-rate alerts stopped firing", open.id);
                ctx.events.normal(&slo.object_ref(&()), "IncidentResolved", "Evaluate", note).await;
                known.incident = None;
            }
            Err(error) => tracing::error!(%error, incident = open.id, "cannot resolve an incident"),
        },
        _ => {}
    }
}

async fn state_event(ctx: &Context, slo: &ServiceLevelObjective, status: &ObjectiveStatus) {
    let reference = slo.object_ref(&());
    let availability = status.availability.map(|a| format!("{:.3} %", a * 100.0)).unwrap_or_else(|| "-".into());
    match status.state {
        ObjectiveState::Met => {
            ctx.events.normal(&reference, "ObjectiveMet", "Evaluate", format!("on target: {availability} so far")).await
        }
        ObjectiveState::AtRisk => {
            let note = format!("at risk: {availability} so far, burn rate {:.1} over 1h", status.burn_rate_1h);
            ctx.events.warning(&reference, "ObjectiveAtRisk", "Evaluate", note).await
        }
        ObjectiveState::Breached => {
            let note = format!("breached: the window's error budget is spent ({availability} so far)");
            ctx.events.warning(&reference, "ObjectiveBreached", "Evaluate", note).await
        }
    }
}

/// `page` or `ticket`.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The status of a measured objective. Values are rounded so that the status changes
/// only when a person would see a difference.
fn measured_status(
    slo: &ServiceLevelObjective,
    status: &ObjectiveStatus,
    incident: Option<String>,
    source: &str,
) -> ServiceLevelObjectiveStatus {
    let state = match status.state {
        ObjectiveState::Met => SloState::Met,
        ObjectiveState::AtRisk => SloState::AtRisk,
        ObjectiveState::Breached => SloState::Breached,
    };
    let message = match status.availability {
        Some(a) => format!("measured by {source}: {:.3} % so far against {} %", a * 100.0, slo.spec.target_percent),
        None => format!("measured by {source}; no support time has passed yet this window"),
    };
    ServiceLevelObjectiveStatus {
        state: Some(state),
        window_start: rfc3339(status.window.start),
        window_end: rfc3339(status.window.end),
        availability_percent: status.availability.map(|a| round(a * 100.0, 3)),
        downtime_minutes: Some(round(status.downtime_ms as f64 / 60_000.0, 1)),
        error_budget_remaining_minutes: Some(round(status.budget_remaining_ms as f64 / 60_000.0, 1)),
        error_budget_remaining_percent: Some(round(status.budget_remaining_ratio * 100.0, 1)),
        burn_rate: Some(round(status.burn_rate_1h, 1)),
        firing_alerts: status.firing.iter().map(|f| f.rule.clone()).collect(),
        incident,
        conditions: conditions(slo, [DesiredCondition::truthy("Ready", "Measuring", message)]),
        observed_generation: slo.metadata.generation,
    }
}

fn unmeasured_status(slo: &ServiceLevelObjective, not: NotMeasured) -> ServiceLevelObjectiveStatus {
    let mut status = slo.status.clone().unwrap_or_default();
    status.conditions = conditions(slo, [DesiredCondition::falsy("Ready", not.reason, not.message)]);
    status.observed_generation = slo.metadata.generation;
    status
}

fn conditions(slo: &ServiceLevelObjective, desired: impl IntoIterator<Item = DesiredCondition>) -> Vec<Condition> {
    let existing = slo.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    merge_conditions(existing, desired, slo.metadata.generation, k8s_openapi::jiff::Timestamp::now())
}

async fn write_status(ctx: &Context, slo: &ServiceLevelObjective, desired: ServiceLevelObjectiveStatus) {
    let api: Api<ServiceLevelObjective> = Api::namespaced(ctx.client.clone(), &slo.namespace().unwrap_or_default());
    if let Err(error) = apply_status_if_changed(&api, slo, slo.status.as_ref(), &desired, MANAGER, &ctx.reconcile).await
    {
        tracing::warn!(%error, objective = slo.name_any(), "cannot write the objective's status");
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::{
        catalog::SupportHours as ApiSupportHours,
        slo::{Indicator, ServiceLevelObjectiveSpec, SloWindow},
    };
    use makonis_slo_core::{FiringAlert, MINUTE_MS};

    use super::*;

    fn slo() -> ServiceLevelObjective {
        let mut slo = ServiceLevelObjective::new(
            "dvs",
            ServiceLevelObjectiveSpec {
                service: "DVS".into(),
                instance: Some("dvs".into()),
                target_percent: 99.5,
                window: SloWindow::CalendarMonth,
                support_hours: ApiSupportHours::TwentyFourSeven,
                maintenance_windows: Vec::new(),
                indicator: Indicator { probe: Some("dvs".into()), prometheus: None },
            },
        );
        slo.metadata.generation = Some(4);
        slo
    }

    fn status(availability: f64, state: ObjectiveState, firing: Vec<FiringAlert>) -> ObjectiveStatus {
        ObjectiveStatus {
            window: Interval::new(1_000, 2_000),
            elapsed_support_ms: 60 * MINUTE_MS,
            window_support_ms: 43_200 * MINUTE_MS,
            downtime_ms: 7 * MINUTE_MS + 1_234,
            availability: Some(availability),
            budget_ms: 216 * MINUTE_MS,
            budget_remaining_ms: 209 * MINUTE_MS - 1_234,
            budget_remaining_ratio: 0.967_123,
            burn_rate_1h: 23.333_33,
            firing,
            state,
        }
    }

    #[test]
    fn the_burn_windows_are_the_rules_windows_once_each() {
        let windows: Vec<String> = burn_windows().into_iter().map(makonis_slo_core::rules::window_label).collect();
        assert_eq!(windows, ["5m", "30m", "1h", "6h", "3d"]);
    }

    #[test]
    fn a_measured_status_is_rounded_so_that_it_changes_only_visibly() {
        let alert = FiringAlert { rule: "fast".into(), severity: Severity::Page, long_burn: 23.3, short_burn: 40.0 };
        let written = measured_status(
            &slo(),
            &status(0.883_333_3, ObjectiveState::AtRisk, vec![alert]),
            Some("inc-1".into()),
            "probe dvs",
        );
        assert_eq!(written.state, Some(SloState::AtRisk));
        assert_eq!(written.availability_percent, Some(88.333));
        assert_eq!(written.downtime_minutes, Some(7.0));
        assert_eq!(written.error_budget_remaining_minutes, Some(209.0));
        assert_eq!(written.error_budget_remaining_percent, Some(96.7));
        assert_eq!(written.burn_rate, Some(23.3));
        assert_eq!(written.firing_alerts, ["fast"]);
        assert_eq!(written.incident.as_deref(), Some("inc-1"));
        assert_eq!(written.observed_generation, Some(4));
        let ready = &written.conditions[0];
        assert_eq!(
            (ready.type_.as_str(), ready.status.as_str(), ready.reason.as_str()),
            ("Ready", "True", "Measuring")
        );
        assert_eq!(ready.message, "measured by probe dvs: 88.333 % so far against 99.5 %");
        // A few more seconds of uptime change nothing a person would see: no new status.
        let later =
            measured_status(&slo(), &status(0.883_333_4, ObjectiveState::AtRisk, Vec::new()), None, "probe dvs");
        assert_eq!(later.availability_percent, written.availability_percent);
    }

    #[test]
    fn an_unmeasured_objective_keeps_its_last_numbers_and_says_why() {
        let mut measured = slo();
        measured.status =
            Some(measured_status(&slo(), &status(0.99, ObjectiveState::Met, Vec::new()), None, "probe dvs"));
        let not = NotMeasured { reason: "ProbeNotFound", message: "Probe agency-lm/dvs does not exist".into() };
        let written = unmeasured_status(&measured, not);
        assert_eq!(written.availability_percent, Some(99.0));
        assert_eq!(written.state, Some(SloState::Met));
        let ready = &written.conditions[0];
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "ProbeNotFound"));
    }
}
