//! The audit trail shipped to a real SIEM HTTPS intake (`makonis-siem`, in this process)
//! with the portal's platform-CA client certificate, on both databases: every row
//! arrives once with Regulation 442's five fields, the mark moves only when the SIEM
//! confirmed a batch, and a failed batch is shipped on a later round.

mod support;

// The SIEM's own test support (its store, its test CA's credentials, an intake), so that
// both ends are tested with the same certificates.
#[path = "../../monitoring/siem/tests/support/mod.rs"]
mod siem_support;

use std::{path::PathBuf, sync::Arc, time::Duration};

use jiff::tz::TimeZone;
use makonis_portal::{
    siem::{
        SiemSink,
        ship::{Round, ShippingMetrics, round},
    },
    store::{Store, audit::AuditEvent, now_ms},
};
use makonis_siem::{
    intake::{Stats, https, writer},
    store::{PartitionKey, Store as SiemStore},
};
use makonis_siem_core::{
    claims::{Format, PlatformSender, Sender},
    retention::SourceCategory,
};
use serde_json::Value;
use siem_support::pki::Ca;
use tokio::{net::TcpListener, task::JoinHandle};

/// The platform's LogSource of the portal's trail.
const PORTAL: &str = "makonis-system/portal-audit";

struct Siem {
    dir: PathBuf,
    port: u16,
    ca: Ca,
    stats: Arc<Stats>,
    reader: JoinHandle<()>,
    writer: JoinHandle<SiemStore>,
}

async fn siem() -> Siem {
    let dir = siem_support::fresh_dir("portal");
    let (store, _) = siem_support::store_in(&dir).await;
    let (ca, credentials) = siem_support::tls_credentials(&dir);
    let mut source = siem_support::servers("127.0.0.9/32", "UTC");
    source.id = PORTAL.into();
    source.agency = None;
    source.platform = true;
    source.category = SourceCategory::PlatformAudit;
    source.format = Format::Json;
    source.senders = vec![Sender::Platform(PlatformSender::Portal)];
    let (intake, queue_rx, stats) = siem_support::intake(vec![source], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(https::serve(listener, credentials.subscribe(), intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));
    Siem { dir, port, ca, stats, reader, writer }
}

/// The portal's sink for `siem`, trusting `server_ca`'s file.
fn sink(siem: &Siem, server_ca: &std::path::Path) -> SiemSink {
    let (certificate, key) = siem.ca.client(&["portal"], Some("makonis-system")).write(&siem.dir, "portal");
    SiemSink {
        url: format!("https://localhost:{}/v1/events", siem.port).parse().unwrap(),
        certificate,
        key,
        server_ca: server_ca.to_owned(),
        every: Duration::from_secs(1),
    }
}

fn sign_in(actor: &str, outcome: &str) -> AuditEvent {
    AuditEvent {
        at: now_ms(),
        actor: actor.into(),
        agency: Some("lm".into()),
        action: "sign_in".into(),
        object: "session".into(),
        outcome: outcome.into(),
        source_ip: "10.1.2.3".into(),
        session_id: "s-1".into(),
        user_agent: "Firefox/140".into(),
        detail: String::new(),
    }
}

async fn ships_every_row_once_and_only_confirmed_rows_move_the_mark(database: &str, store: Store) {
    let siem = siem().await;
    let metrics = ShippingMetrics::new().unwrap();
    let server_ca = siem.dir.join("server-ca.crt");
    std::fs::write(&server_ca, &siem.ca.pem).unwrap();
    let good = sink(&siem, &server_ca);
    for actor in ["anna@lm", "jānis@lm", "mallory@lm"] {
        store.audit(&sign_in(actor, if actor.starts_with('m') { "denied" } else { "success" })).await.unwrap();
    }
    let done = round(&store, &good, &metrics).await.unwrap_or_else(|e| panic!("{database}: {e}"));
    assert_eq!(done, Round { shipped: 3, behind: 0 }, "{database}");
    assert_eq!(siem.stats.source(PORTAL).events, 3, "{database}: confirmed means stored");
    assert_eq!(siem.stats.source(PORTAL).complete, 3, "{database}: all five mandatory fields");
    assert_eq!(round(&store, &good, &metrics).await.unwrap().shipped, 0, "{database}: nothing twice");

    // A SIEM whose certificate the portal does not trust: nothing is confirmed, the mark
    // stays, and the row goes on a later round.
    store.audit(&sign_in("anna@lm", "success")).await.unwrap();
    let other = Ca::new("not the SIEM's CA");
    let untrusted_ca = siem.dir.join("other-ca.crt");
    std::fs::write(&untrusted_ca, &other.pem).unwrap();
    let untrusted = SiemSink { server_ca: untrusted_ca, ..good.clone() };
    assert!(round(&store, &untrusted, &metrics).await.is_err(), "{database}");
    assert_eq!(store.audit_shipped(good.url.as_str()).await.unwrap(), 3, "{database}");
    let failures: Vec<_> = metrics.gather().into_iter().filter(|f| f.name().ends_with("failures_total")).collect();
    assert_eq!(failures[0].get_metric()[0].get_counter().get_value(), 1.0, "{database}");
    assert_eq!(round(&store, &good, &metrics).await.unwrap(), Round { shipped: 1, behind: 0 }, "{database}");

    siem.reader.abort();
    let _ = siem.reader.await;
    let mut siem_store = siem.writer.await.unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let documents =
        siem_store.documents(PartitionKey { day: today, category: SourceCategory::PlatformAudit }, 10).await.unwrap();
    assert_eq!(documents.len(), 4, "{database}");
    let refused = documents
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|d| d["user"]["name"] == "mallory@lm")
        .expect("mallory's sign-in");
    assert_eq!(refused["event"]["outcome"], "failure", "{database}");
    assert_eq!(refused["source"]["ip"], "10.1.2.3");
    assert_eq!(refused["makonis"]["source"], PORTAL);
    let _ = std::fs::remove_dir_all(&siem.dir);
}

#[tokio::test]
async fn the_audit_trail_is_shipped_to_the_siem_on_both_databases() {
    for (database, store) in support::both_stores().await {
        ships_every_row_once_and_only_confirmed_rows_move_the_mark(database, store).await;
    }
}
