//! JSON over HTTPS: batches answered only once durable, senders known by client
//! certificate (the platform's own senders under their fixed names, issued for the
//! platform's namespace), resent batches stored once, bad records quarantined.

use std::{path::PathBuf, sync::Arc};

use makonis_siem::{
    intake::{Stats, decode::UNKNOWN_SOURCE, https, writer},
    store::{PartitionKey, Store},
};
use makonis_siem_core::{
    claims::{Format, PlatformSender, Sender},
    retention::SourceCategory,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

mod support;

use support::{
    fresh_dir, intake,
    pki::{self, Ca, Issued},
    servers, store_in, tls_credentials,
};

/// The platform's LogSource of the API server's audit events.
const AUDIT: &str = "makonis-system/kubernetes-audit";
/// Agency lm's Windows domain controllers, shipping JSON.
const WINDOWS: &str = "agency-lm/servers";

struct Running {
    dir: PathBuf,
    port: u16,
    ca: Ca,
    stats: Arc<Stats>,
    reader: JoinHandle<()>,
    writer: JoinHandle<Store>,
}

async fn start() -> Running {
    let dir = fresh_dir("https");
    let (store, _) = store_in(&dir).await;
    let (ca, credentials) = tls_credentials(&dir);
    let mut audit = servers("127.0.0.9/32", "UTC");
    audit.id = AUDIT.into();
    audit.agency = None;
    audit.platform = true;
    audit.category = SourceCategory::PlatformAudit;
    audit.format = Format::KubernetesAudit;
    audit.senders = vec![Sender::Platform(PlatformSender::KubernetesApiServer)];
    let mut windows = servers("127.0.0.8/32", "UTC");
    windows.format = Format::Json;
    windows.senders = vec![Sender::Certificate("dc1.lm.gov.lv".into())];
    let (intake, queue_rx, stats) = intake(vec![audit, windows], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(https::serve(listener, credentials.subscribe(), intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));
    Running { dir, port, ca, stats, reader, writer }
}

impl Running {
    async fn stop(self) -> (Store, PathBuf) {
        self.reader.abort();
        let _ = self.reader.await;
        (self.writer.await.unwrap(), self.dir)
    }

    /// Posts `body` to /v1/events as `client`; the status and the answer's JSON body.
    async fn post(&self, client: &Issued, body: &[u8]) -> (u16, Value) {
        self.post_declaring(client, body.len(), body).await
    }

    /// Posts a request that declares `length` bytes of body and sends `body`.
    async fn post_declaring(&self, client: &Issued, length: usize, body: &[u8]) -> (u16, Value) {
        pki::post(self.port, &self.ca, client, https::EVENTS_PATH, length, body).await
    }
}

fn audit_event(id: &str, verb: &str, code: u16) -> Value {
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/agency-lm/secrets/db", "verb": verb,
        "user": {"username": "anna@lm", "groups": ["lm-admins"]}, "sourceIPs": ["10.1.1.1"],
        "objectRef": {"resource": "secrets", "namespace": "agency-lm", "name": "db", "apiVersion": "v1"},
        "responseStatus": {"code": code}, "requestReceivedTimestamp": "2026-12-06T08:20:30.000001Z",
        "stageTimestamp": "2026-12-06T08:20:30.002000Z"})
}

#[tokio::test]
async fn the_api_servers_batches_are_stored_before_the_answer_and_a_resend_is_stored_once() {
    let running = start().await;
    let apiserver = running.ca.client(&["kube-apiserver"], Some("makonis-system"));
    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [
        audit_event("a1", "get", 403), audit_event("a2", "delete", 200), audit_event("a3", "create", 201)]});
    let body = serde_json::to_vec_pretty(&list).unwrap();
    let (status, answer) = running.post(&apiserver, &body).await;
    assert_eq!((status, answer), (200, json!({"stored": 3, "quarantined": 0})));
    // The answer came after the writer stored the batch: the counts are already there.
    assert_eq!(running.stats.source(AUDIT).events, 3);

    // The API server's webhook resends a batch whose answer it did not get.
    let (status, _) = running.post(&apiserver, &body).await;
    assert_eq!(status, 200);
    let figures = running.stats.source(AUDIT);
    assert_eq!((figures.events, figures.duplicates), (3, 3), "{figures:?}");

    // A certificate named kube-apiserver but issued for an agency is not the API server.
    let impostor = running.ca.client(&["kube-apiserver"], Some("agency-lm"));
    let forged = serde_json::to_vec(&json!([audit_event("f1", "delete", 200)])).unwrap();
    let (status, answer) = running.post(&impostor, &forged).await;
    assert_eq!((status, answer), (200, json!({"stored": 0, "quarantined": 1})));
    assert_eq!(running.stats.source(UNKNOWN_SOURCE).quarantined, 1);

    let (mut store, dir) = running.stop().await;
    let key = PartitionKey { day: jiff::civil::date(2026, 12, 6), category: SourceCategory::PlatformAudit };
    let documents = store.documents(key, 10).await.unwrap();
    assert_eq!(documents.len(), 3, "each audit event once");
    let stored: Vec<Value> = documents.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let forbidden = stored.iter().find(|e| e["event"]["action"] == "get").expect("the refused get");
    assert_eq!(forbidden["event"]["outcome"], "failure");
    assert_eq!(forbidden["user"]["name"], "anna@lm");
    assert_eq!(forbidden["makonis"]["source"], AUDIT);
    // event.original is the item's own bytes, as the API server wrote them.
    let original = forbidden["event"]["original"].as_str().unwrap();
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains(original), "{original}");
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined[0].1, "certificate_other_namespace");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn json_lines_are_stored_line_by_line_and_a_bad_line_is_quarantined() {
    let running = start().await;
    let dc1 = running.ca.client(&["dc1.lm.gov.lv"], Some("agency-lm"));
    let body = concat!(
        r#"{"EventID": 4625, "TargetUserName": "jānis", "IpAddress": "10.1.2.3", "LogonType": 3, "EventTime": "2026-12-06 10:00:00", "Hostname": "dc1"}"#,
        "\n{not json\n",
        r#"{"EventID": 4624, "TargetUserName": "anna", "IpAddress": "10.1.2.4", "LogonType": 10, "EventTime": "2026-12-06 10:00:01", "Hostname": "dc1"}"#,
        "\n"
    );
    let (status, answer) = running.post(&dc1, body.as_bytes()).await;
    assert_eq!((status, answer), (200, json!({"stored": 2, "quarantined": 1})));
    let figures = running.stats.source(WINDOWS);
    assert_eq!((figures.events, figures.quarantined), (2, 1));

    // Too large a body is refused by its declared length, before it is read.
    let (status, _) = running.post_declaring(&dc1, https::MAX_BODY + 1, b"[").await;
    assert_eq!(status, 413);

    let (mut store, dir) = running.stop().await;
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!((quarantined[0].0.as_str(), quarantined[0].1.as_str()), (WINDOWS, "json_syntax"));
    assert_eq!(quarantined[0].3, b"{not json");
    let _ = std::fs::remove_dir_all(&dir);
}
