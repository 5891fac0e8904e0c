//! Which partitions may be removed: retention by event time, per category, under holds.
//!
//! The store is partitioned by event day (UTC) and LogSource category, so a partition is
//! removed whole, and only when every event in it (the newest possibly a nanosecond
//! before the day's end) is older than its category's months and no legal hold covers
//! it. With several RetentionPolicies, each category keeps the longest of their months
//! and every hold counts; a category no policy names is kept. Months are calendar months
//! in UTC, clamped to the month's last day (31 March plus 6 months is 30 September).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{Span, Timestamp, civil::Date, tz::TimeZone};

/// A LogSource's category, which decides how long its events are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceCategory {
    /// Sign-ins and credential checks.
    Authentication,
    /// Directory changes: users, groups, passwords.
    Directory,
    /// The platform's own audit: the API server, the portal.
    PlatformAudit,
    /// Operating systems and their services.
    System,
    /// Firewalls, routers, VPNs.
    Network,
    /// Applications of the catalog.
    Application,
}

impl SourceCategory {
    /// Every category.
    pub const ALL: [SourceCategory; 6] = [
        SourceCategory::Authentication,
        SourceCategory::Directory,
        SourceCategory::PlatformAudit,
        SourceCategory::System,
        SourceCategory::Network,
        SourceCategory::Application,
    ];

    /// The name in the API and in partition names.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceCategory::Authentication => "authentication",
            SourceCategory::Directory => "directory",
            SourceCategory::PlatformAudit => "platform-audit",
            SourceCategory::System => "system",
            SourceCategory::Network => "network",
            SourceCategory::Application => "application",
        }
    }

    /// The category a name denotes.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How long a category is kept: 6 to 18 months, as Regulation No. 442 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Months(u8);

/// Why a retention setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// Months outside 6–18.
    #[error("{0} months is outside the 6 to 18 months Regulation No. 442 requires")]
    Months(i64),
    /// A legal hold that ends before it starts.
    #[error("legal hold {0:?} ends before it starts")]
    HoldRange(String),
}

impl Months {
    /// The fewest months a category may be kept.
    pub const MIN: u8 = 6;
    /// The most months a category may be kept.
    pub const MAX: u8 = 18;

    /// Months, if within 6–18.
    pub fn new(months: i64) -> Result<Self, RetentionError> {
        u8::try_from(months)
            .ok()
            .filter(|m| (Self::MIN..=Self::MAX).contains(m))
            .map(Months)
            .ok_or(RetentionError::Months(months))
    }

    /// The number of months.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A legal hold: events in a time range, of some sources or an agency (or all), are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Its name (the policy's and the hold's), for the record of what stopped a removal.
    pub name: String,
    /// Start of the held range (inclusive).
    pub from: Timestamp,
    /// End of the held range (exclusive).
    pub to: Timestamp,
    /// LogSources held (`namespace/name`); with no agency either, every source.
    pub sources: BTreeSet<String>,
    /// An agency whose every source is held.
    pub agency: Option<String>,
}

impl Hold {
    /// A hold, refused when it ends before it starts.
    pub fn new(
        name: String,
        from: Timestamp,
        to: Timestamp,
        sources: BTreeSet<String>,
        agency: Option<String>,
    ) -> Result<Self, RetentionError> {
        if to < from {
            return Err(RetentionError::HoldRange(name));
        }
        Ok(Self { name, from, to, sources, agency })
    }

    fn covers(&self, partition: &Partition) -> bool {
        let (start, end) = partition.span();
        let overlaps = self.from < end && start < self.to;
        let everything = self.sources.is_empty() && self.agency.is_none();
        overlaps
            && (everything
                || !self.sources.is_disjoint(&partition.sources)
                || self.agency.as_ref().is_some_and(|a| partition.agencies.contains(a)))
    }
}

/// One RetentionPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// Months per category.
    pub months: BTreeMap<SourceCategory, Months>,
    /// Its legal holds.
    pub holds: Vec<Hold>,
}

/// One partition of the store: an event day (UTC) of one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The event day, UTC.
    pub day: Date,
    /// The category.
    pub category: SourceCategory,
    /// The LogSources with events in it.
    pub sources: BTreeSet<String>,
    /// The agencies with events in it.
    pub agencies: BTreeSet<String>,
}

impl Partition {
    /// Its name: `YYYY-MM-DD/category`.
    pub fn name(&self) -> String {
        partition_name(self.day, self.category)
    }

    /// The half-open time span its events can have.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        let start = self.day.to_zoned_datetime(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN);
        let end = self
            .day
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned_datetime(TimeZone::UTC).ok())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX);
        (start, end)
    }
}

/// The name of the partition of a day and category: `YYYY-MM-DD/category`.
pub fn partition_name(day: Date, category: SourceCategory) -> String {
    format!("{day}/{}", category.as_str())
}

/// What to do with a partition now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Remove it: every event is older than the category's months and nothing holds it.
    Remove {
        /// The policy whose months decided.
        policy: String,
        /// The months kept.
        months: u8,
    },
    /// Keep it until then (its newest possible event is young enough).
    Young {
        /// When it becomes removable.
        until: Timestamp,
    },
    /// Keep it: a legal hold covers it.
    Held {
        /// The hold.
        hold: String,
    },
    /// Keep it: no policy names its category.
    NoPolicy,
}

/// Decides one partition under every policy.
pub fn decide(partition: &Partition, policies: &[Policy], now: Timestamp) -> Decision {
    let longest =
        policies.iter().filter_map(|p| p.months.get(&partition.category).map(|m| (p, *m))).max_by_key(|(_, m)| *m);
    let Some((policy, months)) = longest else {
        return Decision::NoPolicy;
    };
    if let Some(hold) = policies.iter().flat_map(|p| &p.holds).find(|h| h.covers(partition)) {
        return Decision::Held { hold: hold.name.clone() };
    }
    let (_, end) = partition.span();
    let until = end
        .to_zoned_datetime(TimeZone::UTC)
        .checked_add(Span::new().months(i64::from(months.get())))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX);
    if now >= until {
        Decision::Remove { policy: policy.name.clone(), months: months.get() }
    } else {
        Decision::Young { until }
    }
}

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};

    use super::*;

    fn now() -> Timestamp {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    fn months_back(months: i64) -> Date {
        now().to_zoned_datetime(TimeZone::UTC).checked_sub(months.months()).unwrap().date()
    }

    fn partition(day: Date, category: SourceCategory) -> Partition {
        Partition {
            day,
            category,
            sources: BTreeSet::from(["agency-lm/dc".to_owned()]),
            agencies: BTreeSet::from(["lm".to_owned()]),
        }
    }

    fn policy(name: &str, months: i64, holds: Vec<Hold>) -> Policy {
        Policy {
            name: name.into(),
            months: SourceCategory::ALL.into_iter().map(|c| (c, Months::new(months).unwrap())).collect(),
            holds,
        }
    }

    fn removed(days: &[Date], policies: &[Policy]) -> Vec<Date> {
        days.iter()
            .copied()
            .filter(|d| {
                matches!(
                    decide(&partition(*d, SourceCategory::Authentication), policies, now()),
                    Decision::Remove { .. }
                )
            })
            .collect()
    }

    #[test]
    fn months_outside_six_to_eighteen_are_refused() {
        assert_eq!(Months::new(5), Err(RetentionError::Months(5)));
        assert_eq!(
            Months::new(19).unwrap_err().to_string(),
            "19 months is outside the 6 to 18 months Regulation No. 442 requires"
        );
        assert_eq!(Months::new(-1), Err(RetentionError::Months(-1)));
        assert_eq!(Months::new(6).unwrap().get(), 6);
        assert_eq!(Months::new(18).unwrap().get(), 18);
    }

    #[test]
    fn events_5_7_13_and_19_months_back_under_a_policy_a_hold_and_a_change() {
        let days = [months_back(5), months_back(7), months_back(13), months_back(19)];
        assert_eq!(removed(&days, &[policy("default", 12, vec![])]), [days[2], days[3]]);
        assert_eq!(removed(&days, &[policy("default", 6, vec![])]), [days[1], days[2], days[3]]);
        let hold = Hold::new(
            "default/case-2026-17".into(),
            "2025-09-01T00:00:00Z".parse().unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
            BTreeSet::new(),
            Some("lm".into()),
        )
        .unwrap();
        assert_eq!(removed(&days, &[policy("default", 12, vec![hold])]), [days[3]], "the hold keeps 13 months back");
        assert_eq!(removed(&days, &[policy("default", 18, vec![])]), [days[3]], "a longer policy keeps more");
        assert_eq!(
            removed(&days, &[policy("short", 6, vec![]), policy("long", 18, vec![])]),
            [days[3]],
            "the longest policy wins"
        );
    }

    #[test]
    fn a_partition_waits_for_its_newest_possible_event() {
        let day = date(2026, 6, 5);
        let p = partition(day, SourceCategory::System);
        let policies = [policy("default", 6, vec![])];
        assert_eq!(
            decide(&p, &policies, "2026-12-05T23:59:59Z".parse().unwrap()),
            Decision::Young { until: "2026-12-06T00:00:00Z".parse().unwrap() }
        );
        assert_eq!(
            decide(&p, &policies, "2026-12-06T00:00:00Z".parse().unwrap()),
            Decision::Remove { policy: "default".into(), months: 6 }
        );
    }

    #[test]
    fn holds_match_by_source_or_agency_and_only_in_their_range() {
        let p = partition(months_back(19), SourceCategory::Directory);
        let (start, end) = p.span();
        let hold = |sources: &[&str], agency: Option<&str>, from: Timestamp, to: Timestamp| {
            Hold::new("h".into(), from, to, sources.iter().map(|s| (*s).to_owned()).collect(), agency.map(Into::into))
                .unwrap()
        };
        let policies = |h: Hold| [policy("p", 6, vec![h])];
        let held = |h: Hold| matches!(decide(&p, &policies(h), now()), Decision::Held { .. });
        assert!(held(hold(&["agency-lm/dc"], None, start, end)));
        assert!(!held(hold(&["agency-vm/dc"], None, start, end)));
        assert!(held(hold(&[], Some("lm"), start, end)));
        assert!(!held(hold(&[], Some("vm"), start, end)));
        assert!(held(hold(&[], None, start, end)), "a hold naming nothing holds everything in its range");
        assert!(!held(hold(&[], None, end, end + 1.hour())), "a range that starts at the day's end does not cover it");
        assert!(Hold::new("bad".into(), end, start, BTreeSet::new(), None).is_err());
    }

    #[test]
    fn a_category_no_policy_names_is_kept() {
        let mut only_auth = policy("p", 6, vec![]);
        only_auth.months.retain(|c, _| *c == SourceCategory::Authentication);
        let p = partition(months_back(19), SourceCategory::Network);
        assert_eq!(decide(&p, &[only_auth], now()), Decision::NoPolicy);
        assert_eq!(decide(&p, &[], now()), Decision::NoPolicy);
        assert_eq!(p.name(), format!("{}/network", months_back(19)));
    }
}
