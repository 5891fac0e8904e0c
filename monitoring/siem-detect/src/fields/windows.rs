//! Windows events as Sigma's flat names: `EventID`, `Channel`, `Computer`,
//! `Provider_Name`, `TimeCreated` and every `EventData` (or `UserData`) item under its own
//! name, values keeping their JSON type.
//!
//! Three shapes are read: flat objects (NXLog's `im_msvistalog`, and events already flat),
//! Winlogbeat's (`winlog.event_id`, `winlog.event_data.*`), and an EVTX export's
//! (`Event.System`, `Event.EventData`, attributes under `#attributes`). Logsource:
//! `product: windows`, `service` the lower-cased `Channel`.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Logsource, Record};

/// Whether a JSON object is a Windows event in one of the shapes read here.
pub fn recognises(object: &Map<String, Value>) -> bool {
    object.contains_key("EventID")
        || object.get("winlog").is_some_and(Value::is_object)
        || object.get("Event").and_then(Value::as_object).is_some_and(|e| e.get("System").is_some_and(Value::is_object))
}

/// Builds the record of a Windows event; an event without a readable time takes
/// `received`.
pub fn record(object: &Map<String, Value>, received: Timestamp) -> Record {
    let fields = if let Some(event) = object.get("Event").and_then(Value::as_object) {
        from_export(event)
    } else if let Some(winlog) = object.get("winlog").and_then(Value::as_object) {
        from_winlogbeat(object, winlog)
    } else {
        from_flat(object)
    };
    let time = ["TimeCreated", "@timestamp", "EventTime", "UtcTime"]
        .iter()
        .find_map(|name| fields.get(*name).and_then(Value::as_str).and_then(parse_time))
        .unwrap_or(received);
    let mut logsource = Logsource::default();
    logsource.product.push("windows".to_owned());
    if let Some(channel) = fields.get("Channel").and_then(Value::as_str).filter(|c| !c.is_empty()) {
        logsource.service.push(channel.to_lowercase());
    }
    Record { time, fields: Value::Object(fields), logsource }
}

/// An EVTX export: `System`'s items with their attributes, then the event's data.
fn from_export(event: &Map<String, Value>) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(system) = event.get("System").and_then(Value::as_object) {
        for (name, value) in system {
            match (name.as_str(), value) {
                ("Provider", Value::Object(provider)) => {
                    for (attribute, value) in attributes(provider) {
                        fields.insert(format!("Provider_{attribute}"), value.clone());
                    }
                }
                ("TimeCreated", Value::Object(time)) => {
                    if let Some(at) = attributes(time).find(|(a, _)| *a == "SystemTime") {
                        fields.insert("TimeCreated".to_owned(), at.1.clone());
                    }
                }
                (_, Value::Object(inner)) if inner.contains_key("#text") => {
                    fields.insert(name.clone(), inner["#text"].clone());
                    for (attribute, value) in attributes(inner) {
                        fields.insert(attribute.to_owned(), value.clone());
                    }
                }
                (_, Value::Object(inner)) => {
                    for (attribute, value) in attributes(inner) {
                        fields.insert(attribute.to_owned(), value.clone());
                    }
                }
                (_, value) => {
                    fields.insert(name.clone(), value.clone());
                }
            }
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(data) = event.get(section) {
            data_items(data, &mut fields);
        }
    }
    fields
}

/// Winlogbeat's event: `winlog.*` under Sigma's names, `event_data` and `user_data`
/// items under their own, and the rest of the object as it is.
fn from_winlogbeat(object: &Map<String, Value>, winlog: &Map<String, Value>) -> Map<String, Value> {
    let mut fields: Map<String, Value> =
        object.iter().filter(|(name, _)| name.as_str() != "winlog").map(|(n, v)| (n.clone(), v.clone())).collect();
    for (from, to) in [
        ("event_id", "EventID"),
        ("channel", "Channel"),
        ("computer_name", "Computer"),
        ("provider_name", "Provider_Name"),
        ("provider_guid", "Provider_Guid"),
        ("record_id", "EventRecordID"),
        ("task", "Task"),
        ("opcode", "Opcode"),
    ] {
        if let Some(value) = winlog.get(from) {
            fields.insert(to.to_owned(), value.clone());
        }
    }
    if let Some(time) = object.get("@timestamp") {
        fields.insert("TimeCreated".to_owned(), time.clone());
    }
    for section in ["event_data", "user_data"] {
        if let Some(data) = winlog.get(section) {
            data_items(data, &mut fields);
        }
    }
    fields
}

/// A flat event as it is, with the names NXLog gives the system items copied to Sigma's.
fn from_flat(object: &Map<String, Value>) -> Map<String, Value> {
    let mut fields = object.clone();
    for (from, to) in [
        ("Hostname", "Computer"),
        ("SourceName", "Provider_Name"),
        ("ProviderName", "Provider_Name"),
        ("EventTime", "TimeCreated"),
    ] {
        if !fields.contains_key(to)
            && let Some(value) = object.get(from)
        {
            fields.insert(to.to_owned(), value.clone());
        }
    }
    fields
}

/// The items of `EventData`/`UserData`, each under its own name: a map of names to
/// values, EVTX's `Data` list of `{"#attributes": {"Name": …}, "#text": …}`, or one
/// level of nesting (`UserData.LogFileCleared.SubjectUserName`).
fn data_items(data: &Value, fields: &mut Map<String, Value>) {
    let Value::Object(data) = data else {
        return;
    };
    for (name, value) in data {
        match (name.as_str(), value) {
            ("#attributes", _) => {}
            ("Data", Value::Array(items)) => {
                for item in items {
                    if let Some(item) = item.as_object()
                        && let Some(Value::String(name)) = item.get("#attributes").and_then(|a| a.get("Name"))
                    {
                        fields.insert(name.clone(), item.get("#text").cloned().unwrap_or(Value::Null));
                    }
                }
            }
            (_, Value::Object(inner)) if !inner.contains_key("#text") => data_items(value, fields),
            (_, Value::Object(inner)) => {
                fields.insert(name.clone(), inner["#text"].clone());
            }
            _ => {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The `#attributes` of an EVTX element.
fn attributes(element: &Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
    element.get("#attributes").and_then(Value::as_object).into_iter().flatten().map(|(n, v)| (n.as_str(), v))
}

/// A Windows time: RFC 3339, or `YYYY-MM-DD hh:mm:ss[.fff]` in UTC (Sysmon's `UtcTime`,
/// NXLog's `EventTime` without a zone).
fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    let civil = text.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>().ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(value: Value) -> (Map<String, Value>, Record) {
        let record = record(value.as_object().unwrap(), Timestamp::UNIX_EPOCH);
        (record.fields.as_object().unwrap().clone(), record)
    }

    #[test]
    fn an_evtx_export_becomes_sigmas_flat_names() {
        let (f, record) = fields_of(json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625}"}},
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4625},
                "TimeCreated": {"#attributes": {"SystemTime": "2026-12-06T08:00:00.123Z"}},
                "Channel": "Security",
                "Computer": "dc1.lm.local",
                "Execution": {"#attributes": {"ProcessID": 640, "ThreadID": 700}}
            },
            "EventData": {"TargetUserName": "jānis", "IpAddress": "10.2.0.7", "LogonType": 3, "Status": "0xc000006d"}
        }}));
        assert_eq!(f["EventID"], 4625);
        assert_eq!(f["Qualifiers"], 0);
        assert_eq!(f["Provider_Name"], "Microsoft-Windows-Security-Auditing");
        assert_eq!(f["Channel"], "Security");
        assert_eq!(f["Computer"], "dc1.lm.local");
        assert_eq!(f["ProcessID"], 640);
        assert_eq!(f["TargetUserName"], "jānis");
        assert_eq!(f["LogonType"], 3);
        assert_eq!(record.time.to_string(), "2026-12-06T08:00:00.123Z");
        assert_eq!(record.logsource.product, ["windows"]);
        assert_eq!(record.logsource.service, ["security"]);
    }

    #[test]
    fn evtx_data_lists_and_user_data_are_read_by_name() {
        let (f, _) = fields_of(json!({"Event": {
            "System": {"EventID": 1102, "Channel": "Security"},
            "EventData": {"Data": [{"#attributes": {"Name": "SubjectUserName"}, "#text": "admin"}, {"#attributes": {"Name": "Empty"}}]},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectDomainName": "LM"}}
        }}));
        assert_eq!(f["SubjectUserName"], "admin");
        assert_eq!(f["Empty"], Value::Null);
        assert_eq!(f["SubjectDomainName"], "LM");
        assert!(!f.contains_key("xmlns"));
    }

    #[test]
    fn winlogbeat_and_flat_events_answer_to_the_same_names() {
        let (beat, record) = fields_of(json!({
            "@timestamp": "2026-12-06T08:00:00Z",
            "winlog": {"event_id": 4720, "channel": "Security", "computer_name": "dc2", "provider_name": "P",
                       "event_data": {"TargetUserName": "new"}}
        }));
        assert_eq!(beat["EventID"], 4720);
        assert_eq!(beat["Computer"], "dc2");
        assert_eq!(beat["TargetUserName"], "new");
        assert_eq!(record.time.to_string(), "2026-12-06T08:00:00Z");
        let (flat, record) = fields_of(json!({"EventID": 4624, "Hostname": "ws1", "Channel": "Security",
                                              "EventTime": "2026-12-06 08:00:01", "SourceName": "Microsoft-Windows-Security-Auditing"}));
        assert_eq!(flat["Computer"], "ws1");
        assert_eq!(flat["Provider_Name"], "Microsoft-Windows-Security-Auditing");
        assert_eq!(record.time.to_string(), "2026-12-06T08:00:01Z");
    }
}
