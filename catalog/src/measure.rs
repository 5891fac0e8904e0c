//! The `Probe` and `ServiceLevelObjective` every measured instance gets: the probe
//! checks the output the item names, the objective holds the plan's SLA.

use std::collections::BTreeMap;

use makonis_api::catalog::{ItemProbe, ItemProbeKind, OutputValue, Plan};
use serde_json::{Value, json};

use crate::render::{RenderedObject, allowed_kind};

/// The template name recorded on the objective and the probe (no item template may be
/// called this: names are lower-case DNS labels).
pub const MEASUREMENT_TEMPLATE: &str = "(sla)";

/// How long one probe run may take.
const PROBE_TIMEOUT: &str = "5s";
/// Failures in a row that open an outage (a blip of one failed run is not an outage).
const FAILURE_THRESHOLD: i32 = 3;
/// Successes in a row that close it.
const SUCCESS_THRESHOLD: i32 = 2;
/// Days before a certificate's expiry that the probe warns.
const CERTIFICATE_WARNING_DAYS: i32 = 14;

/// What identifies the instance being measured.
pub struct Measured<'a> {
    /// The instance's name; the probe and the objective are named after it.
    pub instance: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// The labels every resource of the instance carries.
    pub labels: &'a BTreeMap<String, String>,
    /// The service as people call it, e.g. `Dokumentu vadība (standard)`.
    pub service: String,
}

/// The probe of `probe.output` and the objective of `plan`'s SLA, or why the output
/// cannot be probed.
pub fn measurement(
    measured: &Measured<'_>,
    probe: &ItemProbe,
    plan: &Plan,
    outputs: &[OutputValue],
) -> Result<Vec<RenderedObject>, String> {
    let output = outputs
        .iter()
        .find(|o| o.name == probe.output)
        .ok_or_else(|| format!("probe: the item has no output `{}`", probe.output))?;
    let check = match probe.kind {
        ItemProbeKind::Http => json!({"http": http_check(probe, &output.value)?}),
        ItemProbeKind::Tcp => json!({"tcp": tcp_check(&probe.output, &output.value)?}),
    };
    let metadata = json!({
        "name": measured.instance,
        "namespace": measured.namespace,
        "labels": measured.labels,
    });
    let mut probe_spec = json!({
        "instance": measured.instance,
        "interval": probe.interval,
        "timeout": PROBE_TIMEOUT,
        "failureThreshold": FAILURE_THRESHOLD,
        "successThreshold": SUCCESS_THRESHOLD,
    });
    merge(&mut probe_spec, check);
    let sla = &plan.sla;
    let objective_spec = json!({
        "service": measured.service,
        "instance": measured.instance,
        "targetPercent": sla.availability_percent,
        "window": "CalendarMonth",
        "supportHours": sla.support_hours,
        "maintenanceWindows": sla.maintenance_windows,
        "indicator": {"probe": measured.instance},
    });
    Ok(vec![
        object(
            "Probe",
            measured.instance,
            json!({"apiVersion": "slo.makonis.lv/v1alpha1", "kind": "Probe", "metadata": metadata, "spec": probe_spec}),
        ),
        object(
            "ServiceLevelObjective",
            measured.instance,
            json!({"apiVersion": "slo.makonis.lv/v1alpha1", "kind": "ServiceLevelObjective", "metadata": metadata, "spec": objective_spec}),
        ),
    ])
}

fn object(kind: &str, name: &str, object: Value) -> RenderedObject {
    RenderedObject {
        template: MEASUREMENT_TEMPLATE.into(),
        kind: allowed_kind("slo.makonis.lv/v1alpha1", kind).expect("the SLO kinds are allowed kinds"),
        name: name.into(),
        object,
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// The HTTP check of `url` with the item's path, statuses and body match.
fn http_check(probe: &ItemProbe, url: &str) -> Result<Value, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("probe: output `{}` is `{url}`, not an http:// or https:// URL", probe.output))?;
    let origin_len = url.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
    if origin_len == url.len() - rest.len() {
        return Err(format!("probe: output `{}` is `{url}`, a URL without a host", probe.output));
    }
    let url = match &probe.path {
        Some(path) => format!("{}{path}", &url[..origin_len]),
        None if origin_len == url.len() => format!("{url}/"),
        None => url.to_string(),
    };
    let mut check = json!({"url": url, "certificateExpiryWarningDays": CERTIFICATE_WARNING_DAYS});
    if !probe.expected_status.is_empty() {
        check["expectedStatus"] = json!(probe.expected_status);
    }
    if let Some(body) = &probe.body_match {
        check["bodyMatch"] = json!(body);
    }
    Ok(check)
}

/// The TCP check of `host:port`.
fn tcp_check(output: &str, value: &str) -> Result<Value, String> {
    let (host, port) = value
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok().filter(|p| *p > 0)?)))
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| format!("probe: output `{output}` is `{value}`, not host:port"))?;
    Ok(json!({"host": host, "port": port}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kind: ItemProbeKind, path: Option<&str>) -> ItemProbe {
        ItemProbe {
            output: "url".into(),
            kind,
            path: path.map(Into::into),
            expected_status: Vec::new(),
            body_match: None,
            interval: "30s".into(),
        }
    }

    #[test]
    fn the_path_replaces_the_urls_own() {
        let check =
            http_check(&probe(ItemProbeKind::Http, Some("/healthz")), "https://dms.vdi.apps.lv/app?x=1").unwrap();
        assert_eq!(check["url"], "https://dms.vdi.apps.lv/healthz");
        let check = http_check(&probe(ItemProbeKind::Http, None), "https://dms.vdi.apps.lv").unwrap();
        assert_eq!(check["url"], "https://dms.vdi.apps.lv/");
        let check = http_check(&probe(ItemProbeKind::Http, Some("/h")), "http://x:8080").unwrap();
        assert_eq!(check["url"], "http://x:8080/h");
    }

    #[test]
    fn outputs_that_cannot_be_probed_are_named() {
        let error = http_check(&probe(ItemProbeKind::Http, None), "db.vdi:5432").unwrap_err();
        assert_eq!(error, "probe: output `url` is `db.vdi:5432`, not an http:// or https:// URL");
        assert!(http_check(&probe(ItemProbeKind::Http, None), "https:///x").unwrap_err().contains("without a host"));
        assert_eq!(tcp_check("db", "db.vdi:5432").unwrap(), json!({"host": "db.vdi", "port": 5432}));
        assert_eq!(tcp_check("db", "db.vdi").unwrap_err(), "probe: output `db` is `db.vdi`, not host:port");
        assert!(tcp_check("db", ":5432").is_err());
        assert!(tcp_check("db", "h:0").is_err());
    }
}
