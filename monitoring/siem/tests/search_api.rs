//! The search API over real HTTPS with client certificates: only the portal's certificate
//! reads; a search sees only the agencies it names; pages neither repeat nor skip; free
//! text is taken literally; the monthly report counts failed sign-ins and verifies the
//! month's partitions, naming an event edited in SQL behind the store's back; on both
//! databases.

use std::sync::Arc;

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use makonis_siem::{
    intake::metrics::SiemMetrics,
    intake::{https, writer},
    portal_api::{self, REPORT_PATH, SEARCH_PATH},
    store::{Backend, PartitionKey, Store},
};
use makonis_siem_core::{
    chain::SigningKey,
    claims::{Format, Sender},
    retention::SourceCategory,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[path = "support/backends.rs"]
mod backends;
mod support;

use backends::{Kind, kinds};
use support::{
    fresh_dir, intake,
    pki::{self, Ca, Issued},
    servers, tls_credentials,
};

const PLATFORM: &str = "makonis-system";

struct Siem {
    port: u16,
    ca: Ca,
    portal: Issued,
    backend: Backend,
    registry: prometheus::Registry,
    /// Its files (removed when dropped).
    dir: std::path::PathBuf,
}

impl Drop for Siem {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Siem {
    async fn post(&self, client: &Issued, path: &str, body: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        pki::post(self.port, &self.ca, client, path, body.len(), &body).await
    }

    async fn search(&self, body: Value) -> Value {
        let (status, answer) = self.post(&self.portal, SEARCH_PATH, &body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// The SIEM's HTTPS listener with the intake and the search API; agencies lm and vdi
/// each ship their domain controllers' Windows events with a certificate of their own.
async fn start(kind: Kind) -> (Siem, Issued, Issued) {
    let dir = fresh_dir("search");
    let backend = backends::backend(kind, &dir).await;
    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let public_key = key.public_key();
    let store = Store::open(backend.clone(), key).await.unwrap();
    let (ca, credentials) = tls_credentials(&dir);
    let mut lm = servers("127.0.0.8/32", "UTC");
    lm.format = Format::Json;
    lm.senders = vec![Sender::Certificate("dc1.lm.gov.lv".into())];
    let mut vdi = lm.clone();
    vdi.id = "agency-vdi/servers".into();
    vdi.agency = Some("vdi".into());
    vdi.senders = vec![Sender::Certificate("dc1.vdi.gov.lv".into())];
    let (intake, queue_rx, stats) = intake(vec![lm, vdi], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let registry = prometheus::Registry::new();
    let reader = portal_api::Reader {
        store: backend.clone(),
        public_key: Arc::new(public_key),
        platform_namespace: PLATFORM.into(),
        metrics: Some(SiemMetrics::register(&registry).unwrap()),
    };
    tokio::spawn(https::serve_with(listener, credentials.subscribe(), intake, portal_api::routes(reader)));
    tokio::spawn(writer::run(store, queue_rx, stats, None, None));
    let lm_dc = ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    let vdi_dc = ca.client(&["dc1.vdi.gov.lv"], Some("agency-vdi"));
    let portal = ca.client(&["portal"], Some(PLATFORM));
    (Siem { port, ca, portal, backend, registry, dir }, lm_dc, vdi_dc)
}

/// A Windows sign-in (4624) or failed sign-in (4625) as NXLog sends it.
fn sign_in(id: u32, user: &str, ip: &str, at: &str, message: &str) -> Value {
    let kind = if id == 4625 { "AUDIT_FAILURE" } else { "AUDIT_SUCCESS" };
    json!({"EventID": id, "EventType": kind, "TargetUserName": user, "TargetDomainName": "LM", "IpAddress": ip, "IpPort": "50123",
        "LogonType": 3, "Hostname": "dc1", "EventTime": at, "Message": message})
}

/// The UTC day `days` before today.
fn days_ago(days: i64) -> Date {
    Timestamp::now().to_zoned_datetime(TimeZone::UTC).date().checked_sub(jiff::Span::new().days(days)).unwrap()
}

#[tokio::test]
async fn the_portal_searches_page_by_page_within_the_agencies_it_names() {
    for kind in kinds() {
        searches_on(kind).await;
    }
}

async fn searches_on(kind: Kind) {
    let (siem, lm_dc, vdi_dc) = start(kind).await;
    // Events of the last days are kept (and searched) by their own time.
    let (first, second) = (days_ago(2), days_ago(1));
    let mut lm = Vec::new();
    for n in 0..20 {
        lm.push(sign_in(4625, "janis", "10.0.0.1", &format!("{first}T10:00:{n:02}Z"), "An account failed to log on"));
    }
    for n in 0..10 {
        lm.push(sign_in(4624, "anna", "10.0.0.2", &format!("{second}T09:00:{n:02}Z"), "An account was logged on"));
    }
    let (status, answer) = siem.post(&lm_dc, https::EVENTS_PATH, &json!(lm)).await;
    assert_eq!((status, answer), (200, json!({"stored": 30, "quarantined": 0})));
    let vdi = json!([
        sign_in(4625, "mallory", "192.0.2.66", &format!("{first}T10:00:30Z"), "discount 50%_off"),
        sign_in(4625, "mallory", "192.0.2.66", &format!("{first}T10:00:31Z"), "discount 50abcoff"),
    ]);
    let (status, _) = siem.post(&vdi_dc, https::EVENTS_PATH, &vdi).await;
    assert_eq!(status, 200);

    let (from, to) = (format!("{}T00:00:00Z", days_ago(3)), format!("{}T00:00:00Z", days_ago(-1)));
    let recent = |extra: Value| {
        let mut body = json!({"from": from, "to": to, "limit": 7});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    // Page by page through agency lm's events: newest first, none twice, none missed.
    let mut seen: Vec<Value> = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = siem.search(recent(json!({"agencies": ["lm"], "after": after}))).await;
        seen.extend(page["hits"].as_array().unwrap().iter().cloned());
        after = page["next"].clone();
        if after.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(seen.iter().all(|hit| hit["agency"] == "lm"), "only agency lm's events");
    let times: Vec<&str> = seen.iter().map(|hit| hit["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "newest first, each once: {times:?}");
    let newest = &seen[0];
    assert_eq!((newest["user"].as_str(), newest["ip"].as_str()), (Some("anna"), Some("10.0.0.2")));
    assert!(newest["original"].as_str().unwrap().contains("\"EventID\":4624"), "the original record: {newest}");

    // Filters: user and outcome, address, and an agency list that names none.
    let failed =
        siem.search(recent(json!({"agencies": ["lm"], "user": "janis", "outcome": "failure", "limit": 100}))).await;
    assert_eq!(failed["hits"].as_array().unwrap().len(), 20);
    let by_ip = siem.search(recent(json!({"agencies": ["lm", "vdi"], "ip": "192.0.2.66", "limit": 100}))).await;
    assert_eq!(by_ip["hits"].as_array().unwrap().len(), 2);
    let nobody = siem.search(recent(json!({"agencies": []}))).await;
    assert_eq!(nobody["hits"], json!([]));
    let lm_only = siem.search(recent(json!({"agencies": ["lm"], "user": "mallory"}))).await;
    assert_eq!(lm_only["hits"], json!([]), "agency vdi's events are not agency lm's");

    // Free text is taken literally: `%` and `_` are not wildcards.
    let text = siem.search(recent(json!({"text": "50%_off", "limit": 100}))).await;
    let hits = text["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{text}");
    assert!(hits[0]["original"].as_str().unwrap().contains("50%_off"));

    // Only the portal's certificate for the platform reads; bad fields are named.
    let search = recent(json!({}));
    let agency_portal = siem.ca.client(&["portal"], Some("agency-lm"));
    for intruder in [&lm_dc, &agency_portal] {
        let (status, answer) = siem.post(intruder, SEARCH_PATH, &search).await;
        assert_eq!(status, 403, "{answer}");
    }
    let (status, answer) = siem.post(&siem.portal, SEARCH_PATH, &recent(json!({"ip": "10.0.0.300"}))).await;
    assert_eq!((status, answer["error"].as_str().unwrap().starts_with("ip:")), (400, true), "{answer}");
    let month = first.strftime("%Y-%m").to_string();
    let lm_report = json!({"month": month, "agency": "lm"});
    let (status, _) = siem.post(&lm_dc, REPORT_PATH, &lm_report).await;
    assert_eq!(status, 403);

    // The monthly report of agency lm: its events by outcome, its failed sign-ins, and
    // its partitions verified. (On the first of a month, the second day is next month's.)
    let same_month = second.strftime("%Y-%m").to_string() == month;
    let (status, report) = siem.post(&siem.portal, REPORT_PATH, &lm_report).await;
    assert_eq!(status, 200, "{report}");
    let mut by_category = vec![json!({"category": "authentication", "outcome": "failure", "events": 20})];
    if same_month {
        by_category.push(json!({"category": "authentication", "outcome": "success", "events": 10}));
    }
    assert_eq!(report["by_category"], json!(by_category));
    assert_eq!(report["failed_sign_ins"], json!([{"user": "janis", "ip": "10.0.0.1", "events": 20}]));
    let verified = report["verified"].as_array().unwrap();
    let names: Vec<&str> = verified.iter().map(|v| v["partition"].as_str().unwrap()).collect();
    let (first_name, second_name) = (format!("{first}/authentication"), format!("{second}/authentication"));
    let expected: Vec<&str> = if same_month { vec![&first_name, &second_name] } else { vec![&first_name] };
    assert_eq!(names, expected);
    assert_eq!(verified[0]["events"], 20, "agency lm's own events, not agency vdi's");
    assert!(verified.iter().all(|v| v["problems"] == json!([])), "{report}");

    // Silences: the LogSources the portal names, each from when it counts. Every event
    // above arrived just now, so `servers` was silent from the day it was made until
    // then (or the month's end), and a source never heard from all month.
    let watched = json!({"month": month, "agency": "lm", "sources": [
        {"source": support::SERVERS, "silence_minutes": 60, "since": format!("{first}T00:00:00Z")},
        {"source": "agency-lm/quiet", "silence_minutes": 15, "since": format!("{month}-01T00:00:00Z")},
    ]});
    let (status, report) = siem.post(&siem.portal, REPORT_PATH, &watched).await;
    assert_eq!(status, 200, "{report}");
    let silences: Vec<(&str, &str)> = report["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["source"].as_str().unwrap(), s["from"].as_str().unwrap()))
        .collect();
    assert_eq!(
        silences,
        [
            (support::SERVERS, format!("{first}T00:00:00Z").as_str()),
            ("agency-lm/quiet", &format!("{month}-01T00:00:00Z"))
        ],
        "{report}"
    );
    let too_many: Vec<Value> = (0..2_001)
        .map(|n| json!({"source": format!("a/{n}"), "silence_minutes": 5, "since": "2026-01-01T00:00:00Z"}))
        .collect();
    let (status, answer) = siem.post(&siem.portal, REPORT_PATH, &json!({"month": month, "sources": too_many})).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("sources: at most 2000")), "{answer}");

    // Someone edits an event in SQL: the next report names it.
    let partition = PartitionKey { day: first, category: SourceCategory::Authentication };
    backends::tamper(&siem.backend, partition, 3, |e| e.document = e.document.replace("janis", "eve")).await;
    let (_, report) = siem.post(&siem.portal, REPORT_PATH, &lm_report).await;
    let problems = &report["verified"][0]["problems"];
    assert!(problems[0].as_str().unwrap_or_default().contains('3'), "{kind:?}: the altered event named: {report}");
    let (status, answer) = siem.post(&siem.portal, REPORT_PATH, &json!({"month": "2026-13"})).await;
    assert_eq!((status, answer["error"].as_str().unwrap().starts_with("month:")), (400, true), "{answer}");

    // The metrics: each question by route and outcome, and the broken partition.
    let count = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let families = siem.registry.gather();
        let family = families.iter().find(|f| f.name() == name).unwrap_or_else(|| panic!("{name}"));
        family
            .get_metric()
            .iter()
            .filter(|m| labels.iter().all(|(k, v)| m.get_label().iter().any(|l| l.name() == *k && l.value() == *v)))
            .map(|m| m.get_counter().get_value())
            .sum()
    };
    let reads = "makonis_siem_reads_total";
    assert_eq!(count(reads, &[("route", "search"), ("outcome", "refused")]), 2.0, "{kind:?}");
    assert_eq!(count(reads, &[("route", "search"), ("outcome", "invalid")]), 1.0, "{kind:?}");
    assert_eq!(count(reads, &[("route", "report"), ("outcome", "refused")]), 1.0, "{kind:?}");
    assert_eq!(count(reads, &[("route", "report"), ("outcome", "answered")]), 3.0, "{kind:?}");
    assert_eq!(count(reads, &[("route", "report"), ("outcome", "invalid")]), 2.0, "{kind:?}");
    assert!(count(reads, &[("route", "search"), ("outcome", "answered")]) >= 8.0, "{kind:?}");
    assert_eq!(count("makonis_siem_partitions_verified_total", &[("outcome", "broken")]), 1.0, "{kind:?}");
}
