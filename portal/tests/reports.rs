//! The monthly SLA report through the portal's real router, over a real SQLite database
//! whose SLA ledger holds last month's objectives and outages of two agencies and of the
//! platform: who sees which agencies, the figures shown, the CSV export with its quoting,
//! and the export's audit entry.

mod support;

use axum::http::{StatusCode, header};
use makonis_portal::{
    i18n::{
        Lang,
        format::{number, percent},
    },
    store::{audit::AuditQuery, now_ms},
};
use makonis_slo::ledger::{IncidentRow, ObjectiveRow};
use makonis_slo_core::{
    DAY_MS, HOUR_MS, Interval, MINUTE_MS, SupportHours, Window,
    window::{month_of, month_span},
};
use support::{
    portal::{Answer, TestPortal},
    sqlite_store,
};

/// Latvian month names, as the page writes them.
const LATVIAN_MONTHS: [&str; 12] = [
    "janvāris",
    "februāris",
    "marts",
    "aprīlis",
    "maijs",
    "jūnijs",
    "jūlijs",
    "augusts",
    "septembris",
    "oktobris",
    "novembris",
    "decembris",
];

/// English month names.
const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The VDI service's name: a comma and quotes, for the CSV's quoting.
const VDI_SERVICE: &str = "Pensiju sistēma, \"DVS\"";
/// The ministry's service's name: a spreadsheet would take it for a formula.
const LM_SERVICE: &str = "@Sociālo pakalpojumu portāls";
/// The platform's own service.
const PLATFORM_SERVICE: &str = "Platformas API";
/// The VDI incident's summary.
const INCIDENT: &str = "Pensiju sistēma tērē kļūdu budžetu 14 reizes par ātru";

/// Last month, and its report as the ledger has it.
struct Fixture {
    portal: TestPortal,
    /// `YYYY-MM`.
    month: String,
    /// Its Latvian label, e.g. `2025. gada janvāris`.
    month_label: String,
    /// Its span.
    span: Interval,
}

/// A round-the-clock objective created at `created_at`.
fn objective(namespace: &str, name: &str, agency: &str, instance: &str, service: &str, target: f64) -> ObjectiveRow {
    ObjectiveRow {
        namespace: namespace.into(),
        name: name.into(),
        agency: agency.into(),
        instance: instance.into(),
        service: service.into(),
        probe: format!("{name}-http"),
        target_percent: target,
        support: SupportHours::TwentyFourSeven,
        window: Window::CalendarMonth,
        maintenance: Vec::new(),
        created_at: 0,
    }
}

/// A portal whose ledger has, for last month: VDI's service (99.5 %) down for 30 minutes
/// on the 3rd, with an incident; the ministry's (99.9 %) never down; the platform's API
/// (99.9 %) down for an hour on the 10th. All were created at the month's first moment.
async fn fixture() -> Fixture {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    let (year, month) = month_of(now_ms());
    let (year, month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    let span = month_span(year, month);
    let ledger = &portal.context.ledger;
    for mut row in [
        objective("agency-vdi", "pensijas-pieejamiba", "vdi", "pensijas", VDI_SERVICE, 99.5),
        objective("agency-lm", "portals-pieejamiba", "lm", "", LM_SERVICE, 99.9),
        objective("makonis-system", "api-pieejamiba", "", "", PLATFORM_SERVICE, 99.9),
    ] {
        row.created_at = span.start;
        ledger.upsert_objective(&row, span.start).await.unwrap();
    }
    let vdi_down = span.start + 2 * DAY_MS + 10 * HOUR_MS;
    let id = ledger.open_outage("agency-vdi", "pensijas-pieejamiba-http", "vdi", vdi_down, "HTTP 503").await.unwrap();
    ledger.close_outage(&id, vdi_down + 30 * MINUTE_MS).await.unwrap();
    let incident = IncidentRow {
        id: "inc-test-1".into(),
        agency: "vdi".into(),
        namespace: "agency-vdi".into(),
        instance: "pensijas".into(),
        objective: "pensijas-pieejamiba".into(),
        rule: "fast".into(),
        severity: "page".into(),
        summary: INCIDENT.into(),
        opened_at: vdi_down + 5 * MINUTE_MS,
        resolved_at: None,
    };
    ledger.create_incident(&incident, "pensijas-pieejamiba-http", vdi_down).await.unwrap();
    ledger.resolve_incident("inc-test-1", vdi_down + 40 * MINUTE_MS).await.unwrap();
    let platform_down = span.start + 9 * DAY_MS + 3 * HOUR_MS;
    let id = ledger.open_outage("makonis-system", "api-pieejamiba-http", "", platform_down, "timeout").await.unwrap();
    ledger.close_outage(&id, platform_down + HOUR_MS).await.unwrap();
    let month_label = format!("{year}. gada {}", LATVIAN_MONTHS[usize::try_from(month - 1).unwrap()]);
    Fixture { portal, month: format!("{year:04}-{month:02}"), month_label, span }
}

impl Fixture {
    /// Availability in percent of a 24x7 objective of `target_percent` down `down_ms` in
    /// the whole month, and its error budget left: computed as the report computes them.
    fn figures(&self, target_percent: f64, down_ms: i64) -> (f64, f64) {
        let target = target_percent / 100.0;
        let support_ms = self.span.len();
        let availability = 100.0 * (1.0 - down_ms as f64 / support_ms as f64);
        let budget = (1.0 - target) * support_ms as f64;
        (availability, 100.0 * (budget - down_ms as f64) / budget)
    }
}

/// The figures as the Latvian page writes them: availability and the budget left (to
/// a tenth).
fn shown(availability: f64, budget_left: f64) -> (String, String) {
    (percent(availability, Lang::Lv), percent((budget_left * 10.0).round() / 10.0, Lang::Lv))
}

fn assert_contains(answer: &Answer, texts: &[&str]) {
    for text in texts {
        assert!(answer.body.contains(text), "the page shows {text:?}:\n{}", answer.body);
    }
}

fn assert_lacks(answer: &Answer, texts: &[&str]) {
    for text in texts {
        assert!(!answer.body.contains(text), "the page does not show {text:?}:\n{}", answer.body);
    }
}

#[tokio::test]
async fn an_agency_user_sees_only_their_agency_with_its_figures_incidents_and_charts() {
    let fixture = fixture().await;
    let portal = &fixture.portal;
    let anna = portal.sign_in("anna").await;
    let page = portal.get(Some(&anna), &format!("/reports/sla?month={}", fixture.month)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (availability, budget) = fixture.figures(99.5, 30 * MINUTE_MS);
    let (availability, budget) = shown(availability, budget);
    let heading = format!("<h1>SLA pārskats: Valsts darba inspekcija (vdi), {}</h1>", fixture.month_label);
    assert_contains(
        &page,
        &[
            &heading,
            "Pensiju sistēma, &quot;DVS&quot;",
            "agency-vdi/pensijas-pieejamiba",
            &format!(r#"<td class="num">{}</td>"#, percent(99.5, Lang::Lv)),
            &format!(r#"<td class="num">{availability}</td>"#),
            &format!(r#"<td class="num">{}</td>"#, number(30.0, 1, Lang::Lv)),
            &format!(r#"<td class="num">{budget}</td>"#),
            r#"<span class="badge sla-met">Izpildīts</span>"#,
            "Mērķi izpildīti: 1; nav izpildīti: 0.",
            // The charts: availability against target, and the outage on the timeline.
            r#"role="img" aria-label="Pieejamība pret mērķi: Valsts darba inspekcija (vdi). Pakalpojumi: 1"#,
            r#"role="img" aria-label="Pārtraukumu laika josla: Valsts darba inspekcija (vdi). Pakalpojumi ar pārtraukumiem: 1"#,
            r#"<rect class="outage""#,
            "Horizontālā ass sākas pie 90\u{a0}%",
            // The month's incident.
            INCIDENT,
            "Steidzams (izsauc dežurantu)",
            "Atrisināts",
            // The navigation and the export.
            r#"<a href="/reports/sla">SLA pārskats</a>"#,
            &format!(r#"href="&#x2F;reports&#x2F;sla.csv?agency=vdi&amp;month={}" download"#, fixture.month),
        ],
    );
    assert_lacks(
        &page,
        &["Sociālo pakalpojumu", PLATFORM_SERVICE, "Platformas pieejamība", "līdz šim", "Visas iestādes"],
    );
    // The agency selector offers only Anna's agency.
    assert_eq!(page.body.matches(r#"<option value="vdi" selected>"#).count(), 1);
    assert!(!page.body.contains(r#"<option value="lm""#));

    let other = portal.get(Some(&anna), &format!("/reports/sla?agency=lm&month={}", fixture.month)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another agency's report is not found");
    assert_lacks(&other, &["Sociālo pakalpojumu"]);

    let liga = portal.sign_in("liga").await;
    let ministry = portal.get(Some(&liga), &format!("/reports/sla?month={}", fixture.month)).await;
    assert_eq!(ministry.status, StatusCode::OK);
    assert_contains(
        &ministry,
        &["@Sociālo pakalpojumu portāls", &format!(r#"<td class="num">{}</td>"#, percent(100.0, Lang::Lv))],
    );
    assert_lacks(&ministry, &["Pensiju sistēma", INCIDENT]);
    assert!(ministry.body.contains("Šajā mēnesī pārtraukumu nebija."), "no outages, no timeline");
}

#[tokio::test]
async fn a_platform_user_sees_every_agency_the_platform_and_its_summary() {
    let fixture = fixture().await;
    let portal = &fixture.portal;
    let admin = portal.sign_in("admin").await;
    let page = portal.get(Some(&admin), &format!("/reports/sla?month={}", fixture.month)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (platform, _) = fixture.figures(99.9, HOUR_MS);
    let heading = format!("<h1>SLA pārskats: Visas iestādes, {}</h1>", fixture.month_label);
    assert_contains(
        &page,
        &[
            &heading,
            "Pensiju sistēma, &quot;DVS&quot;",
            "@Sociālo pakalpojumu portāls",
            PLATFORM_SERVICE,
            "Platformas kopīgie pakalpojumi",
            "Platformas pieejamība",
            &format!("<dd>{}</dd>", percent(platform, Lang::Lv)),
            &format!("<dd>{}</dd>", percent(97.0, Lang::Lv)),
            &format!(r#"<td class="num">{}</td>"#, number(60.0, 1, Lang::Lv)),
            // An hour is more than 0.1 % of any month: the API breached its 99.9 %, while
            // the platform as a whole met its 97 %.
            r#"<span class="badge sla-breached">Nav izpildīts</span>"#,
            "Mērķi izpildīti: 0; nav izpildīti: 1.",
            r#"<dd><span class="badge sla-met">Izpildīts</span></dd>"#,
            INCIDENT,
            r#"<option value="">Visas iestādes</option>"#,
            r#"<option value="lm">"#,
        ],
    );
    // The platform's section comes first, then the agencies by code.
    let at = |text: &str| page.body.find(text).unwrap();
    assert!(at(PLATFORM_SERVICE) < at("@Sociālo") && at("@Sociālo") < at("Pensiju sistēma"));

    let vdi = portal.get(Some(&admin), &format!("/reports/sla?agency=vdi&month={}", fixture.month)).await;
    assert_eq!(vdi.status, StatusCode::OK);
    assert_contains(&vdi, &["Pensiju sistēma", "Platformas pieejamība", r#"<option value="vdi" selected>"#]);
    assert_lacks(&vdi, &["@Sociālo pakalpojumu portāls", "Platformas kopīgie pakalpojumi"]);

    let unknown = portal.get(Some(&admin), &format!("/reports/sla?agency=nav-tadas&month={}", fixture.month)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let english =
        support::portal::Browser { cookie: format!("{}; __Host-makonis_lang=en", admin.cookie), csrf: admin.csrf };
    let page = portal.get(Some(&english), &format!("/reports/sla?month={}", fixture.month)).await;
    let (year, month) = fixture.month.split_once('-').unwrap();
    let month = ENGLISH_MONTHS[month.parse::<usize>().unwrap() - 1];
    assert_contains(
        &page,
        &[
            &format!("<h1>SLA report: All agencies, {month} {year}</h1>"),
            "Platform availability",
            "The platform&#x27;s shared services",
            "Downtime (min)",
            "Longest outage (min)",
            "Error budget left",
            r#"<span class="badge sla-breached">Breached</span>"#,
            &format!("<dd>{}</dd>", percent(platform, Lang::En)),
            "Urgent (pages the on-call engineer)",
        ],
    );

    let operator = portal.sign_in("operator").await;
    let page = portal.get(Some(&operator), &format!("/reports/sla?month={}", fixture.month)).await;
    assert_contains(&page, &["Platformas pieejamība", "@Sociālo pakalpojumu portāls", "Pensiju sistēma"]);
}

#[tokio::test]
async fn the_current_month_is_the_default_and_is_marked_as_so_far() {
    let fixture = fixture().await;
    let portal = &fixture.portal;
    let anna = portal.sign_in("anna").await;
    let page = portal.get(Some(&anna), "/reports/sla").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_contains(&page, &["Mēnesis vēl nav beidzies: skaitļi ir līdz šim", "Pensiju sistēma"]);
    let months = regex::Regex::new(r#"<option value="\d{4}-\d{2}""#).unwrap();
    assert_eq!(months.find_iter(&page.body).count(), 13, "the current month and the twelve before it");
    assert!(page.body.contains(&format!(r#"<option value="{}">"#, fixture.month)));

    for month in ["2025-13", "jūnijs", "1999-12", "2999-01"] {
        let answer = portal.get(Some(&anna), &format!("/reports/sla?month={month}")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{month}");
    }
}

#[tokio::test]
async fn users_of_no_agency_get_neither_the_report_nor_its_link() {
    let fixture = fixture().await;
    let portal = &fixture.portal;
    let nobody = portal.sign_in("nobody").await;
    assert_eq!(portal.get(Some(&nobody), "/reports/sla").await.status, StatusCode::FORBIDDEN);
    assert_eq!(portal.get(Some(&nobody), "/reports/sla.csv").await.status, StatusCode::FORBIDDEN);
    assert!(!portal.get(Some(&nobody), "/catalog").await.body.contains("/reports/sla"));
    let anonymous = portal.get(None, "/reports/sla").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location(), "/login?next=%2Freports%2Fsla");
}

#[tokio::test]
async fn the_csv_export_has_a_row_per_service_quotes_defuses_formulas_and_is_audited() {
    let fixture = fixture().await;
    let portal = &fixture.portal;
    let month = &fixture.month;
    let admin = portal.sign_in("admin").await;
    let csv = portal.get(Some(&admin), &format!("/reports/sla.csv?month={month}")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
        format!(r#"attachment; filename="sla-all-{month}.csv""#)
    );
    let (vdi, vdi_budget) = fixture.figures(99.5, 30 * MINUTE_MS);
    let (platform, platform_budget) = fixture.figures(99.9, HOUR_MS);
    let body = csv.body.strip_prefix('\u{feff}').expect("a byte order mark for spreadsheets");
    let lines: Vec<&str> = body.split_terminator("\r\n").collect();
    assert_eq!(
        lines,
        [
            "month,agency,namespace,objective,instance,service,target_percent,availability_percent,downtime_minutes,\
             outages,longest_outage_minutes,met,budget_left_percent"
                .to_string(),
            format!(
                "{month},,makonis-system,api-pieejamiba,,Platformas API,99.900,{platform:.3},60.0,1,60.0,no,\
                 {platform_budget:.1}"
            ),
            format!(
                "{month},lm,agency-lm,portals-pieejamiba,,'@Sociālo pakalpojumu portāls,99.900,100.000,0.0,0,0.0,yes,100.0"
            ),
            format!(
                "{month},vdi,agency-vdi,pensijas-pieejamiba,pensijas,\"Pensiju sistēma, \"\"DVS\"\"\",99.500,{vdi:.3},\
                 30.0,1,30.0,yes,{vdi_budget:.1}"
            ),
        ]
    );

    let anna = portal.sign_in("anna").await;
    let own = portal.get(Some(&anna), &format!("/reports/sla.csv?month={month}")).await;
    assert_eq!(
        own.headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
        format!(r#"attachment; filename="sla-vdi-{month}.csv""#)
    );
    assert_eq!(own.body.split_terminator("\r\n").count(), 2, "the header and VDI's service: {}", own.body);
    let other = portal.get(Some(&anna), &format!("/reports/sla.csv?agency=lm&month={month}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let store = &portal.context.store;
    let audited = |actor: &str| {
        let query = AuditQuery { actor: Some(actor.into()), limit: 100, ..Default::default() };
        async move {
            store
                .audit_events(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|record| record.event)
                .filter(|event| event.action == "export_sla_report")
                .map(|event| (event.agency, event.object, event.outcome, event.source_ip))
                .collect::<std::collections::BTreeSet<_>>()
        }
    };
    assert_eq!(
        audited("admin").await,
        [(None, format!("sla all {month}"), "success".into(), "192.0.2.7".into())].into()
    );
    // VDI's own export, and the refused export of the ministry's report.
    assert_eq!(
        audited("anna").await,
        [
            (Some("lm".into()), format!("sla lm {month}"), "denied".into(), "192.0.2.7".into()),
            (Some("vdi".into()), format!("sla vdi {month}"), "success".into(), "192.0.2.7".into()),
        ]
        .into()
    );
}
