//! Alerts sent to Alertmanager (its v2 API, `POST /api/v2/alerts`), so that routing to
//! e-mail and on-call follows the organisation's own rules. A queue of its own: a slow or
//! absent Alertmanager never holds detection back; each batch is retried with a growing
//! pause, and given up (counted) only when the queue is full behind it. The alert itself
//! is already recorded in the store.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{alert::SecurityAlert, metrics::DetectionMetrics};

/// Alerts waiting for Alertmanager at most.
const QUEUE: usize = 1024;

/// How many times a batch is tried before it is given up.
const TRIES: u32 = 6;

/// Why Alertmanager could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    /// The URL is not `http://host:port`.
    #[error("--alertmanager-url `{0}` is not an http://host:port URL")]
    Url(String),
    /// It could not be reached, or refused the alerts.
    #[error("Alertmanager: {0}")]
    Send(String),
}

/// Where alerts go: a queue to the sending task.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    queue: mpsc::Sender<Value>,
}

impl Alertmanager {
    /// Starts the task that sends to the Alertmanager at `url` (`http://host:port`).
    pub fn start(url: &str, metrics: Option<DetectionMetrics>) -> Result<Self, AlertmanagerError> {
        let base: Uri = url.parse().map_err(|_| AlertmanagerError::Url(url.into()))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() {
            return Err(AlertmanagerError::Url(url.into()));
        }
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(send_all(base, receiver, metrics));
        Ok(Self { queue })
    }

    /// Queues an alert; when the queue is full it is counted as dropped.
    pub fn notify(&self, alert: &SecurityAlert, metrics: Option<&DetectionMetrics>) {
        if self.queue.try_send(payload(alert)).is_err() {
            tracing::warn!(title = %alert.title, "Alertmanager's queue is full: this alert is only in the store and the log");
            if let Some(metrics) = metrics {
                metrics.alertmanager.with_label_values(&["dropped"]).inc();
            }
        }
    }
}

/// An alert as Alertmanager takes it: labels that identify it (the same rule and group
/// are one alert to Alertmanager), annotations that describe it.
pub fn payload(alert: &SecurityAlert) -> Value {
    let group: Vec<String> = alert.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "labels": {
            "alertname": "MakonisSecurityAlert",
            "severity": alert.level,
            "rule": alert.title,
            "rule_id": alert.rule_id.clone().unwrap_or_default(),
            "object": alert.object,
            "kind": alert.kind,
            "agency": alert.agency.clone().unwrap_or_else(|| "platform".to_owned()),
            "group": group.join(","),
        },
        "annotations": {
            "summary": alert.title,
            "description": format!(
                "{} events from {} to {}{}",
                alert.events.len(),
                alert.events.first().map(|(t, _)| t.to_string()).unwrap_or_default(),
                alert.events.last().map(|(t, _)| t.to_string()).unwrap_or_default(),
                if alert.late { " (raised late, after detection caught up)" } else { "" }
            ),
        },
        "startsAt": alert.events.first().map(|(t, _)| t.to_string()).unwrap_or_default(),
    })
}

/// Sends what is queued, a batch at a time, until the queue closes.
async fn send_all(base: Uri, mut receiver: mpsc::Receiver<Value>, metrics: Option<DetectionMetrics>) {
    let mut batch = Vec::new();
    while receiver.recv_many(&mut batch, 100).await > 0 {
        let body = Value::Array(std::mem::take(&mut batch)).to_string();
        let mut pause = Duration::from_millis(500);
        let mut outcome = "dropped";
        for _ in 0..TRIES {
            match post(&base, body.clone()).await {
                Ok(()) => {
                    outcome = "sent";
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "sending alerts to Alertmanager failed; retrying");
                    if let Some(metrics) = &metrics {
                        metrics.alertmanager.with_label_values(&["failed"]).inc();
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
        if let Some(metrics) = &metrics {
            metrics.alertmanager.with_label_values(&[outcome]).inc();
        }
    }
}

/// One `POST /api/v2/alerts`.
async fn post(base: &Uri, body: String) -> Result<(), AlertmanagerError> {
    let fail = |why: String| AlertmanagerError::Send(why);
    let authority = base.authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
    let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| fail(e.to_string()))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| fail(e.to_string()))?;
        let request = Request::post(path)
            .header(http::header::HOST, &authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CONNECTION, "close")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(e.to_string()))?;
        let response = async {
            let response = sender.send_request(request).await.map_err(|e| fail(e.to_string()))?;
            let status = response.status();
            let text = response.into_body().collect().await.map_err(|e| fail(e.to_string()))?.to_bytes();
            if status.is_success() {
                Ok(())
            } else {
                Err(fail(format!("HTTP {status}: {}", String::from_utf8_lossy(&text))))
            }
        };
        let (result, _) = tokio::join!(response, connection);
        result
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await.map_err(|_| fail("no answer within 10 s".into()))?
}
