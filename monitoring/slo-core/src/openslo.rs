//! Objectives as OpenSLO documents.
//!
//! Builds OpenSLO v1 `Service` and `SLO` documents as JSON values; the caller serialises
//! them, usually as a multi-document YAML stream.

use serde_json::{Map, Value, json};

use crate::metric_names::PROBE_UP;
use crate::rules::{percent, selector};
use crate::window::Window;

/// The OpenSLO version the documents follow.
const API_VERSION: &str = "openslo/v1";
/// The longest DNS label, and so the longest `metadata.name`.
const MAX_NAME_LEN: usize = 63;
/// The longest `spec.description` OpenSLO allows, in characters.
const MAX_DESCRIPTION_LEN: usize = 1050;
/// The longest `metadata.displayName` OpenSLO's validator (`oslo`, through the OpenSLO
/// Go SDK) accepts, in characters (Unicode scalar values, as Go counts runes). The CRD
/// allows services of up to 200 characters.
const MAX_DISPLAY_NAME_LEN: usize = 63;
/// What a shortened display name ends with.
const ELLIPSIS: char = '…';
/// Annotation on objectives measured over business hours only.
const SUPPORT_HOURS_ANNOTATION: &str = "makonis.lv/support-hours";
/// Why a business-hours objective's OpenSLO document is only an approximation.
const BUSINESS_HOURS_NOTE: &str = "Measured over Latvian business hours only (working days 08:30-17:00 \
    Europe/Riga, public holidays off). OpenSLO v1 cannot express this support calendar, so this document \
    counts all time; the Mākonis SLO engine's own numbers are authoritative.";

/// What an objective measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indicator<'a> {
    /// A probe of the engine: each minute is good while the probe is up.
    Probe {
        /// The probe's name, in the objective's namespace.
        probe: &'a str,
    },
    /// A ratio of two Prometheus counters: good events over all events.
    PrometheusRatio {
        /// The PromQL query counting good events.
        good: &'a str,
        /// The PromQL query counting all events.
        total: &'a str,
    },
}

/// One objective to export.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenSloInput<'a> {
    /// The objective's namespace.
    pub namespace: &'a str,
    /// The objective's name.
    pub name: &'a str,
    /// The agency that owns it.
    pub agency: &'a str,
    /// The service it covers, as people call it.
    pub service: &'a str,
    /// What it promises, in words.
    pub description: &'a str,
    /// The availability target as a ratio, e.g. `0.995`.
    pub target: f64,
    /// The window it is measured over.
    pub window: Window,
    /// Whether only Latvian business hours count.
    pub business_hours: bool,
    /// What it measures.
    pub indicator: Indicator<'a>,
}

/// One `Service` document per distinct (namespace, service), in order of first appearance,
/// followed by one `SLO` document per objective.
pub fn openslo_documents(objectives: &[OpenSloInput]) -> Vec<Value> {
    let mut services: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for objective in objectives {
        let name = service_name(objective);
        if !seen.contains(&name) {
            services.push(service_document(objective, &name));
            seen.push(name);
        }
    }
    services.extend(objectives.iter().map(slo_document));
    services
}

/// A DNS label (RFC 1123) made of `raw`: lowercase ASCII letters, digits and single dashes,
/// Latvian letters without diacritics, at most 63 characters; a too long name keeps its
/// start and ends in a hash of the whole, so that distinct names stay distinct.
pub fn dns_label(raw: &str) -> String {
    let slug = slug(raw);
    if slug.len() <= MAX_NAME_LEN {
        return slug;
    }
    let hash = format!("{:08x}", fnv1a(slug.as_bytes()));
    let head = slug[..MAX_NAME_LEN - hash.len() - 1].trim_end_matches('-');
    format!("{head}-{hash}")
}

/// `raw` as a `metadata.displayName`: itself when it has at most 63 characters, else its
/// first characters and `…` in 63. The cut never separates a letter from the combining
/// marks after it, and leaves no space before the `…`. The Service document's
/// description keeps the whole name.
pub fn display_name(raw: &str) -> String {
    if raw.chars().count() <= MAX_DISPLAY_NAME_LEN {
        return raw.to_owned();
    }
    let mut kept: Vec<char> = raw.chars().take(MAX_DISPLAY_NAME_LEN - 1).collect();
    if raw.chars().nth(MAX_DISPLAY_NAME_LEN - 1).is_some_and(is_combining) {
        // The letter the marks after the cut belong to goes too, with its marks so far.
        while let Some(dropped) = kept.pop() {
            if !is_combining(dropped) {
                break;
            }
        }
    }
    let mut name: String = kept.into_iter().collect();
    name.truncate(name.trim_end().len());
    name.push(ELLIPSIS);
    name
}

/// Whether `c` is a combining mark or joiner that attaches to the character before it
/// (the Unicode blocks of combining marks, joiners and variation selectors).
fn is_combining(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{200C}'..='\u{200D}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// The `Service` document of an objective's service.
fn service_document(objective: &OpenSloInput, name: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {
            "name": name,
            "displayName": display_name(objective.service),
            "labels": labels(objective),
        },
        "spec": {
            "description": format!("{} (agency {}, namespace {})", objective.service, objective.agency, objective.namespace),
        },
    })
}

/// The `SLO` document of an objective.
fn slo_document(objective: &OpenSloInput) -> Value {
    let name = dns_label(&format!("{}-{}", objective.namespace, objective.name));
    let mut metadata =
        json!({ "name": name, "displayName": display_name(objective.service), "labels": labels(objective) });
    if objective.business_hours {
        metadata["annotations"] = json!({ SUPPORT_HOURS_ANNOTATION: BUSINESS_HOURS_NOTE });
    }
    let mut spec = Map::new();
    if !objective.description.is_empty() {
        spec.insert(
            "description".into(),
            objective.description.chars().take(MAX_DESCRIPTION_LEN).collect::<String>().into(),
        );
    }
    spec.insert("service".into(), service_name(objective).into());
    spec.insert("indicator".into(), json!({ "metadata": { "name": name }, "spec": indicator_spec(objective) }));
    spec.insert("timeWindow".into(), time_window(objective.window));
    spec.insert("budgetingMethod".into(), budgeting_method(objective.indicator).into());
    spec.insert("objectives".into(), json!([threshold(objective)]));
    json!({ "apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec })
}

/// The `metadata.name` of an objective's `Service` document.
fn service_name(objective: &OpenSloInput) -> String {
    dns_label(&format!("{}-{}", objective.namespace, objective.service))
}

/// The labels both kinds of document carry.
fn labels(objective: &OpenSloInput) -> Value {
    json!({ "agency": objective.agency, "namespace": objective.namespace })
}

/// The indicator's `spec`: a threshold on the probe's state, or a ratio of counters.
fn indicator_spec(objective: &OpenSloInput) -> Value {
    match objective.indicator {
        Indicator::Probe { probe } => {
            let query = format!("{PROBE_UP}{}", selector(&[("namespace", objective.namespace), ("probe", probe)]));
            json!({ "thresholdMetric": prometheus_source(&query) })
        }
        Indicator::PrometheusRatio { good, total } => json!({
            "ratioMetric": { "counter": true, "good": prometheus_source(good), "total": prometheus_source(total) }
        }),
    }
}

/// A Prometheus `metricSource` running `query`.
fn prometheus_source(query: &str) -> Value {
    json!({ "metricSource": { "type": "Prometheus", "spec": { "query": query } } })
}

/// The `timeWindow` list: the calendar month in Riga time, or the last days.
fn time_window(window: Window) -> Value {
    match window {
        Window::CalendarMonth => json!([{
            "duration": "1M",
            "isRolling": false,
            "calendar": { "startTime": "2024-01-01 00:00:00", "timeZone": "Europe/Riga" },
        }]),
        Window::Rolling { days } => json!([{ "duration": format!("{days}d"), "isRolling": true }]),
    }
}

/// Probes count good minutes; counter ratios count good events.
fn budgeting_method(indicator: Indicator) -> &'static str {
    match indicator {
        Indicator::Probe { .. } => "Timeslices",
        Indicator::PrometheusRatio { .. } => "Occurrences",
    }
}

/// The single objective: for probes, a minute is good when the probe is up throughout.
fn threshold(objective: &OpenSloInput) -> Value {
    let mut threshold =
        json!({ "displayName": format!("{} % availability", percent(objective.target)), "target": objective.target });
    if let Indicator::Probe { .. } = objective.indicator {
        threshold["op"] = "gte".into();
        threshold["value"] = 1.into();
        threshold["timeSliceTarget"] = 1.into();
        threshold["timeSliceWindow"] = "1m".into();
    }
    threshold
}

/// Lowercase ASCII letters and digits joined by single dashes, without dashes at the ends.
fn slug(raw: &str) -> String {
    let mut slug = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase).map(ascii_letter) {
        if c != '-' || !(slug.is_empty() || slug.ends_with('-')) {
            slug.push(c);
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// A lowercase letter or digit as itself, a Latvian letter without its diacritic, and
/// anything else as a dash.
fn ascii_letter(c: char) -> char {
    match c {
        'a'..='z' | '0'..='9' => c,
        'ā' => 'a',
        'č' => 'c',
        'ē' => 'e',
        'ģ' => 'g',
        'ī' => 'i',
        'ķ' => 'k',
        'ļ' => 'l',
        'ņ' => 'n',
        'š' => 's',
        'ū' => 'u',
        'ž' => 'z',
        _ => '-',
    }
}

/// The 32-bit FNV-1a hash: stable across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal() -> OpenSloInput<'static> {
        OpenSloInput {
            namespace: "lm-portal",
            name: "availability",
            agency: "lm",
            service: "Labklājības portāls",
            description: "The portal answers during business hours.",
            target: 0.995,
            window: Window::CalendarMonth,
            business_hours: true,
            indicator: Indicator::Probe { probe: "front-page" },
        }
    }

    fn benefits_api() -> OpenSloInput<'static> {
        OpenSloInput {
            namespace: "vsaa-benefits",
            name: "api-success",
            agency: "vsaa",
            service: "Pabalstu API",
            description: "",
            target: 0.999,
            window: Window::Rolling { days: 28 },
            business_hours: false,
            indicator: Indicator::PrometheusRatio {
                good: r#"sum(rate(http_requests_total{code!~"5.."}[5m]))"#,
                total: "sum(rate(http_requests_total[5m]))",
            },
        }
    }

    #[test]
    fn calendar_month_probe_objective() {
        let docs = openslo_documents(&[portal()]);
        assert_eq!(docs.len(), 2);
        let service = &docs[0];
        assert_eq!(service["apiVersion"], "openslo/v1");
        assert_eq!(service["kind"], "Service");
        assert_eq!(service["metadata"]["name"], "lm-portal-labklajibas-portals");
        assert_eq!(service["metadata"]["displayName"], "Labklājības portāls");

        let slo = &docs[1];
        assert_eq!(slo["apiVersion"], "openslo/v1");
        assert_eq!(slo["kind"], "SLO");
        assert_eq!(slo["metadata"]["name"], "lm-portal-availability");
        assert_eq!(slo["metadata"]["displayName"], "Labklājības portāls");
        assert_eq!(slo["metadata"]["labels"], json!({"agency": "lm", "namespace": "lm-portal"}));
        let note = slo["metadata"]["annotations"]["makonis.lv/support-hours"].as_str().unwrap();
        assert!(note.contains("OpenSLO v1 cannot express") && note.contains("authoritative"), "{note}");

        let spec = &slo["spec"];
        assert_eq!(spec["service"], "lm-portal-labklajibas-portals");
        assert_eq!(spec["description"], "The portal answers during business hours.");
        assert_eq!(spec["budgetingMethod"], "Timeslices");
        assert_eq!(
            spec["timeWindow"],
            json!([{
                "duration": "1M",
                "isRolling": false,
                "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "Europe/Riga"},
            }])
        );
        assert_eq!(spec["indicator"]["metadata"]["name"], "lm-portal-availability");
        assert_eq!(
            spec["indicator"]["spec"]["thresholdMetric"]["metricSource"],
            json!({
                "type": "Prometheus",
                "spec": {"query": r#"makonis_slo_probe_up{namespace="lm-portal",probe="front-page"}"#},
            })
        );
        assert_eq!(
            spec["objectives"],
            json!([{
                "displayName": "99.5 % availability",
                "target": 0.995,
                "op": "gte",
                "value": 1,
                "timeSliceTarget": 1,
                "timeSliceWindow": "1m",
            }])
        );
    }

    #[test]
    fn rolling_prometheus_ratio_objective() {
        let docs = openslo_documents(&[benefits_api()]);
        let slo = &docs[1];
        assert_eq!(slo["metadata"]["name"], "vsaa-benefits-api-success");
        assert!(slo["metadata"].get("annotations").is_none());
        let spec = &slo["spec"];
        assert!(spec.get("description").is_none());
        assert_eq!(spec["service"], "vsaa-benefits-pabalstu-api");
        assert_eq!(spec["budgetingMethod"], "Occurrences");
        assert_eq!(spec["timeWindow"], json!([{"duration": "28d", "isRolling": true}]));
        let ratio = &spec["indicator"]["spec"]["ratioMetric"];
        assert_eq!(ratio["counter"], true);
        assert_eq!(ratio["good"]["metricSource"]["type"], "Prometheus");
        assert_eq!(
            ratio["good"]["metricSource"]["spec"]["query"],
            r#"sum(rate(http_requests_total{code!~"5.."}[5m]))"#
        );
        assert_eq!(ratio["total"]["metricSource"]["spec"]["query"], "sum(rate(http_requests_total[5m]))");
        assert!(spec["indicator"]["spec"].get("thresholdMetric").is_none());
        assert_eq!(spec["objectives"], json!([{"displayName": "99.9 % availability", "target": 0.999}]));
    }

    #[test]
    fn one_service_per_namespace_and_service() {
        let second = OpenSloInput { name: "latency", ..portal() };
        let other_namespace = OpenSloInput { namespace: "lm-portal-test", ..portal() };
        let docs = openslo_documents(&[portal(), benefits_api(), second, other_namespace]);
        let kinds: Vec<&str> = docs.iter().map(|doc| doc["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Service", "Service", "Service", "SLO", "SLO", "SLO", "SLO"]);
        let names: Vec<&str> = docs.iter().map(|doc| doc["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "lm-portal-labklajibas-portals",
                "vsaa-benefits-pabalstu-api",
                "lm-portal-test-labklajibas-portals",
                "lm-portal-availability",
                "vsaa-benefits-api-success",
                "lm-portal-latency",
                "lm-portal-test-availability",
            ]
        );
    }

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(dns_label("Ģimeņu  Atbalsts__(ŽŪRIJA)."), "gimenu-atbalsts-zurija");
        assert_eq!(dns_label("ns-obj.v2"), "ns-obj-v2");
    }

    #[test]
    fn long_names_are_truncated_with_a_hash() {
        let namespace = "vsaa-social-assistance-benefits-production";
        let long = dns_label(&format!("{namespace}-availability-of-the-application-form"));
        let other = dns_label(&format!("{namespace}-availability-of-the-application-api"));
        assert_eq!(long.len(), 63);
        assert_eq!(long[..55], *"vsaa-social-assistance-benefits-production-availabilit-");
        assert_ne!(long, other);
        assert_eq!(long[..54], other[..54]);
        assert!(long[55..].bytes().all(|b| b.is_ascii_hexdigit()), "{long}");
        assert_eq!(dns_label(&format!("{namespace}-availability-of-the-application-form")), long);
    }

    #[test]
    fn truncation_leaves_no_double_dash() {
        let name = dns_label(&format!("{}-{}", "a".repeat(53), "b".repeat(20)));
        assert_eq!(name.len(), 62);
        assert!(name.starts_with(&format!("{}-", "a".repeat(53))) && !name.contains("--"), "{name}");
    }

    /// The rules of OpenSLO's own validator, `oslo validate` (OpenSLO/oslo through the
    /// OpenSLO Go SDK, `pkg/openslo/v1`: `metadata.name` a DNS label, `displayName` at most
    /// 63 runes, descriptions at most 1050). `oslo` itself cannot be built here: its
    /// module is not among those the Go module proxy serves to this project, so the test
    /// holds the documents to the rules as its source states them.
    fn assert_oslo_accepts(document: &Value) {
        let metadata = &document["metadata"];
        let name = metadata["name"].as_str().unwrap();
        assert!(
            (1..=63).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !name.starts_with('-')
                && !name.ends_with('-'),
            "metadata.name {name:?}"
        );
        if let Some(display) = metadata["displayName"].as_str() {
            assert!(display.chars().count() <= 63, "displayName {display:?} has {} runes", display.chars().count());
        }
        if let Some(description) = document["spec"]["description"].as_str() {
            assert!(description.chars().count() <= 1050, "description of {name}");
        }
        for objective in document["spec"]["objectives"].as_array().into_iter().flatten() {
            assert!(objective["displayName"].as_str().unwrap().chars().count() <= 1050);
        }
    }

    #[test]
    fn a_service_name_of_the_crds_full_length_passes_oslos_display_name_rule() {
        // 200 characters, the CRD's limit, Latvian letters included.
        let long = "Valsts sociālās apdrošināšanas aģentūras pabalstu pieteikumu portāls ".repeat(3);
        let long: String = long.chars().take(200).collect();
        let objective = OpenSloInput { service: &long, ..portal() };
        let docs = openslo_documents(&[objective]);
        for doc in &docs {
            assert_oslo_accepts(doc);
            let display = doc["metadata"]["displayName"].as_str().unwrap();
            assert_eq!(display.chars().count(), 63, "{display}");
            assert!(display.ends_with('…') && long.starts_with(display.trim_end_matches('…')), "{display}");
        }
        // Nothing is lost: the Service's description holds the whole name.
        assert!(docs[0]["spec"]["description"].as_str().unwrap().starts_with(&long));
        // A name that fits is left alone, whatever it holds.
        let fits = "ā".repeat(63);
        assert_eq!(display_name(&fits), fits);
        assert_eq!(display_name(&"ā".repeat(64)).chars().count(), 63);
    }

    #[test]
    fn shortening_never_splits_a_letter_from_its_accent_nor_ends_in_a_space() {
        // "a" + combining macron (decomposed ā) with the cut right after the "a".
        let decomposed = format!("{}a\u{0304}bc{}", "x".repeat(61), "y".repeat(10));
        let shortened = display_name(&decomposed);
        assert_eq!(shortened, format!("{}…", "x".repeat(61)));
        let spaced = format!("{} {}", "x".repeat(61), "y".repeat(10));
        assert_eq!(display_name(&spaced), format!("{}…", "x".repeat(61)));
        let hostile = format!("{{{{ x }}}}\n\"'{}", "ž".repeat(100));
        assert_oslo_accepts(&openslo_documents(&[OpenSloInput { service: &hostile, ..portal() }])[1]);
    }

    #[test]
    fn long_descriptions_are_cut_to_the_spec_limit() {
        let description = "ā".repeat(2000);
        let objective = OpenSloInput { description: &description, ..portal() };
        let docs = openslo_documents(&[objective]);
        assert_eq!(docs[1]["spec"]["description"].as_str().unwrap().chars().count(), 1050);
    }
}
