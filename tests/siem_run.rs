//! `makonis siem run` against the real API server, as its own ServiceAccount: a LogSource
//! claims 127.0.0.1, util-linux `logger` sends an sshd sign-in over TCP, the event is
//! stored and the LogSource's status says so; two LogSources claiming overlapping
//! networks are both refused; after SIGTERM, `makonis siem verify` finds the chain intact,
//! and a restarted SIEM goes on counting from the status.
//! The control plane's API server sends its audit events through its audit webhook
//! backend to the SIEM's HTTPS intake, with its platform-CA client certificate.

mod support;

use jiff::{Timestamp, tz::TimeZone};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::security::{LogSource, LogSourceState, RetentionPolicy};
use makonis_siem::store::{Config, PartitionKey, Store};
use makonis_siem_core::{event::DEFAULT_SKEW_LIMIT, retention::SourceCategory};
use serde_json::json;
use support::{
    CONVERGE,
    agencies::unique_id,
    cluster::{admin_client, install_platform},
    operator::free_local_address,
    siem::{
        SECURITY_PASSWORD, Siem, SiemFiles, claim_the_api_server, cluster_tls_args, create_log_source, security_portal,
    },
    wait_until,
    web::{request, sign_in},
};
use tokio::process::Command;

const NAMESPACE: &str = "makonis-system";

/// One SIEM at a time: each watches every LogSource of the cluster and writes their
/// status, so two at once would overwrite each other's figures.
static ONE_SIEM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn condition(api: &Api<LogSource>, name: &str, type_: &str) -> Result<(String, String), String> {
    let object = api.get(name).await.map_err(|e| e.to_string())?;
    let status = object.status.ok_or("no status yet")?;
    let condition = status.conditions.iter().find(|c| c.type_ == type_).ok_or(format!("no {type_} condition"))?;
    Ok((condition.status.clone(), condition.message.clone()))
}

/// util-linux `logger` sends an sshd sign-in to the SIEM's syslog over TCP at `tcp`.
async fn send_sign_in(tcp: std::net::SocketAddr) {
    let sent = Command::new("logger")
        .env("TZ", "Europe/Riga")
        .args(["-n", "127.0.0.1", "-P", &tcp.port().to_string(), "-T", "--octet-count", "--rfc5424", "-t", "sshd"])
        .arg("Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2")
        .status()
        .await
        .unwrap();
    assert!(sent.success());
}

#[tokio::test]
async fn a_claimed_senders_events_are_stored_and_counted_and_conflicting_claims_refused() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let id = unique_id();
    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-run-{id}")));
    let (local, a, b) = (format!("local-{id}"), format!("conflict-a-{id}"), format!("conflict-b-{id}"));
    create_log_source(&admin, &local, json!([{"address": "127.0.0.1"}]), "Europe/Riga").await;
    create_log_source(&admin, &a, json!([{"address": "10.77.0.0/24"}]), "Europe/Riga").await;
    create_log_source(&admin, &b, json!([{"address": "10.77.0.5"}]), "Europe/Riga").await;
    let siem = Siem::start(&admin, &files, free_local_address(), "siem.log").await;
    let tcp = siem.tcp;

    let api = Api::<LogSource>::namespaced(admin.clone(), NAMESPACE);
    let waiting = wait_until("the local source to be ready and waiting", CONVERGE, || async {
        let ready = condition(&api, &local, "Ready").await?;
        let receiving = condition(&api, &local, "Receiving").await?;
        (ready.0 == "True").then_some(receiving).ok_or(format!("{ready:?}"))
    })
    .await;
    assert_eq!(waiting.0, "False", "nothing received yet: {waiting:?}");

    send_sign_in(tcp).await;
    let status = wait_until("the event to be counted in the LogSource's status", CONVERGE, || async {
        let object = api.get(&local).await.map_err(|e| e.to_string())?;
        let status = object.status.ok_or("no status")?;
        (status.events_received == 1).then_some(status.clone()).ok_or(format!("{status:?}"))
    })
    .await;
    assert_eq!(status.mandatory_fields_percent, Some(100.0));
    assert_eq!(status.quarantined, 0);
    assert!(status.last_event_time.is_some());
    let receiving = condition(&api, &local, "Receiving").await.unwrap();
    assert_eq!(receiving.0, "True", "{receiving:?}");

    for (name, other) in [(&a, &b), (&b, &a)] {
        let (ready, message) = condition(&api, name, "Ready").await.unwrap();
        assert_eq!(ready, "False", "{name}: {message}");
        assert!(message.contains(&format!("also claimed by {NAMESPACE}/{other}")), "{name}: {message}");
    }

    // A RetentionPolicy shows what the SIEM does with it: in force, its holds, the last
    // round of retention.
    let policies = Api::<RetentionPolicy>::all(admin.clone());
    let policy: RetentionPolicy = serde_json::from_value(json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "RetentionPolicy",
        "metadata": {"name": format!("retention-{id}")},
        "spec": {
            "months": {"authentication": 12, "directory": 12, "platformAudit": 18, "system": 6, "network": 6,
                       "application": 6},
            "legalHolds": [
                {"name": "case-1", "from": "2026-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z", "agency": "lm",
                 "reason": "a court's request"},
                {"name": "case-0", "from": "2025-01-01T00:00:00Z", "to": "2025-06-01T00:00:00Z", "agency": "lm",
                 "reason": "over"},
            ],
        },
    }))
    .unwrap();
    let name = policy.metadata.name.clone().unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
    let status = wait_until("the RetentionPolicy's status to say it is applied", CONVERGE, || async {
        let status = policies.get(&name).await.map_err(|e| e.to_string())?.status.ok_or("no status")?;
        let holds = |type_: &str| status.conditions.iter().any(|c| c.type_ == type_ && c.status == "True");
        (holds("Ready") && holds("Applied")).then_some(status.clone()).ok_or(format!("{status:?}"))
    })
    .await;
    assert_eq!((status.active_holds, status.partitions_removed), (1, 0), "{status:?}");
    assert!(status.last_run.is_some(), "{status:?}");
    policies.delete(&name, &DeleteParams::default()).await.unwrap();

    // The same figures on /metrics, for Prometheus.
    let source = format!("source=\"{NAMESPACE}/{local}\"");
    assert_eq!(siem.metric(&format!("makonis_siem_events_total{{{source}}}")).await, Some(1.0));
    assert_eq!(siem.metric(&format!("makonis_siem_events_complete_total{{{source}}}")).await, Some(1.0));
    assert!(siem.metric("makonis_siem_sources{state=\"Refused\"}").await >= Some(2.0), "both conflicting sources");
    assert!(siem.metric("makonis_siem_store_append_seconds_count").await >= Some(1.0));
    assert_eq!(siem.metric("makonis_siem_udp_dropped_total").await, Some(0.0));

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly on SIGTERM");
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date().to_string();
    let (verified, out) = Siem::verify(&files, &today).await;
    assert!(verified, "{out}");
    assert!(out.contains(&format!("ok      {today}/authentication  1 events")), "{out}");

    // Restarted, the SIEM goes on counting from the status: the next event is the second.
    let siem = Siem::start(&admin, &files, free_local_address(), "siem-restarted.log").await;
    send_sign_in(siem.tcp).await;
    let status = wait_until("the second event to be counted after the restart", CONVERGE, || async {
        let status = api.get(&local).await.map_err(|e| e.to_string())?.status.ok_or("no status")?;
        (status.events_received == 2).then_some(status.clone()).ok_or(format!("{status:?}"))
    })
    .await;
    assert_eq!(status.state, Some(LogSourceState::Receiving), "{status:?}");
    assert!(status.last_received_time.is_some());
    assert!(siem.signal("TERM").await);

    for name in [&local, &a, &b] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[tokio::test]
async fn the_api_servers_audit_events_arrive_through_its_audit_webhook() {
    let _one = ONE_SIEM.lock().await;
    let admin = admin_client().await;
    install_platform(&admin).await;
    let id = unique_id();
    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-audit-{id}")));
    let api = Api::<LogSource>::namespaced(admin.clone(), NAMESPACE);
    let name = claim_the_api_server(&admin, &id).await;
    let siem = Siem::start_with(&admin, &files, free_local_address(), &cluster_tls_args(), "siem.log").await;

    // A write the audit policy records; the API server's webhook posts it within about a
    // second (batch mode), retrying while the SIEM was not yet listening.
    let marker = format!("audited-{id}");
    let config_map: ConfigMap = serde_json::from_value(json!({"metadata": {"name": marker}})).unwrap();
    Api::<ConfigMap>::namespaced(admin.clone(), "default").create(&PostParams::default(), &config_map).await.unwrap();
    wait_until("the API server's audit events to be counted", CONVERGE, || async {
        let status = api.get(&name).await.map_err(|e| e.to_string())?.status.ok_or("no status")?;
        (status.events_received > 0 && status.quarantined == 0).then_some(()).ok_or(format!("{status:?}"))
    })
    .await;
    let store_path = files.store.clone();
    let day = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let documents = wait_until("the ConfigMap's creation to be stored", CONVERGE, || async {
        let config = Config {
            root: store_path.clone(),
            checkpoint_log: files.checkpoint_log.clone(),
            skew_limit: DEFAULT_SKEW_LIMIT,
        };
        let mut store = Store::open_read_only(config).await.map_err(|e| e.to_string())?;
        let key = PartitionKey { day, category: SourceCategory::PlatformAudit };
        let documents = store.documents(key, 100_000).await.map_err(|e| e.to_string())?;
        let ours: Vec<serde_json::Value> =
            documents.iter().filter(|d| d.contains(&marker)).map(|d| serde_json::from_str(d).unwrap()).collect();
        (!ours.is_empty()).then_some(ours).ok_or(format!("{} platform-audit events, none of {marker}", documents.len()))
    })
    .await;
    let event = &documents[0];
    assert_eq!(event["makonis"]["source"], format!("{NAMESPACE}/{name}"));
    assert_eq!(event["event"]["action"], "create", "{event}");
    assert_eq!(event["event"]["outcome"], "success", "{event}");
    assert_eq!(event["user"]["name"], "makonis-admin", "{event}");
    assert!(event["source"]["ip"].is_string(), "the request's source address: {event}");

    // The portal's Security pages, as the platform's security group: the write is found by
    // its text, and the API server's source is receiving.
    let portal = security_portal(&admin, &files.dir).await;
    let session = sign_in(portal.address, "security", SECURITY_PASSWORD).await;
    let found = request(portal.address, "GET", &format!("/security?text={marker}"), Some(&session), None).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains(&marker) && found.body.contains("<td>create</td>"), "{}", found.body);
    let sources = request(portal.address, "GET", "/security/sources", Some(&session), None).await;
    assert_eq!(sources.status, 200, "{}", sources.body);
    let row = sources.body.split("<tr>").find(|row| row.contains(&name)).unwrap_or_else(|| panic!("{}", sources.body));
    assert!(row.contains("state-receiving"), "{row}");
    drop(portal);

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly on SIGTERM");
    let (verified, out) = Siem::verify(&files, &day.to_string()).await;
    assert!(verified, "{out}");
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    Api::<ConfigMap>::namespaced(admin, "default").delete(&marker, &DeleteParams::default()).await.unwrap();
    let _ = std::fs::remove_dir_all(&files.dir);
}
