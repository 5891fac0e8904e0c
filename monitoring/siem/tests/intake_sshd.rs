//! A real OpenSSH server (Debian's `openssh-server`), started by the test on 127.0.0.1,
//! writes its log, and a real rsyslog (`imfile`, `omrelp`) forwards it to the SIEM as an
//! agency's server would: a sign-in of an unknown user and one refused for want of a key
//! become authentication events with the user and the client's address and port.

use std::time::Duration;

use jiff::{Timestamp, tz::TimeZone};
use makonis_siem::{
    intake::{relp, writer},
    store::PartitionKey,
};
use makonis_siem_core::retention::SourceCategory;
use serde_json::Value;
use tokio::{net::TcpListener, process::Command};

mod support;

use support::{SERVERS, fresh_dir, intake, relp_forwarding, rsyslogd, servers, store_in, until_stored};

/// A free port on 127.0.0.1 for sshd.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn sshds_refused_sign_ins_reach_the_store_through_rsyslog() {
    let dir = fresh_dir("sshd");
    let (store, _) = store_in(&dir).await;
    let (intake, queue_rx, stats) = intake(vec![servers("127.0.0.1/32", "UTC")], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relp_port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(relp::serve(listener, intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));

    // sshd on 127.0.0.1 only, with a host key of its own, logging to a file (-E).
    let ssh_port = free_port();
    let host_key = dir.join("host_key");
    let keygen = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&host_key).status();
    assert!(keygen.await.expect("ssh-keygen (Debian package openssh-client)").success());
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {ssh_port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nLogLevel INFO\n",
            host_key.display(),
            dir.join("sshd.pid").display()
        ),
    )
    .unwrap();
    // sshd refuses to start without its privilege separation directory.
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd (the tests run as root)");
    let log = dir.join("sshd.log");
    std::fs::write(&log, "").unwrap();
    let mut sshd = Command::new("/usr/sbin/sshd")
        .arg("-D")
        .arg("-E")
        .arg(&log)
        .arg("-f")
        .arg(&config)
        .kill_on_drop(true)
        .spawn()
        .expect("sshd (Debian package openssh-server; tests/setup.sh installs it)");
    // Ready once it says so in its log (a probe connection would log lines of its own).
    let mut waited = 0;
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("Server listening on") {
        if let Some(exit) = sshd.try_wait().unwrap() {
            panic!("sshd exited: {exit}: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        assert!(waited < 100, "sshd did not say it listens within 10 s");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let conf = relp_forwarding(&dir, &log, relp_port);
    let mut rsyslog = rsyslogd(&conf, &dir);

    for user in ["intruder", "root"] {
        let refused = Command::new("ssh")
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null", "-p", &ssh_port.to_string()])
            .arg(format!("{user}@127.0.0.1"))
            .arg("true")
            .output()
            .await
            .expect("ssh (Debian package openssh-client)");
        assert!(!refused.status.success(), "{user} signed in");
    }
    // "Server listening", "Invalid user intruder", and a closed connection for each (sshd's
    // -E lines end in CRLF: kept in event.original, trimmed by the sshd extractor).
    until_stored(&stats, SERVERS, 4, &mut rsyslog).await;
    rsyslog.kill().await.unwrap();
    sshd.kill().await.unwrap();
    reader.abort();
    let _ = reader.await;
    let mut store = writer.await.unwrap();

    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let documents = store.documents(PartitionKey { day: today, category: SourceCategory::Authentication }, 100).await;
    let events: Vec<Value> = documents.unwrap().iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let invalid = events
        .iter()
        .find(|e| e["message"].as_str().is_some_and(|m| m.starts_with("Invalid user intruder")))
        .unwrap_or_else(|| panic!("no Invalid user event in {events:#?}"));
    assert_eq!(invalid["user"]["name"], "intruder", "{invalid}");
    assert_eq!(invalid["source"]["ip"], "127.0.0.1", "{invalid}");
    assert!(invalid["source"]["port"].is_u64(), "{invalid}");
    assert_eq!(invalid["event"]["outcome"], "failure", "{invalid}");
    assert_eq!(invalid["process"]["name"], "sshd");
    let root = events
        .iter()
        .find(|e| e["user"]["name"] == "root")
        .unwrap_or_else(|| panic!("no event of root in {events:#?}"));
    assert_eq!(root["source"]["ip"], "127.0.0.1", "{root}");
    let _ = std::fs::remove_dir_all(&dir);
}
