//! `makonis siem run` against the real API server, as its own ServiceAccount: a LogSource
//! claims 127.0.0.1, util-linux `logger` sends an sshd sign-in over TCP, the event is
//! stored and the LogSource's status says so; two LogSources claiming overlapping
//! networks are both refused; after SIGTERM, `makonis siem verify` finds the chain intact.

mod support;

use std::{path::Path, process::Stdio, time::Duration};

use jiff::{Timestamp, tz::TimeZone};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
};
use makonis_api::security::LogSource;
use makonis_siem_core::chain::SigningKey;
use serde_json::json;
use support::{
    CONVERGE,
    agencies::unique_id,
    cluster::{admin_client, install_platform, service_account_kubeconfig},
    operator::{free_local_address, http_get},
    wait_until,
};
use tokio::process::Command;

const NAMESPACE: &str = "makonis-system";

async fn create(admin: &Client, name: &str, senders: serde_json::Value) {
    let object: LogSource = serde_json::from_value(json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "LogSource",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"senders": senders, "format": "syslog", "category": "authentication", "timeZone": "Europe/Riga"}
    }))
    .unwrap();
    Api::<LogSource>::namespaced(admin.clone(), NAMESPACE).create(&PostParams::default(), &object).await.unwrap();
}

async fn condition(api: &Api<LogSource>, name: &str, type_: &str) -> Result<(String, String), String> {
    let object = api.get(name).await.map_err(|e| e.to_string())?;
    let status = object.status.ok_or("no status yet")?;
    let condition = status.conditions.iter().find(|c| c.type_ == type_).ok_or(format!("no {type_} condition"))?;
    Ok((condition.status.clone(), condition.message.clone()))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn a_claimed_senders_events_are_stored_and_counted_and_conflicting_claims_refused() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let id = unique_id();
    let dir = std::env::temp_dir().join(format!("makonis-siem-run-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("checkpoint.key");
    let der = SigningKey::generate().unwrap();
    std::fs::write(&key, &der).unwrap();
    let public_key: String =
        SigningKey::from_pkcs8(&der).unwrap().public_key().iter().map(|b| format!("{b:02x}")).collect();

    let (local, a, b) = (format!("local-{id}"), format!("conflict-a-{id}"), format!("conflict-b-{id}"));
    create(&admin, &local, json!([{"address": "127.0.0.1"}])).await;
    create(&admin, &a, json!([{"address": "10.77.0.0/24"}])).await;
    create(&admin, &b, json!([{"address": "10.77.0.5"}])).await;

    let kubeconfig = service_account_kubeconfig(&admin, NAMESPACE, "makonis-siem").await;
    let (tcp, udp, relp, ops) =
        (free_local_address(), free_local_address(), free_local_address(), free_local_address());
    let (store, log) = (dir.join("store"), dir.join("elsewhere/checkpoints.jsonl"));
    let mut siem = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["siem", "run", "--log-format", "json", "--status-seconds", "1", "--maintenance-seconds", "1"])
        .args(["--store", path(&store), "--checkpoint-log", path(&log), "--signing-key", path(&key)])
        .args([
            "--syslog-tcp",
            &tcp.to_string(),
            "--syslog-udp",
            &udp.to_string(),
            "--relp",
            &relp.to_string(),
            "--metrics-address",
            &ops.to_string(),
        ])
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("siem.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("makonis siem run starts");
    wait_until("the SIEM to be ready", CONVERGE, || async {
        match http_get(ops, "/readyz").await {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let api = Api::<LogSource>::namespaced(admin.clone(), NAMESPACE);
    let waiting = wait_until("the local source to be ready and waiting", CONVERGE, || async {
        let ready = condition(&api, &local, "Ready").await?;
        let receiving = condition(&api, &local, "Receiving").await?;
        (ready.0 == "True").then_some(receiving).ok_or(format!("{ready:?}"))
    })
    .await;
    assert_eq!(waiting.0, "False", "nothing received yet: {waiting:?}");

    let sent = Command::new("logger")
        .env("TZ", "Europe/Riga")
        .args(["-n", "127.0.0.1", "-P", &tcp.port().to_string(), "-T", "--octet-count", "--rfc5424", "-t", "sshd"])
        .arg("Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2")
        .status()
        .await
        .unwrap();
    assert!(sent.success());
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

    let pid = siem.id().expect("running").to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(term.success());
    let exited = tokio::time::timeout(Duration::from_secs(30), siem.wait()).await.expect("stops on SIGTERM").unwrap();
    assert!(exited.success(), "{exited}");

    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date().to_string();
    let verified = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["siem", "verify", "--store", path(&store), "--checkpoint-log", path(&log), "--public-key", &public_key])
        .args(["--from", &today])
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{out}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(out.contains(&format!("ok      {today}/authentication  1 events")), "{out}");

    for name in [&local, &a, &b] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
