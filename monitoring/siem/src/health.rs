//! A LogSource's status from what the intake counted: pure.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use makonis_api::security::{LogSourceState, LogSourceStatus};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};

use crate::intake::SourceStats;

/// The status a LogSource should have now. `refused` holds why its senders are not
/// honoured (a conflict, a bad zone), if they are not.
pub fn status(
    stats: &SourceStats,
    refused: &[String],
    silence: SignedDuration,
    now: Timestamp,
    existing: &[Condition],
    generation: Option<i64>,
) -> LogSourceStatus {
    let state = match stats.last_received {
        None => LogSourceState::Waiting,
        Some(at) if now.duration_since(at) <= silence => LogSourceState::Receiving,
        Some(_) => LogSourceState::Silent,
    };
    let ready = if refused.is_empty() {
        DesiredCondition::truthy("Ready", "Accepted", "the SIEM accepts events from its senders")
    } else {
        DesiredCondition::falsy("Ready", "Refused", refused.join("; "))
    };
    let receiving = match state {
        LogSourceState::Receiving => DesiredCondition::truthy("Receiving", "Receiving", "events arrive"),
        LogSourceState::Silent => DesiredCondition::falsy(
            "Receiving",
            "Silent",
            format!("nothing received for longer than {}: check the sender and its forwarding", humanise(silence)),
        ),
        LogSourceState::Waiting => {
            DesiredCondition::falsy("Receiving", "Waiting", "nothing received yet: point the sender at the SIEM")
        }
    };
    let k8s_now = k8s_openapi::jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or_default();
    LogSourceStatus {
        state: Some(state),
        last_event_time: stats.last_event.map(|t| t.to_string()),
        last_received_time: stats.last_received.map(|t| t.to_string()),
        events_received: i64::try_from(stats.events).unwrap_or(i64::MAX),
        bytes_received: i64::try_from(stats.bytes).unwrap_or(i64::MAX),
        rate_per_minute: stats.rate_per_minute(now),
        quarantined: i64::try_from(stats.quarantined).unwrap_or(i64::MAX),
        duplicates: i64::try_from(stats.duplicates).unwrap_or(i64::MAX),
        mandatory_fields_percent: (stats.events > 0)
            .then(|| (stats.complete as f64 * 1000.0 / stats.events as f64).round() / 10.0),
        conditions: merge_conditions(existing, [ready, receiving], generation, k8s_now),
    }
}

/// The figures a status written before a restart holds, to go on counting from (at most
/// one status interval of counts is lost in a crash; the events themselves are stored).
pub fn figures_of(status: &LogSourceStatus) -> SourceStats {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let events = count(status.events_received);
    let time = |text: &Option<String>| text.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    let mut figures = SourceStats::default();
    figures.events = events;
    figures.complete =
        status.mandatory_fields_percent.map_or(0, |percent| (events as f64 * percent / 100.0).round() as u64);
    figures.bytes = count(status.bytes_received);
    figures.quarantined = count(status.quarantined);
    figures.duplicates = count(status.duplicates);
    figures.last_event = time(&status.last_event_time);
    figures.last_received = time(&status.last_received_time);
    figures
}

fn humanise(duration: SignedDuration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes % 60 == 0 { format!("{}h", minutes / 60) } else { format!("{minutes}m") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn waiting_receiving_and_silent() {
        let silence = SignedDuration::from_mins(15);
        let none = status(&SourceStats::default(), &[], silence, now(), &[], Some(1));
        assert_eq!(none.state, Some(LogSourceState::Waiting));
        assert_eq!(none.mandatory_fields_percent, None);
        let mut stats = SourceStats::default();
        (stats.events, stats.complete, stats.bytes) = (3, 2, 300);
        stats.last_received = Some(now() - SignedDuration::from_mins(14));
        let receiving = status(&stats, &[], silence, now(), &[], Some(1));
        assert_eq!(receiving.state, Some(LogSourceState::Receiving));
        assert_eq!(receiving.mandatory_fields_percent, Some(66.7));
        stats.last_received = Some(now() - SignedDuration::from_mins(16));
        let silent = status(&stats, &[], silence, now(), &receiving.conditions, Some(1));
        assert_eq!(silent.state, Some(LogSourceState::Silent));
        let condition = silent.conditions.iter().find(|c| c.type_ == "Receiving").unwrap();
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "Silent"));
        assert!(condition.message.contains("longer than 15m"), "{}", condition.message);
    }

    #[test]
    fn a_refused_source_says_why() {
        let refused = ["10.1.0.5/32 is also claimed by agency-lm/servers; neither receives its events".to_owned()];
        let status = status(&SourceStats::default(), &refused, SignedDuration::from_mins(15), now(), &[], None);
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "Refused"));
        assert!(ready.message.contains("also claimed by agency-lm/servers"));
    }

    #[test]
    fn a_restart_goes_on_from_the_figures_the_status_held() {
        let mut stats = SourceStats::default();
        (stats.events, stats.complete, stats.bytes, stats.quarantined, stats.duplicates) = (3, 2, 300, 4, 5);
        stats.last_event = Some(now() - SignedDuration::from_mins(20));
        stats.last_received = Some(now() - SignedDuration::from_mins(1));
        let written = status(&stats, &[], SignedDuration::from_mins(15), now(), &[], Some(1));
        let figures = figures_of(&written);
        assert_eq!(
            (figures.events, figures.complete, figures.bytes, figures.quarantined, figures.duplicates),
            (3, 2, 300, 4, 5)
        );
        assert_eq!((figures.last_event, figures.last_received), (stats.last_event, stats.last_received));
        let again = status(&figures, &[], SignedDuration::from_mins(15), now(), &written.conditions, Some(1));
        assert_eq!(again.state, Some(LogSourceState::Receiving), "not Waiting after a restart");
        assert_eq!(figures_of(&LogSourceStatus::default()), SourceStats::default(), "nothing written yet");
    }
}
