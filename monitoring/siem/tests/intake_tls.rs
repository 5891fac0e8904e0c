//! Syslog over TLS (RFC 5425): senders known by client certificates from the platform CA
//! (a CA made by the test), each certificate honoured only for the namespace it was
//! issued for; senders without one, or with another CA's, send nothing; a real rsyslog
//! (Debian's `rsyslog-openssl`) delivers over it.

use std::{path::PathBuf, sync::Arc, time::Duration};

use jiff::{Timestamp, tz::TimeZone};
use makonis_siem::{
    intake::{
        Stats,
        decode::UNKNOWN_SOURCE,
        tls::{self, Credentials},
        writer,
    },
    store::{PartitionKey, Store},
};
use makonis_siem_core::{claims::Sender, retention::SourceCategory};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

mod support;

use support::{
    fresh_dir, intake,
    pki::{Ca, Issued, connector, server_name},
    rsyslogd, servers, sshd_lines, store_in, tls_credentials, until_stored,
};

/// The LogSource claiming agency lm's domain controller by certificate.
const DCS: &str = "agency-lm/servers";
/// Agency vm's LogSource that claims the name of agency lm's second controller.
const THIEF: &str = "agency-vm/thief";

/// A TLS intake over a store in a directory of its own.
struct Running {
    dir: PathBuf,
    port: u16,
    ca: Ca,
    stats: Arc<Stats>,
    credentials: Credentials,
    reader: JoinHandle<()>,
    writer: JoinHandle<Store>,
}

async fn start() -> Running {
    let dir = fresh_dir("tls");
    let (store, _) = store_in(&dir).await;
    let (ca, credentials) = tls_credentials(&dir);
    let mut dcs = servers("127.0.0.1/32", "UTC");
    dcs.senders = vec![Sender::Certificate("dc1.lm.gov.lv".into())];
    let mut thief = servers("127.0.0.2/32", "UTC");
    thief.id = THIEF.into();
    thief.agency = Some("vm".into());
    thief.senders = vec![Sender::Certificate("dc2.lm.gov.lv".into())];
    let (intake, queue_rx, stats) = intake(vec![dcs, thief], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(tls::serve(listener, credentials.subscribe(), intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));
    Running { dir, port, ca, stats, credentials, reader, writer }
}

impl Running {
    async fn stop(self) -> (Store, PathBuf) {
        self.reader.abort();
        let _ = self.reader.await;
        (self.writer.await.unwrap(), self.dir)
    }

    /// Sends `frames` (octet-counted) over TLS with `client`; the handshake's error if
    /// the server refuses it.
    async fn send(&self, server_ca: &Ca, client: Option<&Issued>, frames: &[&str]) -> std::io::Result<()> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut stream = connector(server_ca, client).connect(server_name(), tcp).await?;
        for frame in frames {
            stream.write_all(format!("{} {frame}", frame.len()).as_bytes()).await?;
        }
        stream.flush().await?;
        // TLS 1.3 reports a refused client certificate only after the handshake: read
        // until the server closes, so that a refusal surfaces here.
        stream.shutdown().await?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await?;
        Ok(())
    }
}

/// Polls until `done` holds, for at most 30 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 30 s");
}

fn line(n: usize) -> String {
    format!("<38>1 2026-12-06T10:00:0{n}Z dc1 sshd 42 - - Failed password for user{n} from 10.0.0.{n} port 2222 ssh2")
}

#[tokio::test]
async fn a_certificate_is_honoured_only_for_the_namespace_it_was_issued_for() {
    let running = start().await;
    let dc1 = running.ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    let frames: Vec<String> = (1..=3).map(line).collect();
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    running.send(&running.ca, Some(&dc1), &frames).await.expect("dc1 sends");
    until("three events stored for dc1", || running.stats.source(DCS).events == 3).await;

    // Agency vm claimed "dc2.lm.gov.lv" first; the platform CA issued that certificate to
    // agency lm, so its events go to quarantine, not to agency vm.
    let dc2 = running.ca.client(&["dc2.lm.gov.lv"], Some("agency-lm"));
    running.send(&running.ca, Some(&dc2), &frames[..1]).await.expect("dc2 sends");
    // A certificate with a name nobody claims is quarantined as an unknown source.
    let stray = running.ca.client(&["new.lm.gov.lv"], Some("agency-lm"));
    running.send(&running.ca, Some(&stray), &frames[..1]).await.expect("the stray sends");
    until("two quarantined", || running.stats.source(UNKNOWN_SOURCE).quarantined == 2).await;
    assert_eq!(running.stats.source(THIEF).events, 0, "agency vm received nothing");
    let (mut store, dir) = running.stop().await;

    let quarantined = store.quarantined(10).await.unwrap();
    let reasons: Vec<(&str, &str)> =
        quarantined.iter().map(|(_, reason, detail, _)| (reason.as_str(), detail.as_str())).collect();
    assert!(
        reasons.iter().any(|(reason, detail)| *reason == "certificate_other_namespace"
            && detail.contains("issued for agency-lm, not agency-vm")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(reason, detail)| *reason == "unknown_source" && detail.contains("new.lm.gov.lv")),
        "{reasons:?}"
    );
    let today = PartitionKey { day: jiff::civil::date(2026, 12, 6), category: SourceCategory::Authentication };
    let documents = store.documents(today, 10).await.unwrap();
    assert_eq!(documents.len(), 3);
    let first: Value = serde_json::from_str(&documents[0]).unwrap();
    assert_eq!(first["makonis"]["source"], DCS);
    assert_eq!(first["user"]["name"], "user3", "{first}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_sender_without_a_platform_certificate_sends_nothing() {
    let running = start().await;
    let frames = [line(1)];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    let anonymous = running.send(&running.ca, None, &frames).await;
    assert!(anonymous.is_err(), "a sender without a client certificate was let in");
    let other_ca = Ca::new("someone else's CA");
    let forged = other_ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    let foreign = running.send(&running.ca, Some(&forged), &frames).await;
    assert!(foreign.is_err(), "a certificate from another CA was let in");
    // A sender that trusts the server proves the listener works; it is the refused ones'
    // frames that must be missing.
    let dc1 = running.ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    running.send(&running.ca, Some(&dc1), &frames).await.expect("dc1 sends");
    until("dc1's event stored", || running.stats.source(DCS).events == 1).await;
    let stats = running.stats.clone();
    let (mut store, dir) = running.stop().await;
    assert_eq!(stats.source(DCS).events, 1, "only the certified sender's event");
    assert!(store.quarantined(10).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_renewed_server_certificate_is_used_for_new_connections() {
    let mut running = start().await;
    assert!(!running.credentials.refresh().expect("unchanged files"), "nothing changed yet");
    // A renewal signed by a new CA: clients that trust only the old one are refused
    // once the new files are loaded, clients that trust the new one are served.
    let renewed_ca = Ca::new("renewed platform CA");
    renewed_ca.server().write(&running.dir, "server");
    assert!(running.credentials.refresh().expect("the renewed files"));
    let dc1 = running.ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    let frames = [line(1)];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    assert!(running.send(&running.ca, Some(&dc1), &frames).await.is_err(), "the old server certificate is served");
    running.send(&renewed_ca, Some(&dc1), &frames).await.expect("the renewed certificate is served");
    until("dc1's event stored", || running.stats.source(DCS).events == 1).await;
    // A broken renewal (a key that does not fit) keeps the working configuration.
    std::fs::write(running.dir.join("server.key"), Ca::new("x").server().key_pem).unwrap();
    let error = running.credentials.refresh().expect_err("a key that does not fit");
    assert!(error.to_string().contains("unusable"), "{error}");
    running.send(&renewed_ca, Some(&dc1), &frames).await.expect("still served");
    let (_, dir) = running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rsyslog_delivers_over_tls_with_its_client_certificate() {
    let running = start().await;
    let dir = running.dir.clone();
    std::fs::create_dir_all(dir.join("rsyslog")).unwrap();
    let (client_cert, client_key) = running.ca.client(&["dc1.lm.gov.lv"], Some("agency-lm")).write(&dir, "rsyslog");
    let server_ca = dir.join("server-ca.crt");
    std::fs::write(&server_ca, &running.ca.pem).unwrap();
    let lines = 2_000;
    let input = dir.join("auth.log");
    std::fs::write(&input, sshd_lines(lines)).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}"
       DefaultNetstreamDriver="ossl"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imfile")
input(type="imfile" File="{input}" Tag="sshd" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted"
         StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
            work = dir.join("rsyslog").display(),
            ca = server_ca.display(),
            cert = client_cert.display(),
            key = client_key.display(),
            input = input.display(),
            port = running.port,
        ),
    )
    .unwrap();
    let mut rsyslog = rsyslogd(&conf, &dir);
    until_stored(&running.stats, DCS, lines as u64, &mut rsyslog).await;
    rsyslog.kill().await.unwrap();
    let stats = running.stats.clone();
    let (mut store, dir) = running.stop().await;
    let figures = stats.source(DCS);
    assert_eq!((figures.events, figures.quarantined), (lines as u64, 0), "every line, none quarantined");
    let today = PartitionKey {
        day: Timestamp::now().to_zoned_datetime(TimeZone::UTC).date(),
        category: SourceCategory::Authentication,
    };
    let documents = store.documents(today, lines as i64 + 10).await.unwrap();
    assert_eq!(documents.len(), lines);
    let event: Value = serde_json::from_str(&documents[0]).unwrap();
    assert_eq!(event["makonis"]["source"], DCS);
    assert_eq!(event["process"]["name"], "sshd", "{event}");
    let _ = std::fs::remove_dir_all(&dir);
}
