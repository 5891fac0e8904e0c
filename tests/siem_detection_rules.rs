//! Detection rules against the real API server and `makonis siem run` as its own
//! ServiceAccount: the SIEM's admission webhook (registered from
//! `manifests/webhook/siem-webhook.yaml`) refuses a `DetectionRule` or
//! `ClusterDetectionRule` whose Sigma it cannot evaluate, naming the line and the
//! construct, and admits the others; the SIEM writes each one's status: the rules it
//! holds, the mapping version, and why one written past the webhook does not compile.
//! Streaming: util-linux `logger` sends failed sshd sign-ins over TCP, the brute-force
//! correlation of a platform rule fires as they are stored, its alert is logged and
//! counted, sent to a real Alertmanager, and its matches reach the rule's status; an
//! agency's rule does not see the platform's events. No silent gaps: a SIEM killed with SIGKILL in the middle of a burst,
//! and an event stored while detection was not running, are caught up with at the next
//! start — correlation state rebuilt from the store, the late event evaluated, the alert
//! recorded in the store marked late. A LogSource that goes silent raises an alert like
//! any rule: the SIEM stores its own event, and the pack's rule for silence fires.

mod support;

use k8s_openapi::api::{
    admissionregistration::v1::ValidatingWebhookConfiguration,
    core::v1::Namespace,
    rbac::v1::{ClusterRole, ClusterRoleBinding},
};
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::security::LogSource;
use makonis_api::security::{
    ClusterDetectionRule, ClusterDetectionRuleSpec, DetectionRule, DetectionRuleSpec, RuleSpec,
};
use makonis_siem::store::{Config, Store};
use makonis_siem_core::{
    chain::SigningKey,
    event::{DEFAULT_SKEW_LIMIT, Event},
    retention::SourceCategory,
};
use support::{
    CONVERGE,
    agencies::{TEST_LABEL, unique_id},
    alertmanager::AlertmanagerProcess,
    cluster::{admin_client, install_platform},
    operator::free_local_address,
    siem::{Siem, SiemFiles, create_log_source},
    wait_until,
    webhook::register_webhook,
};
use tokio::process::Command;

/// One SIEM at a time: each writes the status of every detection rule and LogSource.
static ONE_SIEM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ROOT_LOGIN: &str = "title: SSH sign-in as root
id: 0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e01
logsource: {product: linux, service: sshd}
detection:
  selection:
    event.outcome: success
    user.name: root
  condition: selection
level: high
";

const BRUTE_FORCE: &str = "title: Failed SSH
id: 0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e02
name: failed_ssh
logsource: {product: linux, service: sshd}
detection:
  selection:
    event.outcome: failure
  condition: selection
level: low
---
title: SSH brute force
id: 0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e03
correlation:
  type: event_count
  rules: [failed_ssh]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 10}
level: high
";

/// A rule whose line 7 has a modifier nobody evaluates.
const UNKNOWN_MODIFIER: &str = "title: Bad
id: 0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e04
logsource: {product: linux}
detection:
  selection:
    message|contains: x
    message|bogus: y
  condition: selection
level: low
";

/// A rule whose regular expression is not linear-time (a backreference, line 6).
const BACKREFERENCE: &str = "title: Bad regex
logsource: {product: linux}
detection:
  selection:
    message|contains: x
    message|re: '(a+)\\1'
  condition: selection
level: low
";

fn labelled(run: &str) -> std::collections::BTreeMap<String, String> {
    [(TEST_LABEL.to_owned(), run.to_owned())].into()
}

fn agency_rule(run: &str, name: &str, sigma: &str) -> DetectionRule {
    let mut rule = DetectionRule::new(
        name,
        DetectionRuleSpec { rule: RuleSpec { sigma: sigma.into(), enabled: true, severity: None } },
    );
    rule.metadata.labels = Some(labelled(run));
    rule
}

fn platform_rule(run: &str, name: &str, sigma: &str) -> ClusterDetectionRule {
    let mut rule = ClusterDetectionRule::new(
        name,
        ClusterDetectionRuleSpec {
            rule: RuleSpec { sigma: sigma.into(), enabled: true, severity: None },
            agencies: vec!["lm".into()],
        },
    );
    rule.metadata.labels = Some(labelled(run));
    rule
}

/// The API server's refusal of a create, or `None` when it was admitted.
async fn refusal<K>(api: &Api<K>, object: &K) -> Option<String>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => None,
        Err(kube::Error::Api(status)) => Some(status.message),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn the_webhook_refuses_what_cannot_be_evaluated_and_the_siem_reports_each_rule() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let namespace = format!("siem-rules-{run}");
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap(),
        )
        .await
        .unwrap();
    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-rules-{run}")));
    let webhook = free_local_address();
    let configuration = format!("makonis-siem-{run}");
    let extra = [
        "--webhook-address".to_owned(),
        webhook.to_string(),
        "--webhook-configuration".to_owned(),
        configuration.clone(),
    ];
    // Registered first, so that the SIEM publishes its CA in it as it starts.
    register_webhook(&admin, &run, &configuration, webhook.port(), "siem-webhook.yaml", "makonis-siem").await;
    let siem = Siem::start_with(&admin, &files, free_local_address(), &extra, "siem.log").await;

    let agency: Api<DetectionRule> = Api::namespaced(admin.clone(), &namespace);
    let platform: Api<ClusterDetectionRule> = Api::all(admin.clone());
    // Until the SIEM has published its CA in the registration, the API server cannot
    // call it and refuses for that reason: wait for the webhook's own words.
    let refused = wait_until("the webhook to judge", CONVERGE, || async {
        match refusal(&agency, &agency_rule(&run, "unknown-modifier", UNKNOWN_MODIFIER)).await {
            Some(message) if message.contains("spec.sigma") => Ok(message),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(refused.contains("spec.sigma: line 7: unknown modifier |bogus (of \"message\")"), "{refused}");
    let regex =
        refusal(&platform, &platform_rule(&run, &format!("regex-{run}"), BACKREFERENCE)).await.expect("refused");
    assert!(regex.contains("spec.sigma: line 6") && regex.contains("backreferences are not supported"), "{regex}");
    let empty = refusal(&agency, &agency_rule(&run, "empty", "# nothing\n")).await.expect("refused");
    assert!(empty.contains("holds no Sigma detection rule"), "{empty}");

    assert_eq!(refusal(&agency, &agency_rule(&run, "root-login", ROOT_LOGIN)).await, None);
    let correlation = format!("brute-force-{run}");
    assert_eq!(refusal(&platform, &platform_rule(&run, &correlation, BRUTE_FORCE)).await, None);
    // Written past the webhook (not labelled with this run, so not judged by it): the
    // SIEM says in its status why it does not evaluate it.
    let mut unjudged = agency_rule(&run, "unjudged", UNKNOWN_MODIFIER);
    unjudged.metadata.labels = None;
    assert_eq!(refusal(&agency, &unjudged).await, None);

    let root = wait_until("the root rule's status", CONVERGE, || async {
        let rule = agency.get("root-login").await.map_err(|e| e.to_string())?;
        rule.status.filter(|s| !s.conditions.is_empty()).ok_or_else(|| "no status yet".to_owned())
    })
    .await;
    assert_eq!(root.conditions[0].type_, "Compiled");
    assert_eq!(root.conditions[0].status, "True", "{:?}", root.conditions);
    assert_eq!(root.rules.len(), 1);
    assert_eq!(root.rules[0].id.as_deref(), Some("0f6c3a90-8d43-4b8e-9a39-5a4b0c9d2e01"));
    assert_eq!(root.mapping_version, Some(1));
    let brute = wait_until("the correlation's status", CONVERGE, || async {
        let rule = platform.get(&correlation).await.map_err(|e| e.to_string())?;
        rule.status.filter(|s| !s.conditions.is_empty()).ok_or_else(|| "no status yet".to_owned())
    })
    .await;
    let kinds: Vec<&str> = brute.rules.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["detection", "event_count"]);
    let broken = wait_until("the unjudged rule's status", CONVERGE, || async {
        let rule = agency.get("unjudged").await.map_err(|e| e.to_string())?;
        rule.status.filter(|s| !s.conditions.is_empty()).ok_or_else(|| "no status yet".to_owned())
    })
    .await;
    let compiled = &broken.conditions[0];
    assert_eq!((compiled.status.as_str(), compiled.reason.as_str()), ("False", "Invalid"));
    assert!(compiled.message.starts_with("spec.sigma: line 7: unknown modifier |bogus"), "{}", compiled.message);

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly");
    platform.delete(&correlation, &DeleteParams::default()).await.unwrap();
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(&configuration, &DeleteParams::default())
        .await
        .unwrap();
    Api::<ClusterRole>::all(admin.clone()).delete(&configuration, &DeleteParams::default()).await.unwrap();
    Api::<ClusterRoleBinding>::all(admin.clone()).delete(&configuration, &DeleteParams::default()).await.unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}

/// util-linux `logger` sends a failed sshd sign-in from `address` to the SIEM at `tcp`.
async fn send_failed_sign_in(tcp: std::net::SocketAddr, address: &str, port: u16) {
    let sent = Command::new("logger")
        .args(["-n", "127.0.0.1", "-P", &tcp.port().to_string(), "-T", "--octet-count", "--rfc5424", "-t", "sshd"])
        .arg(format!("Failed password for invalid user admin from {address} port {port} ssh2"))
        .status()
        .await
        .unwrap();
    assert!(sent.success());
}

#[tokio::test]
async fn a_brute_force_is_detected_as_its_events_are_stored() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let sources = Api::<LogSource>::namespaced(admin.clone(), "makonis-system");
    let source = format!("detection-{run}");
    create_log_source(&admin, &source, serde_json::json!([{"address": "127.0.0.1"}]), "UTC").await;
    let platform: Api<ClusterDetectionRule> = Api::all(admin.clone());
    let rule_name = format!("brute-force-{run}");
    let mut rule = platform_rule(&run, &rule_name, &BRUTE_FORCE.replace("{gte: 10}", "{gte: 5}"));
    rule.spec.agencies = Vec::new();
    platform.create(&PostParams::default(), &rule).await.unwrap();
    let namespace = format!("agency-det{}", &run[..6.min(run.len())]);
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap(),
        )
        .await
        .unwrap();
    let agency: Api<DetectionRule> = Api::namespaced(admin.clone(), &namespace);
    agency
        .create(
            &PostParams::default(),
            &agency_rule(&run, "own-brute-force", &BRUTE_FORCE.replace("{gte: 10}", "{gte: 5}")),
        )
        .await
        .unwrap();

    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-detect-{run}")));
    let alertmanager = AlertmanagerProcess::start(&files.dir.join("alertmanager")).await;
    let extra = ["--alertmanager-url".to_owned(), format!("http://{}", alertmanager.address)];
    let siem = Siem::start_with(&admin, &files, free_local_address(), &extra, "siem.log").await;
    // The engine takes the rules at the first status round after start.
    wait_until("the SIEM to take the rules", CONVERGE, || async {
        match siem.metric("makonis_siem_detection_rules{state=\"active\"}").await {
            Some(active) if active >= 2.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    for port in 0..6 {
        send_failed_sign_in(siem.tcp, "203.0.113.77", 40_000 + port).await;
    }
    wait_until("the brute-force alert", CONVERGE, || async {
        match siem.metric("makonis_siem_alerts_total{kind=\"correlation\",level=\"high\"}").await {
            Some(alerts) if alerts >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let status = wait_until("the rule's matches in its status", CONVERGE, || async {
        let rule = platform.get(&rule_name).await.map_err(|e| e.to_string())?;
        rule.status.filter(|s| s.matches >= 1).ok_or_else(|| "no match yet".to_owned())
    })
    .await;
    assert_eq!(status.matches, 1, "six failures fire once: the sixth starts a new window");
    assert!(status.last_match_time.is_some());
    let own = agency.get("own-brute-force").await.unwrap();
    assert_eq!(own.status.map(|s| s.matches), Some(0), "an agency's rule does not see the platform's events");
    let log = std::fs::read_to_string(files.dir.join("siem.log")).unwrap();
    let alert = log.lines().find(|l| l.contains("security alert")).expect("the alert is logged");
    for expected in ["SSH brute force", "source.ip=203.0.113.77", &format!("ClusterDetectionRule {rule_name}")] {
        assert!(alert.contains(expected), "{expected} in {alert}");
    }
    assert!(siem.metric("makonis_siem_alert_latency_seconds_count").await.unwrap_or(0.0) >= 1.0);
    let lag = siem.metric("makonis_siem_detection_lag_seconds").await.expect("the detection lag is exported");
    assert!((0.0..60.0).contains(&lag), "live detection is seconds behind the intake at most: {lag}");
    let routed = wait_until("the alert in Alertmanager", CONVERGE, || async {
        let alerts = alertmanager.alerts().await;
        (!alerts.is_empty()).then_some(alerts).ok_or_else(|| "none yet".to_owned())
    })
    .await;
    let labels = &routed[0]["labels"];
    assert_eq!(labels["alertname"], "MakonisSecurityAlert");
    assert_eq!(labels["severity"], "high");
    assert_eq!(labels["rule"], "SSH brute force");
    assert_eq!(labels["agency"], "platform");
    assert_eq!(labels["group"], "source.ip=203.0.113.77");
    assert_eq!(labels["object"], format!("ClusterDetectionRule {rule_name}"));

    // Five more failures fire the correlation again: within the suppression period, the
    // firing is folded into the open alert instead of raising another.
    for port in 6..11 {
        send_failed_sign_in(siem.tcp, "203.0.113.77", 40_000 + port).await;
    }
    wait_until("the repeat folded into the alert", CONVERGE, || async {
        match siem.metric("makonis_siem_alerts_suppressed_total").await {
            Some(folded) if folded >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let config = Config {
        root: files.store.clone(),
        checkpoint_log: files.checkpoint_log.clone(),
        skew_limit: DEFAULT_SKEW_LIMIT,
    };
    let recorded = wait_until("the folded firing in the store", CONVERGE, || async {
        let mut store = Store::open_for_alerts(config.clone()).await.map_err(|e| e.to_string())?;
        let alerts = store.alerts(10).await.map_err(|e| e.to_string())?;
        alerts
            .into_iter()
            .filter(|a| a.firings == 2)
            .collect::<Vec<_>>()
            .pop()
            .ok_or_else(|| "not folded yet".to_owned())
    })
    .await;
    assert_eq!(recorded.title, "SSH brute force");
    assert_eq!(
        siem.metric("makonis_siem_alerts_total{kind=\"correlation\",level=\"high\"}").await,
        Some(1.0),
        "one alert for both firings"
    );

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly");
    platform.delete(&rule_name, &DeleteParams::default()).await.unwrap();
    sources.delete(&source, &DeleteParams::default()).await.unwrap();
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[tokio::test]
async fn a_siem_killed_mid_burst_catches_up_and_raises_the_alert_late() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let sources = Api::<LogSource>::namespaced(admin.clone(), "makonis-system");
    let source = format!("catch-up-{run}");
    create_log_source(&admin, &source, serde_json::json!([{"address": "127.0.0.1"}]), "UTC").await;
    let platform: Api<ClusterDetectionRule> = Api::all(admin.clone());
    let rule_name = format!("burst-{run}");
    let mut rule = platform_rule(&run, &rule_name, &BRUTE_FORCE.replace("{gte: 10}", "{gte: 5}"));
    rule.spec.agencies = Vec::new();
    platform.create(&PostParams::default(), &rule).await.unwrap();

    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-catch-up-{run}")));
    let relp = free_local_address();
    let siem = Siem::start(&admin, &files, relp, "siem-1.log").await;
    wait_until("the SIEM to take the rule", CONVERGE, || async {
        match siem.metric("makonis_siem_detection_rules{state=\"active\"}").await {
            Some(active) if active >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    for port in 0..4 {
        send_failed_sign_in(siem.tcp, "198.51.100.23", 41_000 + port).await;
    }
    wait_until("four failures evaluated", CONVERGE, || async {
        match siem.metric("makonis_siem_detection_events_total").await {
            Some(evaluated) if evaluated >= 4.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(!siem.signal("KILL").await, "killed");

    // The fifth failure is stored while detection is not running, as if the SIEM had
    // stored it and died before evaluating it.
    let config = Config {
        root: files.store.clone(),
        checkpoint_log: files.checkpoint_log.clone(),
        skew_limit: DEFAULT_SKEW_LIMIT,
    };
    {
        let key = SigningKey::from_pkcs8(&std::fs::read(&files.key).unwrap()).unwrap();
        let mut store = Store::open(config.clone(), key).await.unwrap();
        let now = jiff::Timestamp::now();
        let event = Event {
            timestamp: now,
            created: now,
            time_from_record: true,
            original: b"<38>1 2026-12-07T00:00:00Z host sshd - - - Failed password for invalid user admin from 198.51.100.23 port 41999 ssh2".to_vec(),
            source: format!("makonis-system/{source}"),
            message: "Failed password".into(),
            ..Event::default()
        };
        store.append(&mut vec![(event, SourceCategory::Authentication)], now).await.unwrap();
    }
    let siem = Siem::start(&admin, &files, relp, "siem-2.log").await;
    let alerts = wait_until("the late alert in the store", CONVERGE, || async {
        let mut store = Store::open_for_alerts(config.clone()).await.map_err(|e| e.to_string())?;
        let alerts = store.alerts(10).await.map_err(|e| e.to_string())?;
        (!alerts.is_empty()).then_some(alerts).ok_or_else(|| "no alert yet".to_owned())
    })
    .await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert!(alert.late, "raised while catching up: {alert:?}");
    assert_eq!(
        (alert.title.as_str(), alert.level.as_str(), alert.kind.as_str()),
        ("SSH brute force", "high", "correlation")
    );
    assert_eq!(alert.group, r#"{"source.ip":"198.51.100.23"}"#);
    let events: Vec<serde_json::Value> = serde_json::from_str(&alert.events).unwrap();
    assert_eq!(events.len(), 5, "four rebuilt from the store, one caught up: {events:?}");
    assert_eq!(alert.object, format!("ClusterDetectionRule {rule_name}"));
    let status = wait_until("the rule's matches", CONVERGE, || async {
        let rule = platform.get(&rule_name).await.map_err(|e| e.to_string())?;
        rule.status.filter(|s| s.matches >= 1).ok_or_else(|| "no match yet".to_owned())
    })
    .await;
    assert_eq!(status.matches, 1);

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly");
    platform.delete(&rule_name, &DeleteParams::default()).await.unwrap();
    sources.delete(&source, &DeleteParams::default()).await.unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[tokio::test]
async fn a_log_source_gone_silent_raises_the_alert_of_the_packs_rule() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let sources = Api::<LogSource>::namespaced(admin.clone(), "makonis-system");
    let source = format!("quiet-{run}");
    let object: LogSource = serde_json::from_value(serde_json::json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "LogSource",
        "metadata": {"name": source, "namespace": "makonis-system"},
        "spec": {"senders": [{"address": "127.0.0.1"}], "format": "syslog", "category": "authentication",
                 "timeZone": "UTC", "silenceAfter": "1m"}
    }))
    .unwrap();
    sources.create(&PostParams::default(), &object).await.unwrap();
    let platform: Api<ClusterDetectionRule> = Api::all(admin.clone());
    let rule_name = format!("silent-{run}");
    let pack = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/rules/platform/logsource_silent.yml"),
    )
    .unwrap();
    let mut rule = platform_rule(&run, &rule_name, &pack);
    rule.spec.agencies = Vec::new();
    platform.create(&PostParams::default(), &rule).await.unwrap();

    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-silent-{run}")));
    let siem = Siem::start(&admin, &files, free_local_address(), "siem.log").await;
    send_failed_sign_in(siem.tcp, "192.0.2.1", 42_000).await;
    // A minute without events from the source, then its silence is an alert.
    let config = Config {
        root: files.store.clone(),
        checkpoint_log: files.checkpoint_log.clone(),
        skew_limit: DEFAULT_SKEW_LIMIT,
    };
    let alert = wait_until("the silence alert", std::time::Duration::from_secs(180), || async {
        let mut store = Store::open_for_alerts(config.clone()).await.map_err(|e| e.to_string())?;
        let alerts = store.alerts(10).await.map_err(|e| e.to_string())?;
        alerts.into_iter().find(|a| a.title == "A log source went silent").ok_or_else(|| "no alert yet".to_owned())
    })
    .await;
    assert_eq!((alert.level.as_str(), alert.kind.as_str()), ("medium", "detection"));
    assert_eq!(alert.agency, None, "the platform's source");
    assert!(!alert.late);

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly");
    platform.delete(&rule_name, &DeleteParams::default()).await.unwrap();
    sources.delete(&source, &DeleteParams::default()).await.unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}
