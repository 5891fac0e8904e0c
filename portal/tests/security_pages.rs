//! The Security pages against a real SIEM (`makonis-siem`'s HTTPS listener with its
//! search API, in this process) reached with the portal's client certificate: an
//! agency's security officer searches only their agency's events, the platform's
//! security group every agency's, a platform administrator none; every search, export
//! and report is in the audit trail (refusals too); what senders wrote is shown escaped
//! and exported formula-safe; a bad field comes back with its message.

mod support;

#[path = "../../monitoring/siem/tests/support/mod.rs"]
mod siem_support;

use std::{sync::Arc, time::Duration};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use makonis_portal::{
    context::PortalConfig,
    siem::SiemSink,
    store::{Store, audit::AuditQuery},
};
use makonis_siem::{
    intake::{https, writer},
    portal_api,
};
use makonis_siem_core::claims::{Format, Sender};
use serde_json::{Value, json};
use siem_support::pki::{self, Ca};
use support::portal::TestPortal;
use tokio::net::TcpListener;

struct Siem {
    port: u16,
    ca: Ca,
    dir: std::path::PathBuf,
}

/// The store of a SIEM started in `dir`.
fn store_config(dir: &std::path::Path) -> makonis_siem::store::Config {
    makonis_siem::store::Config {
        root: dir.join("store"),
        checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
        skew_limit: SignedDuration::from_mins(5),
    }
}

/// A SIEM whose agencies lm and vdi ship their domain controllers' Windows events.
async fn siem() -> Siem {
    let dir = siem_support::fresh_dir("security-pages");
    let (store, public_key) = siem_support::store_in(&dir).await;
    let (ca, credentials) = siem_support::tls_credentials(&dir);
    let mut lm = siem_support::servers("127.0.0.8/32", "UTC");
    lm.format = Format::Json;
    lm.senders = vec![Sender::Certificate("dc1.lm.gov.lv".into())];
    let mut vdi = lm.clone();
    vdi.id = "agency-vdi/servers".into();
    vdi.agency = Some("vdi".into());
    vdi.senders = vec![Sender::Certificate("dc1.vdi.gov.lv".into())];
    let (intake, queue_rx, stats) = siem_support::intake(vec![lm, vdi], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = portal_api::Reader {
        store: store_config(&dir).into(),
        public_key: Arc::new(public_key),
        platform_namespace: "makonis-system".into(),
        metrics: None,
    };
    tokio::spawn(https::serve_with(listener, credentials.subscribe(), intake, portal_api::routes(reader)));
    tokio::spawn(writer::run(store, queue_rx, stats, None, None));
    Siem { port, ca, dir }
}

impl Siem {
    /// Ships Windows events as the domain controller `name` of `namespace`.
    async fn ship(&self, name: &str, namespace: &str, events: Value) {
        let client = self.ca.client(&[name], Some(namespace));
        let body = serde_json::to_vec(&events).unwrap();
        let (status, answer) = pki::post(self.port, &self.ca, &client, https::EVENTS_PATH, body.len(), &body).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// The portal's connection to this SIEM.
    fn sink(&self) -> SiemSink {
        let (certificate, key) = self.ca.client(&["portal"], Some("makonis-system")).write(&self.dir, "portal");
        let server_ca = self.dir.join("server-ca.crt");
        std::fs::write(&server_ca, &self.ca.pem).unwrap();
        SiemSink {
            url: format!("https://localhost:{}/v1/events", self.port).parse().unwrap(),
            certificate,
            key,
            server_ca,
            every: Duration::from_secs(1),
        }
    }
}

fn windows(id: u32, user: &str, ip: &str, at: Timestamp) -> Value {
    let kind = if id == 4625 { "AUDIT_FAILURE" } else { "AUDIT_SUCCESS" };
    json!({"EventID": id, "EventType": kind, "TargetUserName": user, "IpAddress": ip, "IpPort": "50123",
        "LogonType": 3, "Hostname": "dc1", "EventTime": at.to_string(), "Message": "Windows sign-in"})
}

/// The audit records of `actor`, newest first, as `action outcome object`.
async fn recorded(store: &Store, actor: &str) -> Vec<String> {
    let query = AuditQuery { agencies: None, actor: Some(actor.into()), before: None, limit: 100 };
    let records = store.audit_events(&query).await.unwrap();
    records.iter().map(|r| format!("{} {} {}", r.event.action, r.event.outcome, r.event.object)).collect()
}

#[tokio::test]
async fn security_officers_search_their_agencys_logs_and_every_look_is_recorded() {
    let siem = siem().await;
    let now = Timestamp::now() - SignedDuration::from_mins(1);
    let at = |seconds: i64| now - SignedDuration::from_secs(seconds);
    let month = now.to_zoned_datetime(TimeZone::UTC).date().strftime("%Y-%m").to_string();
    let lm = json!([
        windows(4625, "janis", "10.0.0.1", at(4)),
        windows(4625, "janis", "10.0.0.1", at(3)),
        windows(4625, "=cmd|' /C calc'!A0", "10.0.0.1", at(2)),
        windows(4624, "anna", "10.0.0.2", at(1)),
    ]);
    siem.ship("dc1.lm.gov.lv", "agency-lm", lm).await;
    siem.ship("dc1.vdi.gov.lv", "agency-vdi", json!([windows(4625, "<script>mallory</script>", "192.0.2.66", at(5))]))
        .await;

    let config = PortalConfig { siem: Some(siem.sink()), ..PortalConfig::default() };
    let portal = TestPortal::with_config(support::sqlite_store().await, vec![], config).await;
    let store = &portal.context.store;

    // Agency lm's security officer: lm's events only, each with its original record.
    let officer = portal.sign_in("lm-security").await;
    let page = portal.get(Some(&officer), "/security").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<td>janis</td>") && page.body.contains("<td>anna</td>"), "{}", page.body);
    assert!(!page.body.contains("mallory"), "agency vdi's events are not agency lm's");
    assert!(page.body.contains("&quot;EventID&quot;:4625"), "the original record, escaped");
    let failed = portal.get(Some(&officer), "/security?user=janis&outcome=failure").await;
    assert_eq!(failed.body.matches("<td>janis</td>").count(), 2);
    let other = portal.get(Some(&officer), "/security?agency=vdi").await;
    assert_eq!(other.status, 404, "another agency's logs do not exist for them");
    let bad = portal.get(Some(&officer), "/security?ip=10.0.0.300").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("ip: &quot;10.0.0.300&quot; is not an IPv4 or IPv6 address"), "{}", bad.body);

    // The export: the same events, formula-safe.
    let csv = portal.get(Some(&officer), "/security/events.csv").await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5, "a header and agency lm's four events: {}", csv.body);
    assert!(csv.body.contains(",'=cmd|' /C calc'!A0,"), "a formula is defused: {}", csv.body);

    // The monthly report: failed sign-ins by user and address.
    let report = portal.get(Some(&officer), &format!("/security/report?month={month}")).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(report.body.contains("<td>janis</td><td>10.0.0.1</td><td>2</td>"), "{}", report.body);
    assert!(report.body.contains("<h2 id=\"silences\">"), "the month's silences have their section");

    // Each look, the refused one too, is in the trail before anything was shown.
    let trail = recorded(store, "lm-security").await;
    for expected in [
        "read_security_report success security logs lm",
        "export_security_logs success security logs lm",
        "search_security_logs denied security logs vdi",
        "search_security_logs success security logs lm",
    ] {
        assert!(trail.iter().any(|r| r == expected), "{expected} in {trail:?}");
    }

    // The platform's security group reads every agency's; what senders wrote is escaped.
    let security = portal.sign_in("security").await;
    let everything = portal.get(Some(&security), "/security").await;
    assert!(everything.body.contains("&lt;script&gt;mallory&lt;&#x2F;script&gt;"), "{}", everything.body);
    assert!(everything.body.contains("<td>janis</td>"));
    // A platform administrator is not a security officer.
    let admin = portal.sign_in("admin").await;
    assert_eq!(portal.get(Some(&admin), "/security").await.status, 403);
    assert_eq!(
        recorded(store, "admin").await.first().map(String::as_str),
        Some("search_security_logs denied security logs all")
    );
    let _ = std::fs::remove_dir_all(&siem.dir);
}

#[tokio::test]
async fn without_a_siem_the_pages_say_the_store_is_not_connected() {
    let portal = TestPortal::new(support::sqlite_store().await, vec![]).await;
    let officer = portal.sign_in("lm-security").await;
    let page = portal.get(Some(&officer), "/security").await;
    assert_eq!(page.status, 503);
    assert!(
        page.body.contains("The security log store cannot be reached") || page.body.contains("krātuve"),
        "{}",
        page.body
    );
    let export = portal.get(Some(&officer), "/security/events.csv").await;
    assert_eq!(export.status, 503, "{}", export.body);
    let sources = portal.get(Some(&officer), "/security/sources").await;
    assert_eq!(sources.status, 503, "no cluster to list the sources from");
}

/// Records an alert of `agency` at `level` over the stored events of that agency (all of
/// them; the platform's alert over none), as detection would; its id.
async fn raise(siem: &Siem, id: &str, title: &str, agency: Option<&str>, level: &str) -> String {
    use makonis_siem::store::{AlertRecord, Store as SiemStore};
    let mut store = SiemStore::open_for_alerts(store_config(&siem.dir)).await.unwrap();
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let mut places = Vec::new();
    for key in store.partitions_since(today.yesterday().unwrap()).await.unwrap() {
        for event in store.events_from(key, 1).await.unwrap() {
            if agency.is_some() && event.agency.as_deref() == agency {
                let time = Timestamp::from_microsecond(event.time).unwrap();
                places.push(json!({"partition": key.name(), "seq": event.seq, "time": time.to_string()}));
            }
        }
    }
    let now = Timestamp::now();
    let alert = AlertRecord {
        id: id.into(),
        raised_at: now,
        object: "ClusterDetectionRule makonis-pack".into(),
        rule_id: None,
        title: title.into(),
        level: level.into(),
        kind: "correlation".into(),
        agency: agency.map(str::to_owned),
        group: r#"{"source.ip":"10.0.0.1"}"#.into(),
        first: now - SignedDuration::from_mins(1),
        last: now,
        events: Value::Array(places).to_string(),
        delay_seconds: 0.3,
        late: false,
        firings: 1,
    };
    store.record_detection(&Default::default(), &[alert], &[]).await.unwrap();
    id.to_owned()
}

#[tokio::test]
async fn security_officers_work_their_agencys_alerts_and_serious_ones_open_security_incidents() {
    use makonis_portal::siem::incidents::{IncidentFeedMetrics, round};
    let siem = siem().await;
    let at = |seconds: i64| Timestamp::now() - SignedDuration::from_secs(60 + seconds);
    let lm = json!([windows(4625, "janis", "10.0.0.1", at(3)), windows(4625, "janis", "10.0.0.1", at(2))]);
    siem.ship("dc1.lm.gov.lv", "agency-lm", lm).await;
    siem.ship("dc1.vdi.gov.lv", "agency-vdi", json!([windows(4625, "anna", "192.0.2.66", at(1))])).await;
    let lm_alert = raise(&siem, "a1lm0000000000000000", "SSH brute force", Some("lm"), "high").await;
    let vdi_alert = raise(&siem, "a2vdi000000000000000", "Password spraying", Some("vdi"), "medium").await;
    let platform_alert = raise(&siem, "a3platform0000000000", "ClusterRoleBinding created", None, "critical").await;

    let config = PortalConfig { siem: Some(siem.sink()), ..PortalConfig::default() };
    let portal = TestPortal::with_config(support::sqlite_store().await, vec![], config).await;
    let store = &portal.context.store;

    // Agency lm's security officer lists and opens lm's alerts only.
    let officer = portal.sign_in("lm-security").await;
    let list = portal.get(Some(&officer), "/security/alerts").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&format!("/security/alerts/{lm_alert}")), "{}", list.body);
    assert!(!list.body.contains(&vdi_alert) && !list.body.contains(&platform_alert), "{}", list.body);
    assert_eq!(portal.get(Some(&officer), &format!("/security/alerts/{vdi_alert}")).await.status, 404);
    assert_eq!(portal.get(Some(&officer), &format!("/security/alerts/{platform_alert}")).await.status, 404);
    let page = portal.get(Some(&officer), &format!("/security/alerts/{lm_alert}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches("&quot;TargetUserName&quot;:&quot;janis&quot;").count(),
        2,
        "its events from the store"
    );
    let bad = portal.get(Some(&officer), "/security/alerts?level=severe").await;
    assert_eq!(bad.status, 400);

    // And the other way: agency vdi's admin sees vdi's alert, not lm's.
    let vdi_admin = portal.sign_in("vdi-admin").await;
    let theirs = portal.get(Some(&vdi_admin), "/security/alerts").await;
    assert!(theirs.body.contains(&vdi_alert) && !theirs.body.contains(&lm_alert), "{}", theirs.body);
    assert_eq!(portal.get(Some(&vdi_admin), &format!("/security/alerts/{lm_alert}")).await.status, 404);

    // Working it: acknowledge, a close without a verdict re-rendered with the reason, a
    // close with one, and an action the closed state refuses.
    let path = format!("/security/alerts/{lm_alert}");
    let acknowledged = portal.post(&officer, &path, &[("action", "acknowledge")]).await;
    assert_eq!(acknowledged.status, 303);
    assert_eq!(acknowledged.location(), path.as_str());
    let no_verdict = portal.post(&officer, &path, &[("action", "close"), ("comment", "x")]).await;
    assert_eq!(no_verdict.status, 400);
    assert!(no_verdict.body.contains("verdict: choose"), "{}", no_verdict.body);
    let closed = portal
        .post(&officer, &path, &[("action", "close"), ("verdict", "true_positive"), ("comment", "blokēts")])
        .await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    let refused = portal.post(&officer, &path, &[("action", "acknowledge")]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("the alert is closed: it cannot be acknowledged"), "{}", refused.body);
    let shown = portal.get(Some(&officer), &path).await;
    assert!(shown.body.contains("lm-security (") && shown.body.contains("blokēts"), "the history: {}", shown.body);
    let closed_list = portal.get(Some(&officer), "/security/alerts?state=closed").await;
    assert!(closed_list.body.contains(&lm_alert), "{}", closed_list.body);
    // Another agency's alert cannot be worked, and the attempt is recorded.
    let other = portal.post(&officer, &format!("/security/alerts/{vdi_alert}"), &[("action", "acknowledge")]).await;
    assert_eq!(other.status, 404);

    let trail = recorded(store, "lm-security").await;
    for expected in [
        "read_security_alerts success security logs lm".to_owned(),
        format!("triage_security_alert ok security alert {lm_alert}"),
        format!("triage_security_alert invalid security alert {lm_alert}"),
        format!("triage_security_alert refused security alert {lm_alert}"),
        format!("triage_security_alert denied security alert {vdi_alert}"),
    ] {
        assert!(trail.contains(&expected), "{expected} in {trail:?}");
    }

    // High and critical alerts open one security incident each, however often read.
    let metrics = IncidentFeedMetrics::new().unwrap();
    assert_eq!(round(store, &siem.sink(), &metrics).await.unwrap(), 2);
    assert_eq!(round(store, &siem.sink(), &metrics).await.unwrap(), 0, "one incident per alert");
    let incidents = portal.get(Some(&officer), "/security/incidents").await;
    assert_eq!(incidents.status, 200, "{}", incidents.body);
    assert!(incidents.body.contains("SSH brute force (source.ip=10.0.0.1)"), "{}", incidents.body);
    assert!(!incidents.body.contains("ClusterRoleBinding"), "the platform's incident is platform security's");
    assert!(portal.get(Some(&officer), &path).await.body.contains("sec-a1lm000000000000"), "the alert links it");
    // An incident follows its alert: lm's was closed before the feed read it, so its
    // incident is resolved; reopening the alert opens the incident again.
    let lm_row =
        |body: &str| body.split("<tr id=\"").find(|r| r.starts_with("sec-a1lm")).unwrap_or_default().to_owned();
    assert!(!lm_row(&incidents.body).contains("class=\"unresolved\""), "{}", lm_row(&incidents.body));
    assert!(lm_row(&incidents.body).contains("<th scope=\"row\">sec-a1lm"), "{}", incidents.body);
    let reopened = portal.post(&officer, &path, &[("action", "reopen")]).await;
    assert_eq!(reopened.status, 303, "{}", reopened.body);
    let again = portal.get(Some(&officer), "/security/incidents").await;
    assert!(lm_row(&again.body).contains("class=\"unresolved\""), "open again: {}", lm_row(&again.body));
    let security = portal.sign_in("security").await;
    let all = portal.get(Some(&security), "/security/incidents").await;
    assert!(all.body.contains("ClusterRoleBinding created") && all.body.contains("SSH brute force"), "{}", all.body);
    // lm's admin reads lm's security logs and alerts, but incidents are security officers'.
    let lm_admin = portal.sign_in("lm-approver").await;
    assert_eq!(portal.get(Some(&lm_admin), "/security/alerts").await.status, 200);
    assert_eq!(portal.get(Some(&lm_admin), "/security/incidents").await.status, 403);
    // The SLA report's incidents are burn-rate incidents only.
    let span = makonis_slo_core::Interval { start: 0, end: i64::MAX };
    assert!(portal.context.ledger.incidents(None, span).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&siem.dir);
}
