//! SLA measurement end to end on the local control plane: an ordered instance gets a
//! Probe and a ServiceLevelObjective from its plan's SLA; the SLO engine (as its own
//! ServiceAccount) probes the instance's host through the control plane's stand-in
//! ingress; taking the service's Ingress away opens an outage in the ledger, the
//! objective goes `AtRisk`, a burn-rate incident is recorded; bringing it back closes
//! the outage; the monthly report, the portal's report page and its CSV show it; the
//! burn-rate alerts are written as PrometheusRules, and the objectives export as OpenSLO.

mod support;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams},
};
use makonis_api::{
    catalog::{ItemProbe, ItemProbeKind, Phase, ServiceInstance, SupportHours},
    slo::{Probe, ProbeState, ServiceLevelObjective, SloState},
};
use makonis_portal::store::Store;
use makonis_slo::ledger::Ledger;
use makonis_slo_core::{HolidayCalendar, Interval, monthly_report, window::month_of};
use serde_json::json;
use support::{
    CONVERGE,
    catalog::{CatalogRun, test_item, wait_phase},
    cluster::{admin_kubeconfig_path, service_account_kubeconfig},
    operator::{free_local_address, http_get},
    portal_process::PortalProcess,
    wait_until,
    web::{request, sign_in},
};
use tokio::process::Command;

/// The password of the test's portal accounts.
const PASSWORD: &str = "SlaReport2026x";

/// Starts `makonis portal` with two local accounts: a viewer of agency `code` and a
/// platform administrator.
async fn start_portal(admin: &kube::Client, database_url: &str, code: &str) -> PortalProcess {
    let group = code.to_uppercase();
    let accounts = format!(
        "- {{username: sla-viewer, displayName: Skatītājs, groups: [{group}-Viewers], password: {PASSWORD}}}\n\
         - {{username: sla-admin, displayName: Administrators, groups: [Makonis-Platform-Admins], password: {PASSWORD}}}\n"
    );
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "makonis-portal-accounts", "namespace": "makonis-system"},
        "stringData": {"accounts.yaml": accounts}
    }))
    .unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(admin.clone(), "makonis-system");
    secrets
        .patch(
            "makonis-portal-accounts",
            &kube::api::PatchParams::apply("slo-lifecycle-test").force(),
            &kube::api::Patch::Apply(&secret),
        )
        .await
        .expect("the portal's accounts Secret");
    let extra = ["--accounts-secret".to_owned(), "makonis-system/makonis-portal-accounts".to_owned()];
    PortalProcess::start(admin, database_url, &extra, "portal-slo").await
}

fn prometheus_rule_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

/// The Prometheus Operator's PrometheusRule CRD, reduced to its name and an open schema
/// (the operator itself is not installed here; the engine only writes the rules).
async fn install_prometheus_rule_crd(admin: &kube::Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {"kind": "PrometheusRule", "plural": "prometheusrules", "singular": "prometheusrule", "listKind": "PrometheusRuleList"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    crds.patch(
        &crd.metadata.name.clone().unwrap(),
        &kube::api::PatchParams::apply("slo-lifecycle-test").force(),
        &kube::api::Patch::Apply(&crd),
    )
    .await
    .expect("the PrometheusRule CRD");
    wait_until("the PrometheusRule CRD to be established", CONVERGE, || async {
        let crd = crds.get("prometheusrules.monitoring.coreos.com").await.map_err(|e| e.to_string())?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established { Ok(()) } else { Err("not established".to_string()) }
    })
    .await;
}

/// The stand-in ingress of the test cluster (tests/cluster/fresh.sh exports it).
fn ingress() -> (String, String) {
    let address = std::env::var("MAKONIS_CLUSTER_INGRESS")
        .expect("MAKONIS_CLUSTER_INGRESS: run through ./test.sh, or eval \"$(tests/cluster/cluster.sh env)\"");
    let ca = std::env::var("MAKONIS_CLUSTER_INGRESS_CA").expect("MAKONIS_CLUSTER_INGRESS_CA");
    (address, ca)
}

#[tokio::test]
async fn an_outage_is_recorded_puts_the_objective_at_risk_and_opens_an_incident() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("slo").await;
    let code = namespace.trim_start_matches("agency-").to_string();

    let mut item = test_item(&run.item_name("measured"));
    for plan in &mut item.spec.plans {
        plan.sla.support_hours = SupportHours::TwentyFourSeven;
        plan.sla.availability_percent = 99.5;
    }
    item.spec.probe = Some(ItemProbe {
        output: "url".into(),
        kind: ItemProbeKind::Http,
        path: Some("/healthz".into()),
        expected_status: vec![200],
        body_match: None,
        interval: "5s".into(),
    });
    let item = run.publish(item).await.expect("the measured item is published");
    let item_name = item.metadata.name.clone().unwrap();
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let instance = run.instance(&namespace, "web", &item_name, "small", json!({}));
    instances.create(&PostParams::default(), &instance).await.expect("order");
    wait_phase(&instances, "web", Phase::Ready, CONVERGE).await;

    // The plan's SLA became an objective, and the item's probe a Probe of its URL.
    let probes: Api<Probe> = Api::namespaced(run.admin.clone(), &namespace);
    let objectives: Api<ServiceLevelObjective> = Api::namespaced(run.admin.clone(), &namespace);
    let probe = probes.get("web").await.expect("the instance's Probe");
    let host = format!("web.{code}.apps.makonis.lv");
    assert_eq!(probe.spec.http.as_ref().map(|h| h.url.as_str()), Some(format!("https://{host}/healthz").as_str()));
    assert_eq!(probe.spec.interval, "5s");
    let objective = objectives.get("web").await.expect("the instance's ServiceLevelObjective");
    assert_eq!(objective.spec.target_percent, 99.5);
    assert_eq!(objective.spec.support_hours, SupportHours::TwentyFourSeven);
    assert_eq!(objective.spec.indicator.probe.as_deref(), Some("web"));
    assert_eq!(objective.spec.instance.as_deref(), Some("web"));

    // The service's Ingress (the test item has none; a real item renders one).
    let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> = Api::namespaced(run.admin.clone(), &namespace);
    let ingress_object: k8s_openapi::api::networking::v1::Ingress = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web-test"},
        "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}
    }))
    .unwrap();
    ingresses.create(&PostParams::default(), &ingress_object).await.expect("ingress");

    // The engine, as its own ServiceAccount, with the ledger in a fresh SQLite database.
    let (ingress_address, ingress_ca) = ingress();
    let kubeconfig = service_account_kubeconfig(&run.admin, "makonis-system", "makonis-slo").await;
    let database = admin_kubeconfig_path().with_file_name(format!("slo-{}.db", run.run));
    let database_url = format!("sqlite://{}", database.display());
    let ops = free_local_address();
    let log_path = admin_kubeconfig_path().with_file_name(format!("slo-{}.log", run.run));
    install_prometheus_rule_crd(&run.admin).await;
    let mut engine = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["slo", "run", "--log-format", "json", "--evaluation-seconds", "2"])
        .arg("--metrics-address")
        .arg(ops.to_string())
        .arg("--database-url")
        .arg(&database_url)
        .arg("--resolve")
        .arg(format!("*.apps.makonis.lv={ingress_address}"))
        .arg("--probe-ca-file")
        .arg(&ingress_ca)
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("makonis slo run starts");
    println!("SLO engine logs to {}", log_path.display());

    let state = |probes: Api<Probe>, want: ProbeState| async move {
        let probe = probes.get("web").await.map_err(|e| e.to_string())?;
        let status = probe.status.unwrap_or_default();
        match status.state {
            Some(state) if state == want => Ok(status),
            other => Err(format!("state {other:?}, cause {:?}", status.cause)),
        }
    };
    wait_until("the probe to confirm the service up", CONVERGE, || state(probes.clone(), ProbeState::Up)).await;
    let met = wait_until("the objective to be measured and Met", CONVERGE, || async {
        let slo = objectives.get("web").await.map_err(|e| e.to_string())?;
        let status = slo.status.unwrap_or_default();
        (status.state == Some(SloState::Met)).then_some(status.clone()).ok_or_else(|| format!("{status:?}"))
    })
    .await;
    assert_eq!(met.availability_percent, Some(100.0));

    // Take the Ingress away: the stand-in answers 404, three failures confirm an outage.
    let cut = Instant::now();
    ingresses.delete("web-test", &DeleteParams::default()).await.expect("delete ingress");
    let down =
        wait_until("the probe to confirm the outage", CONVERGE, || state(probes.clone(), ProbeState::Down)).await;
    assert!(down.cause.as_deref().is_some_and(|c| c.contains("HTTP 404")), "cause: {:?}", down.cause);
    let at_risk = wait_until("the objective to go AtRisk with an incident", CONVERGE, || async {
        let slo = objectives.get("web").await.map_err(|e| e.to_string())?;
        let status = slo.status.unwrap_or_default();
        (status.state == Some(SloState::AtRisk) && status.incident.is_some())
            .then_some(status.clone())
            .ok_or_else(|| format!("{status:?}"))
    })
    .await;
    assert!(at_risk.availability_percent.is_some_and(|a| a < 99.5), "{at_risk:?}");
    assert!(at_risk.firing_alerts.iter().any(|a| a == "fast"), "{at_risk:?}");

    // Bring it back: the outage closes.
    ingresses.create(&PostParams::default(), &ingress_object).await.expect("ingress again");
    wait_until("the probe to confirm the service up again", CONVERGE, || state(probes.clone(), ProbeState::Up)).await;
    let outage_length = cut.elapsed();

    // The ledger holds one closed outage of the probe, linked to the incident.
    let store = Store::connect(&database_url).await.expect("the ledger's database");
    let ledger = Ledger::new(store.pool().clone());
    let now = Timestamp::now().as_millisecond();
    let outages = ledger.outages_of(&namespace, "web", now - 3_600_000, now).await.unwrap();
    assert_eq!(outages.len(), 1, "{outages:?}");
    let recorded = Duration::from_millis((outages[0].end - outages[0].start) as u64);
    assert!(
        recorded <= outage_length && recorded >= Duration::from_secs(5),
        "recorded {recorded:?} of {outage_length:?}"
    );
    let (year, month) = month_of(now);
    let span = makonis_slo_core::window::month_span(year, month);
    let incidents = ledger.incidents(Some(std::slice::from_ref(&code)), span).await.unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!((incidents[0].objective.as_str(), incidents[0].rule.as_str()), ("web", "fast"));
    assert_eq!(at_risk.incident.as_deref(), Some(incidents[0].id.as_str()));

    // The month's report shows the service with its outage, for its agency only.
    let (records, outage_records) =
        ledger.report_inputs(Some(std::slice::from_ref(&code)), Interval::new(span.start, now)).await.unwrap();
    let report = monthly_report(year, month, &records, &outage_records, now, &HolidayCalendar::default(), 97.0);
    let agency = report.agencies.iter().find(|a| a.agency == code).expect("the agency's report");
    let service = agency.services.iter().find(|s| s.name == "web").expect("the service's row");
    assert_eq!((service.outages, service.target_percent), (1, 99.5));
    assert!(service.downtime_minutes > 0.0 && service.availability_percent.is_some_and(|a| a < 100.0), "{service:?}");

    // Metrics: the probe is up again and one outage was counted for the agency.
    let (status, metrics) = http_get(ops, "/metrics").await.expect("metrics");
    assert_eq!(status, 200);
    assert!(
        metrics
            .contains(&format!("makonis_slo_probe_up{{agency=\"{code}\",namespace=\"{namespace}\",probe=\"web\"}} 1")),
        "{metrics}"
    );
    assert!(metrics.contains(&format!("makonis_slo_outages_total{{agency=\"{code}\"}} 1")), "{metrics}");

    // The portal's SLA report page shows it to the agency's users and the platform's.
    let portal = start_portal(&run.admin, &database_url, &code).await;
    for user in ["sla-viewer", "sla-admin"] {
        let session = sign_in(portal.address, user, PASSWORD).await;
        let page = request(portal.address, "GET", &format!("/reports/sla?agency={code}"), Some(&session), None).await;
        assert_eq!(page.status, 200, "{user}: {}", page.body);
        assert!(page.body.contains(&service.service), "{user} sees the service: {}", page.body);
        assert!(page.body.contains(&format!("{namespace}/web")), "{user} sees the incident: {}", page.body);
        assert!(page.body.contains("<svg"), "{user} sees the charts");
    }
    let csv = request(
        portal.address,
        "GET",
        &format!("/reports/sla.csv?agency={code}"),
        Some(&sign_in(portal.address, "sla-viewer", PASSWORD).await),
        None,
    )
    .await;
    let row = csv
        .body
        .lines()
        .find(|l| l.contains(&format!(",{namespace},web,")))
        .unwrap_or_else(|| panic!("a CSV row of the service: {}", csv.body));
    assert!(row.contains(",1,"), "one outage in the CSV row: {row}");

    // The burn-rate alerts as a PrometheusRule owned by the objective (the Prometheus
    // Operator's CRD is installed), and the engine's own rules in the platform namespace.
    let rules: Api<DynamicObject> = Api::namespaced_with(run.admin.clone(), &namespace, &prometheus_rule_resource());
    let rule = wait_until("the objective's PrometheusRule", CONVERGE, || async {
        rules.get_opt("makonis-slo-web").await.map_err(|e| e.to_string())?.ok_or_else(|| "not yet".to_string())
    })
    .await;
    let owner = &rule.metadata.owner_references.as_ref().expect("an owner")[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("ServiceLevelObjective", "web"));
    let alerts = rule.data["spec"]["groups"][0]["rules"].as_array().expect("alert rules").clone();
    assert!(
        alerts.iter().any(|a| a["alert"] == "MakonisSloBurnRateFast"
            && a["expr"].as_str().is_some_and(|e| e.contains("window=\"1h\"} > 14.4"))),
        "{alerts:?}"
    );
    let platform_rules: Api<DynamicObject> =
        Api::namespaced_with(run.admin.clone(), "makonis-system", &prometheus_rule_resource());
    assert!(platform_rules.get_opt("makonis-slo-engine").await.unwrap().is_some(), "the engine's own rules");

    // The objectives as OpenSLO documents.
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["slo", "export-openslo", "-n", &namespace])
        .env("KUBECONFIG", admin_kubeconfig_path())
        .output()
        .expect("makonis slo export-openslo runs");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let yaml = String::from_utf8(export.stdout).unwrap();
    let documents: Vec<serde_json::Value> = support::cluster::yaml_documents(&yaml);
    let slo_document = documents.iter().find(|d| d["kind"] == "SLO").unwrap_or_else(|| panic!("an SLO: {yaml}"));
    assert_eq!(slo_document["apiVersion"], "openslo/v1");
    assert_eq!(slo_document["spec"]["objectives"][0]["target"], 0.995);
    assert!(documents.iter().any(|d| d["kind"] == "Service"), "{yaml}");

    drop(portal);
    engine.kill().await.ok();
    instances.delete("web", &DeleteParams::default()).await.ok();
    let _ = std::fs::remove_file(&database);
    run.finish().await;
}
