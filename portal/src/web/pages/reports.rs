//! The monthly SLA report (`/reports/sla`) and its CSV export (`/reports/sla.csv`): per
//! agency, every measured service's availability against its target, its downtime and
//! outages, with charts, and the month's incidents. Platform staff see every agency, the
//! platform's own services and the platform's availability against its target; agency
//! staff see their own agencies. The figures come from the SLA ledger, computed by
//! [`monthly_report`] for the Riga calendar month.

use std::collections::{BTreeSet, HashMap};

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use makonis_api::tenancy::DisplayName;
use makonis_slo::ledger::{IncidentRow, LedgerError};
use makonis_slo_core::{
    report::{AgencyReport, MonthlyReport, monthly_report},
    window::{month_of, month_span},
};
use serde::{Deserialize, Serialize};
use tera::Context as TeraContext;

use crate::{
    context::Context,
    identity::access::Access,
    store::now_ms,
    web::{
        AppState,
        charts::{self, AvailabilityChart, Timeline},
        csv::{self, Field},
        error::WebError,
        viewer::Viewer,
    },
};

/// The report's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ReportFilter {
    /// One agency's code; none (or empty) for everything the viewer may read.
    pub agency: Option<String>,
    /// The month as `YYYY-MM`; none (or empty) for the current one.
    pub month: Option<String>,
}

/// How many months before the current one the month selector offers.
pub const MONTHS_OFFERED: usize = 12;

/// The earliest year a report may be asked for.
const FIRST_YEAR: i16 = 2000;

/// A calendar month in Riga time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    /// The year.
    pub year: i16,
    /// The month, 1–12.
    pub month: i8,
}

impl Month {
    /// The Riga month that holds Unix millisecond `at`.
    pub fn of(at: i64) -> Self {
        let (year, month) = month_of(at);
        Self { year, month }
    }

    /// `YYYY-MM` (four digits, a hyphen, two digits) as a month; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let month: i8 = month.parse().ok()?;
        (1..=12).contains(&month).then_some(Self { year: year.parse().ok()?, month })
    }

    /// The month before.
    pub fn previous(self) -> Self {
        if self.month == 1 { Self { year: self.year - 1, month: 12 } } else { Self { month: self.month - 1, ..self } }
    }

    /// `YYYY-MM`.
    pub fn code(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// The month asked for (the current one when none is): a malformed month, one before
/// [`FIRST_YEAR`] or one still to come is not found.
pub fn requested_month(wanted: Option<&str>, now: i64) -> Result<Month, WebError> {
    let current = Month::of(now);
    match wanted.filter(|text| !text.is_empty()) {
        None => Ok(current),
        Some(text) => {
            Month::parse(text).filter(|month| month.year >= FIRST_YEAR && *month <= current).ok_or(WebError::NotFound)
        }
    }
}

/// The months the selector offers: the current one and [`MONTHS_OFFERED`] before it,
/// newest first, and `chosen` in its place if it is older.
pub fn offered_months(current: Month, chosen: Month) -> Vec<Month> {
    let mut months: Vec<Month> =
        std::iter::successors(Some(current), |month| Some(month.previous())).take(MONTHS_OFFERED + 1).collect();
    if !months.contains(&chosen) {
        months.push(chosen);
    }
    months
}

/// Whose services a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every agency and the platform's own services (platform staff only).
    All,
    /// One agency.
    Agency(String),
}

impl Scope {
    /// The agency, if one.
    pub fn agency(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Agency(code) => Some(code),
        }
    }

    /// How file names and the audit trail call it: the agency's code, or `all`. Only
    /// letters, digits and hyphens are kept, so it is safe in a header.
    pub fn name(&self) -> String {
        match self {
            Self::All => "all".into(),
            Self::Agency(code) => code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect(),
        }
    }
}

/// The scope a user with `access` gets for `wanted`: platform staff all by default, or
/// any one agency; agency staff one of their own agencies (the first by default). Another
/// agency is not found; a user of no agency may not read reports.
pub fn scope(access: &Access, wanted: Option<&str>) -> Result<Scope, WebError> {
    let wanted = wanted.filter(|code| !code.is_empty());
    match wanted {
        Some(code) if access.sees(code) => Ok(Scope::Agency(code.to_string())),
        Some(_) => Err(WebError::NotFound),
        None if access.is_platform() => Ok(Scope::All),
        None => access
            .agencies
            .keys()
            .next()
            .map(|code| Scope::Agency(code.clone()))
            .ok_or_else(|| WebError::Forbidden("you may not read SLA reports".into())),
    }
}

/// Whether a user with `access` reads any SLA report (the navigation shows the link).
pub fn reads_reports(access: &Access) -> bool {
    access.is_platform() || !access.agencies.is_empty()
}

/// A report as one viewer may read it.
#[derive(Debug, Clone)]
pub struct SlaReport {
    /// The month's report of the scope's agencies (the platform's summary is the
    /// platform's whatever the scope).
    pub report: MonthlyReport,
    /// The incidents of the scope's agencies open during the month, newest first.
    pub incidents: Vec<IncidentRow>,
    /// The agencies the viewer may choose, by code: for platform staff every agency the
    /// cluster has and every agency the month's ledger has (also of agencies since removed).
    pub choices: Vec<String>,
}

fn ledger_error(error: LedgerError) -> WebError {
    WebError::Internal(error.to_string())
}

/// The SLA report of `scope` for `month` as of `now`, as a user with `access` may read
/// it. Platform staff asking for an agency neither the cluster nor the month's ledger
/// knows get not found.
pub async fn load(
    context: &Context,
    access: &Access,
    scope: &Scope,
    month: Month,
    now: i64,
) -> Result<SlaReport, WebError> {
    let span = month_span(month.year, month.month);
    // Platform staff read everything (the platform's summary pools its own services);
    // agency staff only their agency.
    let only: Option<Vec<String>> = match (access.is_platform(), scope) {
        (true, _) => None,
        (false, Scope::Agency(code)) if access.sees(code) => Some(vec![code.clone()]),
        (false, _) => return Err(WebError::NotFound),
    };
    let (objectives, outages) = context.ledger.report_inputs(only.as_deref(), span).await.map_err(ledger_error)?;
    let mut incidents = context.ledger.incidents(only.as_deref(), span).await.map_err(ledger_error)?;
    // The days off and working days the SLO engine was told of, so that support time
    // counts as it counted.
    let calendar = context.ledger.calendar().await.map_err(ledger_error)?;
    let mut report = monthly_report(
        month.year,
        month.month,
        &objectives,
        &outages,
        now,
        &calendar,
        context.config.sla_platform_target_percent,
    );
    let choices: Vec<String> = if access.is_platform() {
        let known: BTreeSet<String> = context
            .view
            .agencies()
            .iter()
            .map(|agency| agency.spec.code.clone())
            .chain(report.agencies.iter().map(|agency| agency.agency.clone()).filter(|code| !code.is_empty()))
            .collect();
        known.into_iter().collect()
    } else {
        access.agencies.keys().cloned().collect()
    };
    if let Scope::Agency(code) = scope {
        if !choices.contains(code) {
            return Err(WebError::NotFound);
        }
        report.agencies.retain(|agency| &agency.agency == code);
        incidents.retain(|incident| &incident.agency == code);
    }
    Ok(SlaReport { report, incidents, choices })
}

/// One agency's part of the page: its report and its charts.
#[derive(Debug, Serialize)]
struct Section<'a> {
    /// The report.
    report: &'a AgencyReport,
    /// The agency's names, when the cluster knows it (not for the platform's own).
    name: Option<DisplayName>,
    /// Availability against target.
    chart: AvailabilityChart,
    /// The month's outages, when there were any.
    timeline: Option<Timeline>,
}

/// An incident with the name of the service its objective measures.
#[derive(Debug, Serialize)]
struct IncidentView<'a> {
    #[serde(flatten)]
    incident: &'a IncidentRow,
    /// The service, when the month's report has its objective.
    service: Option<&'a str>,
}

/// An agency in the selector.
#[derive(Debug, Serialize)]
struct Choice {
    code: String,
    name: Option<DisplayName>,
}

/// A month in the selector.
#[derive(Debug, Serialize)]
struct MonthChoice {
    year: i16,
    month: i8,
    code: String,
}

impl From<Month> for MonthChoice {
    fn from(month: Month) -> Self {
        Self { year: month.year, month: month.month, code: month.code() }
    }
}

/// The query string of the report of `scope` for `month`.
fn query(scope: &Scope, month: Month) -> String {
    serde_urlencoded::to_string([("agency", scope.agency().unwrap_or("")), ("month", &month.code())])
        .unwrap_or_default()
}

/// `GET /reports/sla`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<ReportFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let now = now_ms();
    let scope = scope(&actor.access, filter.agency.as_deref())?;
    let month = requested_month(filter.month.as_deref(), now)?;
    let loaded = load(&state.context, &actor.access, &scope, month, now).await?;
    let name_of = |code: &str| state.context.view.agency(code).map(|agency| agency.spec.display_name.clone());
    let midnights = charts::riga_midnights(month.year, month.month);
    let sections: Vec<Section<'_>> = loaded
        .report
        .agencies
        .iter()
        .map(|agency| Section {
            report: agency,
            name: name_of(&agency.agency),
            chart: charts::availability(&agency.services),
            timeline: charts::timeline(&agency.services, &midnights, now),
        })
        .collect();
    let services: HashMap<(&str, &str), &str> = loaded
        .report
        .agencies
        .iter()
        .flat_map(|agency| &agency.services)
        .map(|service| ((service.namespace.as_str(), service.name.as_str()), service.service.as_str()))
        .collect();
    let incidents: Vec<IncidentView<'_>> = loaded
        .incidents
        .iter()
        .map(|incident| IncidentView {
            incident,
            service: services.get(&(incident.namespace.as_str(), incident.objective.as_str())).copied(),
        })
        .collect();
    let choices: Vec<Choice> =
        loaded.choices.iter().map(|code| Choice { code: code.clone(), name: name_of(code) }).collect();
    let mut context = TeraContext::new();
    context.insert("sections", &sections);
    context.insert("platform", &actor.access.is_platform().then_some(&loaded.report.platform));
    context.insert("partial", &loaded.report.partial);
    context.insert("measured_to", &loaded.report.span.end);
    context.insert("month", &MonthChoice::from(month));
    let months: Vec<MonthChoice> = offered_months(Month::of(now), month).into_iter().map(MonthChoice::from).collect();
    context.insert("months", &months);
    context.insert("choices", &choices);
    context.insert("may_choose_all", &actor.access.is_platform());
    context.insert("agency", scope.agency().unwrap_or(""));
    context.insert("agency_name", &scope.agency().and_then(name_of));
    context.insert("incidents", &incidents);
    context.insert("csv_href", &format!("/reports/sla.csv?{}", query(&scope, month)));
    Ok(state.templates.page(&viewer, StatusCode::OK, "sla_report.html", context))
}

/// The columns of the CSV export.
pub const CSV_COLUMNS: [&str; 13] = [
    "month",
    "agency",
    "namespace",
    "objective",
    "instance",
    "service",
    "target_percent",
    "availability_percent",
    "downtime_minutes",
    "outages",
    "longest_outage_minutes",
    "met",
    "budget_left_percent",
];

/// The CSV of `report` (of `month`): a header and one row per service. Starts with a
/// byte order mark, so spreadsheets read it as UTF-8.
pub fn csv_of(report: &MonthlyReport, month: Month) -> String {
    let mut body = String::from(csv::BOM);
    body.push_str(&csv::row(CSV_COLUMNS.map(Field::Text)));
    let code = month.code();
    for service in report.agencies.iter().flat_map(|agency| &agency.services) {
        let numbers = [
            csv::decimal(service.target_percent, 3),
            service.availability_percent.map(|percent| csv::decimal(percent, 3)).unwrap_or_default(),
            csv::decimal(service.downtime_minutes, 1),
            service.outages.to_string(),
            csv::decimal(service.longest_outage_minutes, 1),
            if service.met { "yes" } else { "no" }.to_string(),
            csv::decimal(service.budget_left_percent, 1),
        ];
        let texts = [&code, &service.agency, &service.namespace, &service.name, &service.instance, &service.service];
        body.push_str(&csv::row(
            texts
                .into_iter()
                .map(|text| Field::Text(text.as_str()))
                .chain(numbers.iter().map(|n| Field::Number(n.as_str()))),
        ));
    }
    body
}

/// `GET /reports/sla.csv`: the report as CSV, audited as `export_sla_report`.
pub async fn csv_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<ReportFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let now = now_ms();
    let month = requested_month(filter.month.as_deref(), now)?;
    let object = |scope: &str| format!("sla {scope} {}", month.code());
    let scope = match scope(&actor.access, filter.agency.as_deref()) {
        Ok(scope) => scope,
        Err(error) => {
            let wanted = filter.agency.as_deref().filter(|code| !code.is_empty());
            let name = wanted.map_or_else(|| "all".to_string(), |code| Scope::Agency(code.to_string()).name());
            actor.audit(&state.context, wanted, "export_sla_report", &object(&name), "denied", "").await?;
            return Err(error);
        }
    };
    let loaded = load(&state.context, &actor.access, &scope, month, now).await?;
    let body = csv_of(&loaded.report, month);
    actor.audit(&state.context, scope.agency(), "export_sla_report", &object(&scope.name()), "success", "").await?;
    let disposition = format!("attachment; filename=\"sla-{}-{}.csv\"", scope.name(), month.code());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use makonis_slo_core::{Interval, SupportHours, report::PlatformSummary, report::ServiceReport};

    use super::*;
    use crate::identity::access::{AgencyRole, PlatformRole};

    fn access(platform: Option<PlatformRole>, agencies: &[&str]) -> Access {
        Access {
            platform,
            agencies: agencies
                .iter()
                .map(|code| (code.to_string(), BTreeSet::from([AgencyRole::Viewer])))
                .collect::<BTreeMap<_, _>>(),
            ..Access::default()
        }
    }

    #[test]
    fn months_are_four_digits_a_hyphen_and_two() {
        assert_eq!(Month::parse("2025-01"), Some(Month { year: 2025, month: 1 }));
        assert_eq!(Month::parse("2025-12"), Some(Month { year: 2025, month: 12 }));
        for bad in ["2025-13", "2025-00", "2025-1", "25-01", "2025/01", "2025-01-01", "", "+025-01", "２０２５-01"]
        {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(Month { year: 2025, month: 3 }.code(), "2025-03");
        assert_eq!(Month { year: 2025, month: 1 }.previous(), Month { year: 2024, month: 12 });
    }

    #[test]
    fn the_current_month_by_default_and_no_future_ones() {
        // 15 March 2025, noon in Riga.
        let now = month_span(2025, 3).start + 14 * 86_400_000 + 12 * 3_600_000;
        assert_eq!(requested_month(None, now).unwrap(), Month { year: 2025, month: 3 });
        assert_eq!(requested_month(Some(""), now).unwrap(), Month { year: 2025, month: 3 });
        assert_eq!(requested_month(Some("2024-11"), now).unwrap(), Month { year: 2024, month: 11 });
        assert!(matches!(requested_month(Some("2025-04"), now), Err(WebError::NotFound)));
        assert!(matches!(requested_month(Some("1999-12"), now), Err(WebError::NotFound)));
        assert!(matches!(requested_month(Some("march"), now), Err(WebError::NotFound)));
        // The first millisecond of April in Riga is still 31 March in UTC.
        assert_eq!(requested_month(None, month_span(2025, 4).start).unwrap(), Month { year: 2025, month: 4 });
    }

    #[test]
    fn the_selector_offers_thirteen_months_and_the_chosen_one() {
        let current = Month { year: 2025, month: 3 };
        let months = offered_months(current, current);
        assert_eq!(months.len(), 13);
        assert_eq!((months[0], months[12]), (current, Month { year: 2024, month: 3 }));
        let older = Month { year: 2023, month: 7 };
        assert_eq!(offered_months(current, older).last(), Some(&older));
        assert_eq!(offered_months(current, older).len(), 14);
    }

    #[test]
    fn platform_staff_read_all_or_any_agency() {
        let operator = access(Some(PlatformRole::Operator), &[]);
        assert_eq!(scope(&operator, None).unwrap(), Scope::All);
        assert_eq!(scope(&operator, Some("")).unwrap(), Scope::All);
        assert_eq!(scope(&operator, Some("lm")).unwrap(), Scope::Agency("lm".into()));
        assert!(reads_reports(&operator));
    }

    #[test]
    fn agency_staff_read_their_own_agencies_only() {
        let two = access(None, &["lm", "vdi"]);
        assert_eq!(scope(&two, None).unwrap(), Scope::Agency("lm".into()), "the first by code");
        assert_eq!(scope(&two, Some("vdi")).unwrap(), Scope::Agency("vdi".into()));
        assert!(matches!(scope(&two, Some("vid")), Err(WebError::NotFound)));
        let nobody = access(None, &[]);
        assert!(matches!(scope(&nobody, None), Err(WebError::Forbidden(_))));
        assert!(matches!(scope(&nobody, Some("vdi")), Err(WebError::NotFound)));
        assert!(!reads_reports(&nobody) && reads_reports(&two));
    }

    #[test]
    fn scope_names_are_safe_in_headers() {
        assert_eq!(Scope::All.name(), "all");
        assert_eq!(Scope::Agency("vdi".into()).name(), "vdi");
        assert_eq!(Scope::Agency("x\"; y\r\nz".into()).name(), "xyz");
    }

    fn service(agency: &str, name: &str, title: &str, availability: Option<f64>) -> ServiceReport {
        ServiceReport {
            namespace: format!("agency-{agency}"),
            name: name.into(),
            agency: agency.into(),
            instance: "pensijas".into(),
            service: title.into(),
            target_percent: 99.5,
            support: SupportHours::TwentyFourSeven,
            support_minutes: 44_640.0,
            availability_percent: availability,
            downtime_minutes: 30.0,
            outages: 1,
            longest_outage_minutes: 30.0,
            met: availability.is_none_or(|a| a >= 99.5),
            budget_left_percent: -34.41,
            outage_spans: Vec::new(),
        }
    }

    #[test]
    fn the_csv_has_a_header_and_a_row_per_service() {
        let report = MonthlyReport {
            year: 2025,
            month: 1,
            span: Interval::new(0, 1),
            partial: false,
            agencies: vec![AgencyReport {
                agency: "vdi".into(),
                services: vec![
                    service("vdi", "web", "Pensiju sistēma, \"DVS\"", Some(99.932_795)),
                    service("vdi", "db", "=1+1", None),
                ],
                met: 1,
                breached: 1,
            }],
            platform: PlatformSummary { target_percent: 97.0, availability_percent: None, met: true },
        };
        let csv = csv_of(&report, Month { year: 2025, month: 1 });
        let lines: Vec<&str> = csv.strip_prefix('\u{feff}').unwrap().split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2025-01,vdi,agency-vdi,web,pensijas,\"Pensiju sistēma, \"\"DVS\"\"\",99.500,99.933,30.0,1,30.0,yes,-34.4"
        );
        assert_eq!(lines[2], "2025-01,vdi,agency-vdi,db,pensijas,'=1+1,99.500,,30.0,1,30.0,yes,-34.4");
    }
}
