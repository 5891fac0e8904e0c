//! `makonis siem run` against the real API server, as its own ServiceAccount: a LogSource
//! claims 127.0.0.1, util-linux `logger` sends an sshd sign-in over TCP, the event is
//! stored and the LogSource's status says so; two LogSources claiming overlapping
//! networks are both refused; after SIGTERM, `makonis siem verify` finds the chain intact.

mod support;

use jiff::{Timestamp, tz::TimeZone};
use kube::{Api, api::DeleteParams};
use makonis_api::security::LogSource;
use serde_json::json;
use support::{
    CONVERGE,
    agencies::unique_id,
    cluster::{admin_client, install_platform},
    operator::free_local_address,
    siem::{Siem, SiemFiles, create_log_source},
    wait_until,
};
use tokio::process::Command;

const NAMESPACE: &str = "makonis-system";

async fn condition(api: &Api<LogSource>, name: &str, type_: &str) -> Result<(String, String), String> {
    let object = api.get(name).await.map_err(|e| e.to_string())?;
    let status = object.status.ok_or("no status yet")?;
    let condition = status.conditions.iter().find(|c| c.type_ == type_).ok_or(format!("no {type_} condition"))?;
    Ok((condition.status.clone(), condition.message.clone()))
}

#[tokio::test]
async fn a_claimed_senders_events_are_stored_and_counted_and_conflicting_claims_refused() {
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

    assert!(siem.signal("TERM").await, "the SIEM stops cleanly on SIGTERM");
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date().to_string();
    let (verified, out) = Siem::verify(&files, &today).await;
    assert!(verified, "{out}");
    assert!(out.contains(&format!("ok      {today}/authentication  1 events")), "{out}");

    for name in [&local, &a, &b] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&files.dir);
}
