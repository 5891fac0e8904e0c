//! The names of the metrics the SIEM exports, shared by the SIEM and the dashboards.

/// Counter `{source}`: events stored, per LogSource (`namespace/name`).
pub const EVENTS_TOTAL: &str = "makonis_siem_events_total";
/// Counter `{source}`: events stored that carry all five of Regulation 442's mandatory
/// fields.
pub const EVENTS_COMPLETE_TOTAL: &str = "makonis_siem_events_complete_total";
/// Counter `{source}`: bytes received, stored or quarantined.
pub const RECEIVED_BYTES_TOTAL: &str = "makonis_siem_received_bytes_total";
/// Counter `{source, reason}`: frames and records quarantined (`source` is `unknown` for
/// senders no LogSource claims), by the reason's category (`unknown_source`, `header`,
/// `json_syntax`, `certificate_other_namespace`, …).
pub const QUARANTINED_TOTAL: &str = "makonis_siem_quarantined_total";
/// Counter `{source}`: messages received again (a RELP or HTTPS resend) and stored once.
pub const DUPLICATES_TOTAL: &str = "makonis_siem_duplicates_total";
/// Gauge `{source}`: Unix time of the newest event stored (never later than its receipt).
pub const LAST_EVENT_TIMESTAMP_SECONDS: &str = "makonis_siem_last_event_timestamp_seconds";
/// Counter, no labels: UDP datagrams dropped because the store's queue was full.
pub const UDP_DROPPED_TOTAL: &str = "makonis_siem_udp_dropped_total";
/// Gauge, no labels: batches waiting in the queue to the store.
pub const QUEUE_BATCHES: &str = "makonis_siem_queue_batches";
/// Gauge, no labels: how many batches the queue holds at most (`--queue`).
pub const QUEUE_CAPACITY: &str = "makonis_siem_queue_capacity";
/// Histogram, no labels: how long storing one merged batch durably took, in seconds.
pub const STORE_APPEND_SECONDS: &str = "makonis_siem_store_append_seconds";
/// Counter `{category}`: failed store operations (each retried or tried again on the next
/// round), by the error's category.
pub const STORE_ERRORS_TOTAL: &str = "makonis_siem_store_errors_total";
/// Counter `{outcome}`: partitions closed with a signed checkpoint (`signed`) or refused a
/// signature because the file changed behind the SIEM (`refused`: investigate).
pub const CHECKPOINTS_TOTAL: &str = "makonis_siem_checkpoints_total";
/// Counter `{category}`: partitions removed by retention.
pub const PARTITIONS_REMOVED_TOTAL: &str = "makonis_siem_partitions_removed_total";
/// Gauge `{state}`: LogSources by state (`Waiting`, `Receiving`, `Silent`, `Refused`).
pub const SOURCES: &str = "makonis_siem_sources";

/// Counter `{route, outcome}`: questions to the search API (`route`: `search`, `report`)
/// by how they ended (`answered`, `refused`: not the portal's certificate, `invalid`: a
/// field refused, `failed`: the store could not be read).
pub const READS_TOTAL: &str = "makonis_siem_reads_total";
/// Histogram `{route}`: how long answering one question to the search API took, in seconds.
pub const READ_SECONDS: &str = "makonis_siem_read_seconds";
/// Counter `{outcome}`: partitions verified for a monthly report, `intact` or `broken`
/// (an event altered, removed or inserted, a checkpoint forged or missing: investigate).
pub const PARTITIONS_VERIFIED_TOTAL: &str = "makonis_siem_partitions_verified_total";

/// Counter, no labels: stored events evaluated by the detection rules.
pub const DETECTION_EVENTS_TOTAL: &str = "makonis_siem_detection_events_total";
/// Counter, no labels: stored events detection could not read as a record (kept in the
/// store all the same).
pub const DETECTION_UNREADABLE_TOTAL: &str = "makonis_siem_detection_unreadable_total";
/// Counter, no labels: events later than the allowed lateness, not correlated.
pub const DETECTION_TOO_LATE_TOTAL: &str = "makonis_siem_detection_too_late_total";
/// Counter `{level, kind}`: alerts raised, by level and `detection` or `correlation`.
pub const ALERTS_TOTAL: &str = "makonis_siem_alerts_total";
/// Counter, no labels: repeats of a rule and group within the suppression period, folded
/// into their open alert.
pub const ALERTS_SUPPRESSED_TOTAL: &str = "makonis_siem_alerts_suppressed_total";
/// Histogram, no labels: seconds from receiving an alert's newest event to raising it.
pub const ALERT_LATENCY_SECONDS: &str = "makonis_siem_alert_latency_seconds";
/// Gauge, no labels: seconds from receiving the event detection evaluated last to
/// evaluating it: how far detection is behind the intake (large after a start, while it
/// catches up with what was stored meanwhile).
pub const DETECTION_LAG_SECONDS: &str = "makonis_siem_detection_lag_seconds";
/// Gauge `{state}`: detection rule objects by state (`active`, `disabled`, `invalid`).
pub const DETECTION_RULES: &str = "makonis_siem_detection_rules";
/// Gauge, no labels: correlation group keys held.
pub const CORRELATION_GROUPS: &str = "makonis_siem_correlation_groups";

/// Counter `{outcome}`: batches of alerts sent to Alertmanager, `sent` or `failed` (each
/// failure retried, a batch given up after its retries `dropped`).
pub const ALERTMANAGER_BATCHES_TOTAL: &str = "makonis_siem_alertmanager_batches_total";

/// Every name above.
pub const ALL: [&str; 27] = [
    EVENTS_TOTAL,
    EVENTS_COMPLETE_TOTAL,
    RECEIVED_BYTES_TOTAL,
    QUARANTINED_TOTAL,
    DUPLICATES_TOTAL,
    LAST_EVENT_TIMESTAMP_SECONDS,
    UDP_DROPPED_TOTAL,
    QUEUE_BATCHES,
    QUEUE_CAPACITY,
    STORE_APPEND_SECONDS,
    STORE_ERRORS_TOTAL,
    CHECKPOINTS_TOTAL,
    PARTITIONS_REMOVED_TOTAL,
    SOURCES,
    READS_TOTAL,
    READ_SECONDS,
    PARTITIONS_VERIFIED_TOTAL,
    DETECTION_EVENTS_TOTAL,
    DETECTION_UNREADABLE_TOTAL,
    DETECTION_TOO_LATE_TOTAL,
    ALERTS_TOTAL,
    ALERTS_SUPPRESSED_TOTAL,
    ALERT_LATENCY_SECONDS,
    DETECTION_LAG_SECONDS,
    DETECTION_RULES,
    CORRELATION_GROUPS,
    ALERTMANAGER_BATCHES_TOTAL,
];
