//! The one event schema, with Elastic Common Schema (ECS) field names.
//!
//! Every source's records become an [`Event`]; `Event::document` (in `document.rs`) is the
//! JSON the store keeps and the hash chain covers (ECS nesting, keys in a fixed order), and
//! `event.original` is kept beside it byte for byte. [`Mandatory`] records which of the
//! five fields Cabinet Regulation No. 442 requires of a security log record the event
//! carries.

mod document;

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

/// How far event time may be from receive time before the event is flagged as skewed.
pub const DEFAULT_SKEW_LIMIT: SignedDuration = SignedDuration::from_mins(5);

/// How late an event may arrive and still be kept by its own time: a sender that was cut
/// off (rsyslog's disk queue, RELP resending after an outage) delivers days late. Far
/// below the shortest retention (6 months), so a backdated record shortens its own
/// keeping by a week at most.
pub const LATE_LIMIT: SignedDuration = SignedDuration::from_hours(7 * 24);

/// ECS `event.category`: the kind of thing that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventCategory {
    /// Sign-ins, tickets, credential checks.
    Authentication,
    /// Changes to the system's or a service's configuration.
    Configuration,
    /// Users, groups, passwords and rights (identity and access management).
    Iam,
    /// Network connections and traffic decisions.
    Network,
    /// Programs started and stopped.
    Process,
    /// Sessions opened and closed.
    Session,
    /// Requests to a web server or an API.
    Web,
    /// The host itself: boot, shutdown, time changes.
    Host,
}

impl EventCategory {
    /// The ECS value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventCategory::Authentication => "authentication",
            EventCategory::Configuration => "configuration",
            EventCategory::Iam => "iam",
            EventCategory::Network => "network",
            EventCategory::Process => "process",
            EventCategory::Session => "session",
            EventCategory::Web => "web",
            EventCategory::Host => "host",
        }
    }

    /// The category an ECS value names.
    pub fn parse(value: &str) -> Option<Self> {
        [
            EventCategory::Authentication,
            EventCategory::Configuration,
            EventCategory::Iam,
            EventCategory::Network,
            EventCategory::Process,
            EventCategory::Session,
            EventCategory::Web,
            EventCategory::Host,
        ]
        .into_iter()
        .find(|c| c.as_str() == value)
    }
}

/// ECS `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Outcome {
    /// It worked.
    Success,
    /// It was refused or failed.
    Failure,
    /// The record does not say.
    #[default]
    Unknown,
}

impl Outcome {
    /// The ECS value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }

    /// The outcome an ECS value names.
    pub fn parse(value: &str) -> Self {
        match value {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure,
            _ => Outcome::Unknown,
        }
    }
}

/// One normalised security event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// `@timestamp`: when it happened (UTC); the receive time when the record has no time.
    pub timestamp: Timestamp,
    /// `event.created`: when the SIEM received it.
    pub created: Timestamp,
    /// Whether `@timestamp` came from the record itself (Regulation 442's time).
    pub time_from_record: bool,
    /// `event.category`.
    pub category: Option<EventCategory>,
    /// `event.action`: what was done, e.g. `ssh_login`, `password-change`, `create`.
    pub action: Option<String>,
    /// `event.outcome`.
    pub outcome: Outcome,
    /// `event.code`: the source's own event number (a Windows or Samba event id).
    pub code: Option<String>,
    /// `source.ip`: where the action came from.
    pub source_ip: Option<IpAddr>,
    /// `source.port`.
    pub source_port: Option<u16>,
    /// `destination.ip`.
    pub destination_ip: Option<IpAddr>,
    /// `destination.port`.
    pub destination_port: Option<u16>,
    /// `network.transport` of the event's connection (`tcp`, `udp`), not of the delivery.
    pub network_transport: Option<String>,
    /// `network.protocol` of the event's connection (`ssh`, `ldap`, `https`).
    pub network_protocol: Option<String>,
    /// `url.path` of a web or API request.
    pub url_path: Option<String>,
    /// `user_agent.original` of a web or API request.
    pub user_agent: Option<String>,
    /// `user.name`: who did it (the initiator).
    pub user_name: Option<String>,
    /// `user.id`: the initiator's identifier (a SID), when the record names no user.
    pub user_id: Option<String>,
    /// `user.domain`.
    pub user_domain: Option<String>,
    /// `user.target.name`: whom it was done to, when that is someone else.
    pub target_user: Option<String>,
    /// `host.name`: the system that wrote the record.
    pub host_name: Option<String>,
    /// `process.name`.
    pub process_name: Option<String>,
    /// `process.pid`.
    pub process_pid: Option<u32>,
    /// `log.syslog.severity.code`.
    pub severity: Option<u8>,
    /// `message`: the description, as text.
    pub message: String,
    /// `event.original`: the record as received, byte for byte.
    pub original: Vec<u8>,
    /// `makonis.agency`: the agency whose LogSource claimed it (none for the platform's).
    pub agency: Option<String>,
    /// `makonis.source`: the LogSource (`namespace/name`), or `unknown` for quarantine.
    pub source: String,
}

impl Event {
    /// Which of Regulation 442's mandatory fields this event carries.
    pub fn mandatory(&self) -> Mandatory {
        Mandatory::of(self)
    }

    /// The time the event is stored, searched and kept by: its own time when it is at
    /// most `limit` ahead of the receive time and at most [`LATE_LIMIT`] behind it,
    /// otherwise the receive time. A sender cannot date its records months back to have
    /// them fall into a partition that retention removes tomorrow, nor years ahead to keep
    /// them forever; `@timestamp` still says what the record said.
    pub fn retention_time(&self, limit: SignedDuration) -> Timestamp {
        let skew = self.timestamp.duration_since(self.created);
        if skew <= limit.abs() && skew >= -LATE_LIMIT { self.timestamp } else { self.created }
    }

    /// Event time minus receive time, when it is beyond `limit` either way.
    pub fn clock_skew(&self, limit: SignedDuration) -> Option<SignedDuration> {
        let skew = self.timestamp.duration_since(self.created);
        (self.time_from_record && skew.unsigned_abs() > limit.unsigned_abs()).then_some(skew)
    }
}

/// Regulation 442's five mandatory fields of a security log record, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mandatory(u8);

impl Mandatory {
    /// The record's own time (not the receive time).
    pub const TIME: u8 = 1;
    /// The address the action came from (`source.ip`).
    pub const SOURCE_IP: u8 = 2;
    /// Who did it (`user.name`, or `user.id` when the record has only an identifier).
    pub const INITIATOR: u8 = 4;
    /// What happened: an `event.action` or a non-empty `message`.
    pub const DESCRIPTION: u8 = 8;
    /// The connection: a port, the other end, a transport or protocol, or the request's
    /// URL or client.
    pub const CONNECTION: u8 = 16;
    const ALL: [(u8, &'static str); 5] = [
        (Self::TIME, "time"),
        (Self::SOURCE_IP, "source_ip"),
        (Self::INITIATOR, "initiator"),
        (Self::DESCRIPTION, "description"),
        (Self::CONNECTION, "connection"),
    ];

    /// The fields an event carries.
    pub fn of(event: &Event) -> Self {
        let mut bits = 0;
        let mut set = |bit: u8, present: bool| {
            if present {
                bits |= bit;
            }
        };
        set(Self::TIME, event.time_from_record);
        set(Self::SOURCE_IP, event.source_ip.is_some());
        set(
            Self::INITIATOR,
            [&event.user_name, &event.user_id].into_iter().any(|u| u.as_deref().is_some_and(|u| !u.is_empty())),
        );
        set(Self::DESCRIPTION, event.action.is_some() || !event.message.trim().is_empty());
        set(
            Self::CONNECTION,
            event.source_port.is_some()
                || event.destination_ip.is_some()
                || event.destination_port.is_some()
                || event.network_transport.is_some()
                || event.network_protocol.is_some()
                || event.url_path.is_some()
                || event.user_agent.is_some(),
        );
        Mandatory(bits)
    }

    /// The bits, as stored.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether all five are there.
    pub fn complete(self) -> bool {
        self.0 == 31
    }

    /// The names of the fields present.
    pub fn present(self) -> Vec<&'static str> {
        Self::ALL.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, name)| *name).collect()
    }

    /// The names of the fields missing.
    pub fn missing(self) -> Vec<&'static str> {
        Self::ALL.iter().filter(|(bit, _)| self.0 & bit == 0).map(|(_, name)| *name).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn sign_in() -> Event {
        Event {
            timestamp: "2026-12-06T08:20:30Z".parse().unwrap(),
            created: "2026-12-06T08:20:31Z".parse().unwrap(),
            time_from_record: true,
            category: Some(EventCategory::Authentication),
            action: Some("ssh_login".into()),
            outcome: Outcome::Failure,
            source_ip: Some("10.1.2.3".parse().unwrap()),
            source_port: Some(52100),
            network_protocol: Some("ssh".into()),
            user_name: Some("jānis".into()),
            host_name: Some("web1".into()),
            process_name: Some("sshd".into()),
            process_pid: Some(812),
            message: "Failed password for jānis from 10.1.2.3 port 52100 ssh2".into(),
            original: b"<38>Dec  6 10:20:30 web1 sshd[812]: Failed password".to_vec(),
            agency: Some("lm".into()),
            source: "agency-lm/web".into(),
            ..Event::default()
        }
    }

    #[test]
    fn a_full_sign_in_carries_all_five_fields() {
        let event = sign_in();
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.timestamp, "kept by its own time");
        assert!(event.mandatory().complete());
        assert!(event.mandatory().missing().is_empty());
    }

    #[test]
    fn each_missing_field_is_named() {
        let mut event = sign_in();
        event.time_from_record = false;
        event.source_ip = None;
        event.user_name = Some(String::new());
        event.action = None;
        event.message = "  ".into();
        event.source_port = None;
        event.network_protocol = None;
        assert_eq!(event.mandatory().missing(), ["time", "source_ip", "initiator", "description", "connection"]);
        assert_eq!(event.mandatory().bits(), 0);
    }

    #[test]
    fn the_document_uses_ecs_names_and_is_stable() {
        let doc: Value = serde_json::from_str(&sign_in().document(DEFAULT_SKEW_LIMIT)).unwrap();
        assert_eq!(doc["@timestamp"], "2026-12-06T08:20:30Z");
        assert_eq!(doc["event"]["category"], json!(["authentication"]));
        assert_eq!(doc["event"]["outcome"], "failure");
        assert_eq!(doc["source"]["ip"], "10.1.2.3");
        assert_eq!(doc["source"]["port"], 52100);
        assert_eq!(doc["user"]["name"], "jānis");
        assert_eq!(doc["process"]["pid"], 812);
        assert_eq!(doc["makonis"]["mandatory"].as_array().unwrap().len(), 5);
        assert!(doc["makonis"].get("missing").is_none());
        assert!(doc.get("destination").is_none(), "absent fields are left out");
        assert_eq!(sign_in().document(DEFAULT_SKEW_LIMIT), sign_in().document(DEFAULT_SKEW_LIMIT));
    }

    #[test]
    fn an_event_is_kept_by_receive_time_when_dated_too_far_back_or_ahead() {
        let mut event = sign_in();
        event.timestamp = event.created - LATE_LIMIT;
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.timestamp, "a week late: its own time");
        event.timestamp = event.created - LATE_LIMIT - SignedDuration::from_secs(1);
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.created, "backdated beyond a week");
        event.timestamp = event.created + DEFAULT_SKEW_LIMIT;
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.timestamp);
        event.timestamp = event.created + DEFAULT_SKEW_LIMIT + SignedDuration::from_secs(1);
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.created, "dated ahead");
    }

    #[test]
    fn clock_skew_is_flagged_beyond_the_limit_only() {
        let mut event = sign_in();
        assert_eq!(event.clock_skew(DEFAULT_SKEW_LIMIT), None);
        event.timestamp = "2026-12-06T07:00:00Z".parse().unwrap();
        assert_eq!(event.clock_skew(DEFAULT_SKEW_LIMIT), Some(SignedDuration::from_secs(-4831)));
        let doc: Value = serde_json::from_str(&event.document(DEFAULT_SKEW_LIMIT)).unwrap();
        assert_eq!(doc["makonis"]["clock_skew_seconds"], -4831);
        assert_eq!(event.retention_time(DEFAULT_SKEW_LIMIT), event.timestamp, "a late event is kept by its own time");
        event.time_from_record = false;
        assert_eq!(event.clock_skew(DEFAULT_SKEW_LIMIT), None, "receive time is never skewed");
    }
}
