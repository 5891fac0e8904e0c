//! Backup pruning with the keep-last/hourly/daily/weekly/monthly/yearly rules of Proxmox Backup Server.
//!
//! [`prune`] sorts the backups newest first and applies the rules in the order last, hourly, daily, weekly,
//! monthly, yearly. Each rule keeps the newest backup of each of its newest `n` periods that no earlier rule
//! already covered. Periods are taken on the local wall clock of a time zone: hourly `YYYY-MM-DD HH`, daily
//! `YYYY-MM-DD`, weekly ISO year and ISO week, monthly `YYYY-MM`, yearly `YYYY`; for keep-last every backup is its
//! own period. Incomplete backups are always kept and take no slot. Whatever no rule keeps is removed, unless no
//! rule keeps anything at all (every option unset or zero, as in PBS), in which case everything is kept.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// How many backups to keep per kind of period; `None` (or zero) disables a rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep the newest n backups.
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the newest n hours.
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the newest n days.
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the newest n ISO weeks.
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the newest n months.
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the newest n years.
    pub keep_yearly: Option<u32>,
}

impl Retention {
    /// True when no rule keeps anything, which means nothing is ever removed.
    pub fn keeps_everything(&self) -> bool {
        self.rules().iter().all(|(_, keep)| keep.unwrap_or(0) == 0)
    }

    fn rules(&self) -> [(Rule, Option<u32>); 6] {
        [
            (Rule::Last, self.keep_last),
            (Rule::Hourly, self.keep_hourly),
            (Rule::Daily, self.keep_daily),
            (Rule::Weekly, self.keep_weekly),
            (Rule::Monthly, self.keep_monthly),
            (Rule::Yearly, self.keep_yearly),
        ]
    }
}

/// One backup considered for pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The backup's name.
    pub id: &'a str,
    /// When the backup was taken.
    pub at: Timestamp,
    /// Whether the backup finished; unfinished backups are never removed.
    pub complete: bool,
}

/// What to do with one backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep it, for the given reason.
    Keep(KeepReason),
    /// Delete it.
    Remove,
}

/// Why a backup is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    /// Selected by keep-last.
    Last,
    /// Selected by keep-hourly.
    Hourly,
    /// Selected by keep-daily.
    Daily,
    /// Selected by keep-weekly.
    Weekly,
    /// Selected by keep-monthly.
    Monthly,
    /// Selected by keep-yearly.
    Yearly,
    /// The backup has not finished.
    Incomplete,
    /// No retention rule is set, so everything is kept.
    NoRetention,
}

impl KeepReason {
    /// A short label such as `keep-daily`, `incomplete` or `no retention`.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeepReason::Last => "keep-last",
            KeepReason::Hourly => "keep-hourly",
            KeepReason::Daily => "keep-daily",
            KeepReason::Weekly => "keep-weekly",
            KeepReason::Monthly => "keep-monthly",
            KeepReason::Yearly => "keep-yearly",
            KeepReason::Incomplete => "incomplete",
            KeepReason::NoRetention => "no retention",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Rule {
    fn reason(self) -> KeepReason {
        match self {
            Rule::Last => KeepReason::Last,
            Rule::Hourly => KeepReason::Hourly,
            Rule::Daily => KeepReason::Daily,
            Rule::Weekly => KeepReason::Weekly,
            Rule::Monthly => KeepReason::Monthly,
            Rule::Yearly => KeepReason::Yearly,
        }
    }

    /// The period a backup falls in; `position` (in the newest-first list) makes each backup its own period.
    fn period(self, position: usize, local: DateTime) -> (i64, i64, i64, i64) {
        let (year, month, day, hour) =
            (i64::from(local.year()), i64::from(local.month()), i64::from(local.day()), i64::from(local.hour()));
        match self {
            Rule::Last => (position as i64, 0, 0, 0),
            Rule::Hourly => (year, month, day, hour),
            Rule::Daily => (year, month, day, 0),
            Rule::Weekly => {
                let week = local.date().iso_week_date();
                (i64::from(week.year()), i64::from(week.week()), 0, 0)
            }
            Rule::Monthly => (year, month, 0, 0),
            Rule::Yearly => (year, 0, 0, 0),
        }
    }
}

/// Decides which backups to keep. The result lists every candidate once, newest first (equal times ordered by
/// id), with its verdict.
pub fn prune(candidates: &[Candidate<'_>], retention: &Retention, tz: &TimeZone) -> Vec<(String, Verdict)> {
    let mut list: Vec<&Candidate<'_>> = candidates.iter().collect();
    list.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(b.id)));
    let local: Vec<DateTime> = list.iter().map(|candidate| tz.to_datetime(candidate.at)).collect();
    let mut marks: Vec<Option<Verdict>> =
        list.iter().map(|candidate| (!candidate.complete).then_some(Verdict::Keep(KeepReason::Incomplete))).collect();

    let keeps_everything = retention.keeps_everything();
    if !keeps_everything {
        for (rule, keep) in retention.rules() {
            if let Some(keep) = keep {
                mark_selections(&mut marks, &local, rule, keep as usize);
            }
        }
    }

    let fallback = if keeps_everything { Verdict::Keep(KeepReason::NoRetention) } else { Verdict::Remove };
    list.iter().zip(marks).map(|(candidate, mark)| (candidate.id.to_string(), mark.unwrap_or(fallback))).collect()
}

/// PBS's `mark_selections`: keep the newest unmarked backup of each new period until `keep` periods are taken.
fn mark_selections(marks: &mut [Option<Verdict>], local: &[DateTime], rule: Rule, keep: usize) {
    let already_included: HashSet<_> = marks
        .iter()
        .zip(local)
        .enumerate()
        .filter(|(_, (mark, _))| matches!(mark, Some(Verdict::Keep(reason)) if *reason != KeepReason::Incomplete))
        .map(|(position, (_, dt))| rule.period(position, *dt))
        .collect();
    let mut included = HashSet::new();
    for (position, dt) in local.iter().enumerate() {
        if marks[position].is_some() {
            continue;
        }
        let period = rule.period(position, *dt);
        if already_included.contains(&period) {
            continue;
        }
        if included.contains(&period) {
            marks[position] = Some(Verdict::Remove);
        } else {
            if included.len() >= keep {
                break;
            }
            included.insert(period);
            marks[position] = Some(Verdict::Keep(rule.reason()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn riga() -> TimeZone {
        TimeZone::get("Europe/Riga").unwrap()
    }

    /// One backup a day at 10:00 UTC (noon in Riga) from `first` for `days` days, named by date.
    fn daily_series(first: jiff::civil::Date, days: i64) -> Vec<(String, Timestamp)> {
        (0..days)
            .map(|offset| {
                let day = first.checked_add(jiff::Span::new().days(offset)).unwrap();
                (day.to_string(), day.at(10, 0, 0, 0).to_zoned_datetime(TimeZone::UTC).unwrap().timestamp())
            })
            .collect()
    }

    fn candidates(series: &[(String, Timestamp)]) -> Vec<Candidate<'_>> {
        series.iter().map(|(id, at)| Candidate { id, at: *at, complete: true }).collect()
    }

    fn kept(verdicts: &[(String, Verdict)]) -> Vec<(String, &'static str)> {
        verdicts
            .iter()
            .filter_map(|(id, verdict)| match verdict {
                Verdict::Keep(reason) => Some((id.clone(), reason.as_str())),
                Verdict::Remove => None,
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        expected.iter().map(|(id, reason)| (id.to_string(), *reason)).collect()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn no_retention_keeps_everything() {
        let series = daily_series(date(2026, 1, 1), 5);
        assert!(Retention::default().keeps_everything());
        assert!(Retention { keep_daily: Some(0), ..Retention::default() }.keeps_everything());
        assert!(!Retention { keep_yearly: Some(1), ..Retention::default() }.keeps_everything());
        let verdicts = prune(&candidates(&series), &Retention::default(), &riga());
        assert_eq!(verdicts.len(), 5);
        assert!(verdicts.iter().all(|(_, verdict)| *verdict == Verdict::Keep(KeepReason::NoRetention)));
    }

    #[test]
    fn keep_last_three_newest_first_regardless_of_input_order() {
        let mut series = daily_series(date(2026, 1, 1), 6);
        series.swap(0, 4);
        let verdicts = prune(&candidates(&series), &Retention { keep_last: Some(3), ..Retention::default() }, &riga());
        let order: Vec<&str> = verdicts.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["2026-01-06", "2026-01-05", "2026-01-04", "2026-01-03", "2026-01-02", "2026-01-01"]);
        assert_eq!(
            kept(&verdicts),
            pairs(&[("2026-01-06", "keep-last"), ("2026-01-05", "keep-last"), ("2026-01-04", "keep-last")])
        );
        assert!(verdicts[3..].iter().all(|(_, verdict)| *verdict == Verdict::Remove));
    }

    #[test]
    fn daily_weekly_monthly_yearly_over_400_days() {
        // 2024-12-28 .. 2026-01-31 inclusive is 400 days.
        let series = daily_series(date(2024, 12, 28), 400);
        assert_eq!(series.last().unwrap().0, "2026-01-31");
        let retention = Retention {
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(6),
            keep_yearly: Some(1),
            ..Retention::default()
        };
        let verdicts = prune(&candidates(&series), &retention, &riga());
        // Worked out by hand: the daily picks 2026-01-25..31 cover ISO weeks 2026-W04 (the 25th is a Sunday) and
        // 2026-W05. The weekly rule then takes the Sundays ending W03, W02, W01 and 2025-W52. The monthly rule
        // finds December 2025 and January 2026 covered and takes the last day of November back to June 2025.
        // Years 2026 and 2025 are covered, so the yearly rule takes the newest backup of 2024.
        let expected = pairs(&[
            ("2026-01-31", "keep-daily"),
            ("2026-01-30", "keep-daily"),
            ("2026-01-29", "keep-daily"),
            ("2026-01-28", "keep-daily"),
            ("2026-01-27", "keep-daily"),
            ("2026-01-26", "keep-daily"),
            ("2026-01-25", "keep-daily"),
            ("2026-01-18", "keep-weekly"),
            ("2026-01-11", "keep-weekly"),
            ("2026-01-04", "keep-weekly"),
            ("2025-12-28", "keep-weekly"),
            ("2025-11-30", "keep-monthly"),
            ("2025-10-31", "keep-monthly"),
            ("2025-09-30", "keep-monthly"),
            ("2025-08-31", "keep-monthly"),
            ("2025-07-31", "keep-monthly"),
            ("2025-06-30", "keep-monthly"),
            ("2024-12-31", "keep-yearly"),
        ]);
        assert_eq!(kept(&verdicts), expected);
        assert_eq!(verdicts.iter().filter(|(_, verdict)| *verdict == Verdict::Remove).count(), 400 - 18);
    }

    #[test]
    fn several_per_day_keep_the_newest_of_each_day_and_hour() {
        // Every six hours from 2026-01-10 00:00 Riga (2026-01-09 22:00 UTC), three days.
        let series: Vec<(String, Timestamp)> = (0..12)
            .map(|n| {
                let at = ts("2026-01-09T22:00:00Z").checked_add(jiff::SignedDuration::from_hours(6 * n)).unwrap();
                (format!("b{n:02}"), at)
            })
            .collect();
        let daily = prune(&candidates(&series), &Retention { keep_daily: Some(2), ..Retention::default() }, &riga());
        // b11 is 18:00 on the 12th and b07 is 18:00 on the 11th, local time.
        assert_eq!(kept(&daily), pairs(&[("b11", "keep-daily"), ("b07", "keep-daily")]));

        let retention =
            Retention { keep_last: Some(1), keep_hourly: Some(2), keep_daily: Some(3), ..Retention::default() };
        let mixed = prune(&candidates(&series), &retention, &riga());
        assert_eq!(
            kept(&mixed),
            pairs(&[
                ("b11", "keep-last"),
                ("b10", "keep-hourly"),
                ("b09", "keep-hourly"),
                ("b07", "keep-daily"),
                ("b03", "keep-daily")
            ])
        );
    }

    #[test]
    fn incomplete_newest_is_kept_and_takes_no_slot() {
        let series = daily_series(date(2026, 1, 1), 4);
        let mut list = candidates(&series);
        list[3].complete = false;
        let verdicts = prune(&list, &Retention { keep_last: Some(2), ..Retention::default() }, &riga());
        assert_eq!(
            verdicts,
            [
                ("2026-01-04".to_string(), Verdict::Keep(KeepReason::Incomplete)),
                ("2026-01-03".to_string(), Verdict::Keep(KeepReason::Last)),
                ("2026-01-02".to_string(), Verdict::Keep(KeepReason::Last)),
                ("2026-01-01".to_string(), Verdict::Remove),
            ]
        );
        // Nor does it cover its day for keep-daily: an earlier complete backup that day is kept.
        list.push(Candidate { id: "early", at: ts("2026-01-04T05:00:00Z"), complete: true });
        let daily = prune(&list, &Retention { keep_daily: Some(1), ..Retention::default() }, &riga());
        assert_eq!(kept(&daily), pairs(&[("2026-01-04", "incomplete"), ("early", "keep-daily")]));
    }

    #[test]
    fn weeks_are_iso_weeks() {
        // 2026-01-04 is a Sunday (end of ISO week 2026-W01), 2026-01-05 a Monday (W02).
        let series = daily_series(date(2026, 1, 1), 7);
        let verdicts =
            prune(&candidates(&series), &Retention { keep_weekly: Some(2), ..Retention::default() }, &riga());
        assert_eq!(kept(&verdicts), pairs(&[("2026-01-07", "keep-weekly"), ("2026-01-04", "keep-weekly")]));
        // 2020-12-31 (Thursday) is in ISO week 2020-W53 while 2021-01-01 to 03 are too: one week, one kept.
        let series = daily_series(date(2020, 12, 31), 4);
        let verdicts =
            prune(&candidates(&series), &Retention { keep_weekly: Some(2), ..Retention::default() }, &riga());
        assert_eq!(kept(&verdicts), pairs(&[("2021-01-03", "keep-weekly")]));
    }

    #[test]
    fn days_follow_riga_local_time_not_utc() {
        let series = [
            ("late".to_string(), ts("2026-01-10T23:30:00Z")), // 01:30 on the 11th in Riga
            ("evening".to_string(), ts("2026-01-10T20:00:00Z")), // 22:00 on the 10th in Riga
            ("noon".to_string(), ts("2026-01-11T10:00:00Z")), // 12:00 on the 11th in Riga
        ];
        let retention = Retention { keep_daily: Some(2), ..Retention::default() };
        let local = prune(&candidates(&series), &retention, &riga());
        assert_eq!(kept(&local), pairs(&[("noon", "keep-daily"), ("evening", "keep-daily")]));
        let utc = prune(&candidates(&series), &retention, &TimeZone::UTC);
        assert_eq!(kept(&utc), pairs(&[("noon", "keep-daily"), ("late", "keep-daily")]));
    }

    #[test]
    fn reason_labels() {
        assert_eq!(KeepReason::Weekly.as_str(), "keep-weekly");
        assert_eq!(KeepReason::Incomplete.as_str(), "incomplete");
        assert_eq!(KeepReason::NoRetention.as_str(), "no retention");
    }
}
