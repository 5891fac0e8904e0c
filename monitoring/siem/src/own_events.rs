//! Events the SIEM writes about what it sees itself, stored and evaluated like any other:
//! a LogSource that went silent (`logsource-silent`) and one that sends again
//! (`logsource-receiving`). Each is an ECS record of the provider `makonis-siem`, so that
//! rules see it as `product: makonis`, `service: siem` (the sector's pack raises an alert
//! for silence, `monitoring/rules/platform/logsource_silent.yml`).

use jiff::{SignedDuration, Timestamp};
use makonis_api::security::LogSourceState;
use makonis_siem_core::event::{Event, EventCategory, Outcome};
use serde_json::json;

/// The source the SIEM files its own events under.
pub fn own_source(platform_namespace: &str) -> String {
    format!("{platform_namespace}/makonis-siem")
}

/// The event of a LogSource's change of state, when the change is one worth an event:
/// into `Silent` from anything, or back to `Receiving` from `Silent`.
pub fn state_change(
    source: &str,
    agency: Option<&str>,
    before: Option<LogSourceState>,
    now_state: LogSourceState,
    silence: SignedDuration,
    platform_namespace: &str,
    now: Timestamp,
) -> Option<Event> {
    let (action, message) = match (before, now_state) {
        (Some(LogSourceState::Silent), LogSourceState::Silent) => return None,
        (_, LogSourceState::Silent) => {
            ("logsource-silent", format!("LogSource {source} has sent nothing for longer than {silence:#}"))
        }
        (Some(LogSourceState::Silent), LogSourceState::Receiving) => {
            ("logsource-receiving", format!("LogSource {source} is sending again"))
        }
        _ => return None,
    };
    let mut record = json!({
        "@timestamp": now.to_string(),
        "event": {"kind": "alert", "category": ["host"], "action": action, "outcome": "unknown", "provider": "makonis-siem"},
        "labels": {"logsource": source},
        "message": message,
    });
    if let Some(agency) = agency {
        record["organization"] = json!({"id": agency});
    }
    Some(Event {
        timestamp: now,
        created: now,
        time_from_record: true,
        category: Some(EventCategory::Host),
        action: Some(action.to_owned()),
        outcome: Outcome::Unknown,
        host_name: Some("makonis-siem".to_owned()),
        message,
        original: record.to_string().into_bytes(),
        agency: agency.map(str::to_owned),
        source: own_source(platform_namespace),
        ..Event::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_silent_and_coming_back_are_events_and_staying_is_not() {
        let now = Timestamp::UNIX_EPOCH;
        let silence = SignedDuration::from_mins(15);
        let silent = |before| {
            state_change("agency-lm/dc", Some("lm"), before, LogSourceState::Silent, silence, "makonis-system", now)
        };
        let event = silent(Some(LogSourceState::Receiving)).expect("an event");
        assert_eq!(event.action.as_deref(), Some("logsource-silent"));
        assert_eq!((event.agency.as_deref(), event.source.as_str()), (Some("lm"), "makonis-system/makonis-siem"));
        let record: serde_json::Value = serde_json::from_slice(&event.original).unwrap();
        assert_eq!(record["event"]["provider"], "makonis-siem");
        assert_eq!(record["labels"]["logsource"], "agency-lm/dc");
        assert!(event.message.contains("15m"), "{}", event.message);
        assert!(silent(None).is_some(), "silent from the start");
        assert!(silent(Some(LogSourceState::Silent)).is_none());
        let back = |before| {
            state_change("agency-lm/dc", Some("lm"), before, LogSourceState::Receiving, silence, "makonis-system", now)
        };
        assert_eq!(back(Some(LogSourceState::Silent)).unwrap().action.as_deref(), Some("logsource-receiving"));
        assert!(back(Some(LogSourceState::Waiting)).is_none());
    }
}
