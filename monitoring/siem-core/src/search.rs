//! Searching the store and its monthly report, as the SIEM's search API takes and answers
//! them: the questions' limits, the order of results and the cursor of the next page,
//! free of the store's IO so that the portal and the SIEM share one definition.
//!
//! Results come newest first, ordered by event time, then partition, then place in the
//! partition's chain; a [`Cursor`] names the last result shown, and the next page starts
//! strictly after it, so a page never repeats or skips an event while new ones arrive.

use std::{fmt, net::IpAddr, str::FromStr};

use jiff::{SignedDuration, Timestamp, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{
    block::{BlockEvent, TermKind, term},
    event::Outcome,
    retention::SourceCategory,
    silence::{Silence, Watched},
};

/// The results of one page at most.
pub const MAX_PAGE: usize = 500;

/// The longest free text searched for, in characters.
pub const MAX_TEXT: usize = 200;

/// The longest time range one search may span.
pub const MAX_RANGE: SignedDuration = SignedDuration::from_hours(93 * 24);

/// A search of the stored events, as the portal sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// From this event time on (RFC 3339).
    pub from: String,
    /// Before this event time (RFC 3339).
    pub to: String,
    /// The agencies whose events may be seen; none: every event, the platform's too.
    #[serde(default)]
    pub agencies: Option<Vec<String>>,
    /// One LogSource (`namespace/name`).
    #[serde(default)]
    pub source: Option<String>,
    /// `user.name`, exactly.
    #[serde(default)]
    pub user: Option<String>,
    /// `source.ip`.
    #[serde(default)]
    pub ip: Option<String>,
    /// `event.action`, exactly.
    #[serde(default)]
    pub action: Option<String>,
    /// `event.outcome`: `success`, `failure` or `unknown`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Text the original record contains, byte for byte (case-sensitive).
    #[serde(default)]
    pub text: Option<String>,
    /// Results per page (at most [`MAX_PAGE`]).
    pub limit: usize,
    /// Where the previous page ended ([`Cursor`] as text).
    #[serde(default)]
    pub after: Option<String>,
}

/// A search, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// From this event time on.
    pub from: Timestamp,
    /// Before this event time.
    pub to: Timestamp,
    /// The agencies whose events may be seen; none: all.
    pub agencies: Option<Vec<String>>,
    /// One LogSource.
    pub source: Option<String>,
    /// One user.
    pub user: Option<String>,
    /// One address, in its canonical text.
    pub ip: Option<String>,
    /// One action.
    pub action: Option<String>,
    /// One outcome.
    pub outcome: Option<Outcome>,
    /// Text the original contains.
    pub text: Option<String>,
    /// Results per page.
    pub limit: usize,
    /// Strictly after this result.
    pub after: Option<Cursor>,
}

/// Why a search was refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// A time is not RFC 3339.
    #[error("{field}: {value:?} is not a time such as 2026-12-06T10:00:00Z")]
    Time {
        /// `from` or `to`.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// `to` is not after `from`, or the range is too long.
    #[error("to must be after from, at most {} days later", MAX_RANGE.as_hours() / 24)]
    Range,
    /// Not an IP address.
    #[error("ip: {0:?} is not an IPv4 or IPv6 address")]
    Ip(String),
    /// Not an outcome.
    #[error("outcome: {0:?} is none of success, failure, unknown")]
    Outcome(String),
    /// Text too long.
    #[error("text: at most {MAX_TEXT} characters")]
    Text,
    /// Not a month.
    #[error("month: {0:?} is not a month such as 2026-12")]
    Month(String),
    /// Too many LogSources to look for silences of.
    #[error("sources: at most {MAX_WATCHED}")]
    Sources,
    /// Page size out of range.
    #[error("limit: between 1 and {MAX_PAGE}")]
    Limit,
    /// A cursor that no page handed out.
    #[error("after: {0:?} is not a cursor from a previous page")]
    Cursor(String),
}

impl SearchRequest {
    /// Checks the request; empty filters mean none.
    pub fn check(&self) -> Result<Search, SearchError> {
        let time = |field, value: &str| {
            value.parse::<Timestamp>().map_err(|_| SearchError::Time { field, value: value.to_owned() })
        };
        let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
        if to <= from || to.duration_since(from) > MAX_RANGE {
            return Err(SearchError::Range);
        }
        let given =
            |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let ip = match given(&self.ip) {
            Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| SearchError::Ip(ip.clone()))?.to_string()),
            None => None,
        };
        let outcome = match given(&self.outcome) {
            Some(value) => match Outcome::parse(&value) {
                Outcome::Unknown if value != "unknown" => return Err(SearchError::Outcome(value)),
                outcome => Some(outcome),
            },
            None => None,
        };
        let text = given(&self.text);
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(SearchError::Text);
        }
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(SearchError::Limit);
        }
        let after = match given(&self.after) {
            Some(token) => Some(token.parse::<Cursor>().map_err(|_| SearchError::Cursor(token.clone()))?),
            None => None,
        };
        Ok(Search {
            from,
            to,
            agencies: self.agencies.clone(),
            source: given(&self.source),
            user: given(&self.user),
            ip,
            action: given(&self.action),
            outcome,
            text,
            limit: self.limit,
            after,
        })
    }
}

/// A result's place in the order of results: event time, partition, place in its chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Event time, microseconds since the epoch.
    pub time: i64,
    /// The partition, `YYYY-MM-DD/category`.
    pub partition: String,
    /// The place in the partition's chain.
    pub seq: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.time, self.partition, self.seq)
    }
}

impl FromStr for Cursor {
    type Err = ();

    fn from_str(token: &str) -> Result<Self, ()> {
        let mut parts = token.splitn(3, '_');
        let time = parts.next().ok_or(())?.parse().map_err(|_| ())?;
        let partition = parts.next().ok_or(())?;
        let seq = parts.next().ok_or(())?.parse().map_err(|_| ())?;
        let (day, category) = partition.split_once('/').ok_or(())?;
        day.parse::<Date>().map_err(|_| ())?;
        SourceCategory::parse(category).ok_or(())?;
        Ok(Self { time, partition: partition.to_owned(), seq })
    }
}

/// Which of a partition's events come after a cursor in the newest-first order: its
/// partition's name decides whether events at the cursor's time are before or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// `time <= cursor.time` (the partition sorts before the cursor's).
    AtOrBefore,
    /// `time < cursor.time` (the partition sorts after the cursor's).
    Before,
    /// `time < cursor.time`, or the same time and `seq < cursor.seq` (the cursor's own).
    EarlierPlace,
}

/// How `partition`'s events must compare with `cursor` to come after it.
pub fn after_cursor(partition: &str, cursor: &Cursor) -> After {
    match partition.cmp(cursor.partition.as_str()) {
        std::cmp::Ordering::Less => After::AtOrBefore,
        std::cmp::Ordering::Equal => After::EarlierPlace,
        std::cmp::Ordering::Greater => After::Before,
    }
}

/// The terms a block must have for a search to select any of its events: every one of
/// `all`, and one of `any` when it is given (an empty `any`: no block at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTerms {
    /// Terms the block must have, each.
    pub all: Vec<String>,
    /// Terms the block must have one of.
    pub any: Option<Vec<String>>,
}

impl Search {
    /// The terms the blocks this search may select have.
    pub fn block_terms(&self) -> BlockTerms {
        let all = [(TermKind::Source, &self.source), (TermKind::User, &self.user), (TermKind::Ip, &self.ip)]
            .into_iter()
            .filter_map(|(kind, value)| value.as_deref().map(|value| term(kind, value)))
            .collect();
        let any = self.agencies.as_ref().map(|agencies| agencies.iter().map(|a| term(TermKind::Agency, a)).collect());
        BlockTerms { all, any }
    }

    /// Whether the search selects `event` of `partition`: the time range, the agencies,
    /// the fields, the outcome, the original's bytes containing the text (case-sensitive,
    /// nothing a wildcard), and a place after the cursor.
    pub fn selects(&self, partition: &str, event: &BlockEvent) -> bool {
        let equal = |wanted: &Option<String>, value: &Option<String>| {
            wanted.as_ref().is_none_or(|wanted| value.as_ref() == Some(wanted))
        };
        let time = event.time;
        time >= self.from.as_microsecond()
            && time < self.to.as_microsecond()
            && self
                .agencies
                .as_ref()
                .is_none_or(|agencies| event.agency.as_ref().is_some_and(|agency| agencies.contains(agency)))
            && self.source.as_ref().is_none_or(|source| *source == event.source)
            && equal(&self.user, &event.user)
            && equal(&self.ip, &event.ip)
            && equal(&self.action, &event.action)
            && self.outcome.is_none_or(|outcome| outcome == event.outcome)
            && self.text.as_ref().is_none_or(|text| memchr::memmem::find(&event.original, text.as_bytes()).is_some())
            && self.after.as_ref().is_none_or(|cursor| match after_cursor(partition, cursor) {
                After::AtOrBefore => time <= cursor.time,
                After::Before => time < cursor.time,
                After::EarlierPlace => time < cursor.time || (time == cursor.time && (event.seq as i64) < cursor.seq),
            })
    }
}

/// One stored event found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// Where it is in the order of results; the next page's `after` for the last one.
    pub cursor: String,
    /// Event time (RFC 3339, UTC).
    pub time: String,
    /// The partition.
    pub partition: String,
    /// Its place in the partition's chain.
    pub seq: i64,
    /// The LogSource.
    pub source: String,
    /// The agency, none for the platform's.
    pub agency: Option<String>,
    /// `user.name`.
    pub user: Option<String>,
    /// `source.ip`.
    pub ip: Option<String>,
    /// `event.action`.
    pub action: Option<String>,
    /// `event.outcome`.
    pub outcome: String,
    /// The stored ECS document.
    pub document: String,
    /// The record as received (bytes that are not UTF-8 replaced).
    pub original: String,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Newest first.
    pub hits: Vec<Hit>,
    /// The cursor of the next page, if there are more.
    pub next: Option<String>,
}

/// Orders results newest first and cuts a page: `limit` hits and, when more were found,
/// the cursor of the last one shown.
pub fn page_of(mut hits: Vec<(Cursor, Hit)>, limit: usize) -> Page {
    hits.sort_by(|a, b| b.0.cmp(&a.0));
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = more.then(|| hits.last().map(|(cursor, _)| cursor.to_string())).flatten();
    Page { hits: hits.into_iter().map(|(_, hit)| hit).collect(), next }
}

/// A monthly security-log report, as the portal asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// `YYYY-MM`.
    pub month: String,
    /// One agency; none: the whole platform.
    #[serde(default)]
    pub agency: Option<String>,
    /// The LogSources whose silences the report lists (at most [`MAX_WATCHED`]).
    #[serde(default)]
    pub sources: Vec<Watched>,
}

/// The most LogSources one report looks for silences of.
pub const MAX_WATCHED: usize = 2_000;

impl ReportRequest {
    /// The month's first day and the next month's, or why the request is refused.
    pub fn days(&self) -> Result<(Date, Date), SearchError> {
        if self.sources.len() > MAX_WATCHED {
            return Err(SearchError::Sources);
        }
        let bad = || SearchError::Month(self.month.clone());
        let first: Date = format!("{}-01", self.month).parse().map_err(|_| bad())?;
        if self.month.len() != 7 {
            return Err(bad());
        }
        let next = first.checked_add(jiff::Span::new().months(1)).map_err(|_| bad())?;
        Ok((first, next))
    }
}

/// Events of one LogSource category with one outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The LogSource category.
    pub category: String,
    /// `event.outcome`.
    pub outcome: String,
    /// How many.
    pub events: u64,
}

/// Failed sign-ins of one user from one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSignIns {
    /// `user.name` (empty when the record names none).
    pub user: String,
    /// `source.ip` (empty when the record names none).
    pub ip: String,
    /// How many.
    pub events: u64,
}

/// A partition removed by retention in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedPartition {
    /// The partition.
    pub partition: String,
    /// When (RFC 3339).
    pub removed_at: String,
    /// Its events.
    pub events: u64,
    /// The policy that decided.
    pub policy: String,
    /// The months it kept.
    pub months: u8,
}

/// The verification of one of the month's partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedPartition {
    /// The partition.
    pub partition: String,
    /// Its events.
    pub events: u64,
    /// Signed checkpoints.
    pub checkpoints: usize,
    /// The problems found, in words; none: intact.
    pub problems: Vec<String>,
}

/// The monthly report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `YYYY-MM`.
    pub month: String,
    /// The agency, none for the whole platform.
    pub agency: Option<String>,
    /// Events by LogSource category and outcome.
    pub by_category: Vec<CategoryCount>,
    /// Failed sign-ins (authentication events that failed) by user and address, most first.
    pub failed_sign_ins: Vec<FailedSignIns>,
    /// Partitions removed by retention during the month.
    pub removed: Vec<RemovedPartition>,
    /// The month's partitions, verified when the report was made.
    pub verified: Vec<VerifiedPartition>,
    /// When watched LogSources sent nothing for longer than their silence, by source then
    /// time.
    #[serde(default)]
    pub silences: Vec<Silence>,
}

/// The most rows of failed sign-ins a report lists.
pub const MAX_FAILED_ROWS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SearchRequest {
        SearchRequest {
            from: "2026-12-01T00:00:00Z".into(),
            to: "2026-12-02T00:00:00Z".into(),
            agencies: Some(vec!["vdi".into()]),
            source: Some(" ".into()),
            user: Some("anna".into()),
            ip: Some("::ffff:10.0.0.1".into()),
            action: None,
            outcome: Some("failure".into()),
            text: Some("50%_off".into()),
            limit: 100,
            after: None,
        }
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let search = request().check().unwrap();
        assert_eq!(search.source, None, "blank means no filter");
        assert_eq!(search.ip.as_deref(), Some("::ffff:10.0.0.1"));
        assert_eq!(search.outcome, Some(Outcome::Failure));
        let refused = |change: fn(&mut SearchRequest)| {
            let mut request = request();
            change(&mut request);
            request.check().unwrap_err().to_string()
        };
        assert!(refused(|r| r.from = "yesterday".into()).starts_with("from:"));
        assert!(refused(|r| r.to = r.from.clone()).starts_with("to must be after from"));
        assert!(refused(|r| r.to = "2027-06-01T00:00:00Z".into()).contains("at most 93 days"));
        assert!(refused(|r| r.ip = Some("10.0.0.300".into())).starts_with("ip:"));
        assert!(refused(|r| r.outcome = Some("maybe".into())).starts_with("outcome:"));
        assert!(refused(|r| r.text = Some("x".repeat(201))).starts_with("text:"));
        assert!(refused(|r| r.limit = 0).starts_with("limit:"));
        assert!(refused(|r| r.limit = MAX_PAGE + 1).starts_with("limit:"));
        assert!(refused(|r| r.after = Some("1_../../etc_2".into())).starts_with("after:"));
    }

    #[test]
    fn a_cursor_reads_back_and_refuses_what_no_page_handed_out() {
        let cursor = Cursor { time: 1_764_979_200_000_000, partition: "2026-12-06/authentication".into(), seq: 42 };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        for bad in [
            "",
            "1_2026-12-06/authentication",
            "x_2026-12-06/authentication_1",
            "1_2026-13-06/authentication_1",
            "1_2026-12-06/secrets_1",
            "1_2026-12-06_1",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn after_a_cursor_equal_times_are_ordered_by_partition_then_place() {
        let cursor = Cursor { time: 10, partition: "2026-12-06/directory".into(), seq: 5 };
        assert_eq!(after_cursor("2026-12-06/authentication", &cursor), After::AtOrBefore);
        assert_eq!(after_cursor("2026-12-06/directory", &cursor), After::EarlierPlace);
        assert_eq!(after_cursor("2026-12-06/system", &cursor), After::Before);
    }

    fn stored(seq: u64, time: i64, agency: Option<&str>, original: &str) -> BlockEvent {
        BlockEvent {
            seq,
            time,
            created: time,
            source: "agency-vdi/dc".into(),
            agency: agency.map(str::to_owned),
            user: Some("anna".into()),
            ip: Some("::ffff:10.0.0.1".into()),
            action: Some("logon".into()),
            outcome: Outcome::Failure,
            category: Some("authentication".into()),
            document: "{}".into(),
            original: original.as_bytes().to_vec(),
            hash: [0; 32],
        }
    }

    #[test]
    fn a_search_selects_by_every_filter_and_its_text_literally() {
        let search = request().check().unwrap();
        let from = search.from.as_microsecond();
        let partition = "2026-12-01/authentication";
        assert!(search.selects(partition, &stored(1, from, Some("vdi"), "sale: 50%_off today")));
        for (why, event) in [
            ("before the range", stored(1, from - 1, Some("vdi"), "50%_off")),
            ("at its end", stored(1, search.to.as_microsecond(), Some("vdi"), "50%_off")),
            ("another agency", stored(1, from, Some("lm"), "50%_off")),
            ("the platform's", stored(1, from, None, "50%_off")),
            ("% and _ are no wildcards", stored(1, from, Some("vdi"), "50% off")),
            ("the text is case-sensitive", stored(1, from, Some("vdi"), "50%_OFF")),
        ] {
            assert!(!search.selects(partition, &event), "{why}");
        }
        let mut other = stored(1, from, Some("vdi"), "50%_off");
        other.user = Some("janis".into());
        assert!(!search.selects(partition, &other), "another user");
        let mut other = stored(1, from, Some("vdi"), "50%_off");
        other.outcome = Outcome::Success;
        assert!(!search.selects(partition, &other), "another outcome");
    }

    #[test]
    fn after_a_cursor_a_search_selects_what_comes_later_in_its_order() {
        let mut search = request().check().unwrap();
        search.text = None;
        let t = search.from.as_microsecond() + 10;
        search.after = Some(Cursor { time: t, partition: "2026-12-01/directory".into(), seq: 5 });
        let event = |seq, time| stored(seq, time, Some("vdi"), "");
        assert!(search.selects("2026-12-01/directory", &event(4, t)));
        assert!(!search.selects("2026-12-01/directory", &event(5, t)));
        assert!(search.selects("2026-12-01/authentication", &event(9, t)));
        assert!(!search.selects("2026-12-01/system", &event(1, t)));
        assert!(search.selects("2026-12-01/system", &event(1, t - 1)));
    }

    #[test]
    fn a_search_names_the_terms_its_blocks_must_have() {
        let search = request().check().unwrap();
        let terms = search.block_terms();
        assert_eq!(terms.all, ["u:anna", "i:::ffff:10.0.0.1"]);
        assert_eq!(terms.any, Some(vec!["a:vdi".to_owned()]));
        let everything = Search { agencies: None, user: None, ip: None, ..search };
        assert_eq!(everything.block_terms(), BlockTerms { all: vec![], any: None });
    }

    fn hit(time: i64, partition: &str, seq: i64) -> (Cursor, Hit) {
        let cursor = Cursor { time, partition: partition.into(), seq };
        let hit = Hit {
            cursor: cursor.to_string(),
            time: String::new(),
            partition: partition.into(),
            seq,
            source: "s".into(),
            agency: None,
            user: None,
            ip: None,
            action: None,
            outcome: "unknown".into(),
            document: String::new(),
            original: String::new(),
        };
        (cursor, hit)
    }

    #[test]
    fn a_page_is_newest_first_and_names_where_the_next_starts() {
        let found = vec![
            hit(1, "2026-12-06/system", 1),
            hit(3, "2026-12-06/authentication", 7),
            hit(3, "2026-12-06/system", 2),
            hit(2, "2026-12-06/authentication", 6),
        ];
        let page = page_of(found.clone(), 3);
        let order: Vec<_> = page.hits.iter().map(|h| (h.partition.as_str(), h.seq)).collect();
        assert_eq!(
            order,
            [("2026-12-06/system", 2), ("2026-12-06/authentication", 7), ("2026-12-06/authentication", 6)]
        );
        assert_eq!(page.next.as_deref(), Some("2_2026-12-06/authentication_6"));
        assert_eq!(page_of(found, 4).next, None, "everything shown: no next page");
    }

    #[test]
    fn a_month_is_its_days() {
        let days = |month: &str| ReportRequest { month: month.into(), agency: None, sources: vec![] }.days();
        assert_eq!(days("2026-12").unwrap(), (jiff::civil::date(2026, 12, 1), jiff::civil::date(2027, 1, 1)));
        assert!(days("2026-13").is_err());
        assert!(days("2026-12-01").is_err());
    }
}
