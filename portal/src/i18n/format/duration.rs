//! Durations of service levels: response and restore times, RPO, RTO, maintenance windows.

use crate::i18n::Lang;

/// The units a duration is written in, largest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    /// 24 hours.
    Day,
    /// 60 minutes.
    Hour,
    /// 60 seconds.
    Minute,
    /// A second.
    Second,
}

/// A duration as people read it: `4 h`, `30 min`, `1 d.` in Latvian and `4 h`, `30 min`,
/// `1 day` in English; a combination such as `P1DT12H` as `1 d. 12 h`. Units are kept as
/// written (`24h` stays `24 h`); a zero duration shows its smallest written unit
/// (`PT0S`: `0 s`, `0m`: `0 min`).
///
/// Accepts the catalog's short form (`30m`, `4h`, `3d`: digits and one of `m`, `h`, `d`,
/// see `makonis_api::catalog::Sla`) and ISO 8601 durations in days, hours, minutes and
/// whole seconds (`PT4H`, `PT30M`, `P1D`, `P1DT12H`, `PT0S`; `P2W` counts as 14 days).
/// `None` for anything else, including years and months, whose length varies.
pub fn duration_iso(text: &str, lang: Lang) -> Option<String> {
    let text = text.trim();
    let parts = match text.strip_prefix('P') {
        Some(designators) => iso_parts(designators)?,
        None => vec![short_part(text)?],
    };
    let shown: Vec<_> = parts.iter().filter(|(amount, _)| *amount > 0).collect();
    let shown = if shown.is_empty() { vec![parts.last()?] } else { shown };
    let words: Vec<String> = shown.into_iter().map(|&(amount, unit)| written(amount, unit, lang)).collect();
    Some(words.join(" "))
}

/// The catalog's `4h`: digits and a unit letter.
fn short_part(text: &str) -> Option<(u64, Unit)> {
    let unit = match text.chars().last()? {
        'd' => Unit::Day,
        'h' => Unit::Hour,
        'm' => Unit::Minute,
        _ => return None,
    };
    Some((digits(&text[..text.len() - 1])?, unit))
}

/// The amounts and units of an ISO 8601 duration after its `P`, in order: `1DT12H` gives
/// 1 day and 12 hours. Each unit at most once, largest first; at least one.
fn iso_parts(designators: &str) -> Option<Vec<(u64, Unit)>> {
    if let Some(weeks) = designators.strip_suffix('W') {
        return Some(vec![(digits(weeks)?.checked_mul(7)?, Unit::Day)]);
    }
    let (date, time) = designators.split_once('T').map_or((designators, None), |(d, t)| (d, Some(t)));
    let mut parts = Vec::new();
    if !date.is_empty() {
        parts.push((digits(date.strip_suffix('D')?)?, Unit::Day));
    }
    if let Some(mut time) = time {
        if time.is_empty() {
            return None;
        }
        while !time.is_empty() {
            let end = time.find(|c: char| !c.is_ascii_digit())?;
            let unit = match time[end..].chars().next()? {
                'H' => Unit::Hour,
                'M' => Unit::Minute,
                'S' => Unit::Second,
                _ => return None,
            };
            if parts.last().is_some_and(|&(_, previous)| previous >= unit) {
                return None;
            }
            parts.push((digits(&time[..end])?, unit));
            time = &time[end + 1..];
        }
    }
    (!parts.is_empty()).then_some(parts)
}

/// A non-empty run of ASCII digits as a number.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `amount` of `unit` in words of `lang`.
fn written(amount: u64, unit: Unit, lang: Lang) -> String {
    match (unit, lang) {
        (Unit::Day, Lang::Lv) => format!("{amount} d."),
        (Unit::Day, Lang::En) if amount == 1 => "1 day".to_string(),
        (Unit::Day, Lang::En) => format!("{amount} days"),
        (Unit::Hour, _) => format!("{amount} h"),
        (Unit::Minute, _) => format!("{amount} min"),
        (Unit::Second, _) => format!("{amount} s"),
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::catalog::CatalogItem;

    use super::*;

    fn both(text: &str) -> (Option<String>, Option<String>) {
        (duration_iso(text, Lang::Lv), duration_iso(text, Lang::En))
    }

    fn shown(lv: &str, en: &str) -> (Option<String>, Option<String>) {
        (Some(lv.to_string()), Some(en.to_string()))
    }

    #[test]
    fn iso_durations() {
        assert_eq!(both("PT4H"), shown("4 h", "4 h"));
        assert_eq!(both("PT30M"), shown("30 min", "30 min"));
        assert_eq!(both("P1D"), shown("1 d.", "1 day"));
        assert_eq!(both("P10D"), shown("10 d.", "10 days"));
        assert_eq!(both("P1DT12H"), shown("1 d. 12 h", "1 day 12 h"));
        assert_eq!(both("PT1H30M15S"), shown("1 h 30 min 15 s", "1 h 30 min 15 s"));
        assert_eq!(both("P0DT2H"), shown("2 h", "2 h"));
        assert_eq!(both("P2W"), shown("14 d.", "14 days"));
    }

    #[test]
    fn zero_durations_keep_their_unit() {
        assert_eq!(both("PT0S"), shown("0 s", "0 s"));
        assert_eq!(both("P0D"), shown("0 d.", "0 days"));
        assert_eq!(both("0m"), shown("0 min", "0 min"));
    }

    #[test]
    fn the_catalogs_short_form() {
        assert_eq!(both("30m"), shown("30 min", "30 min"));
        assert_eq!(both("4h"), shown("4 h", "4 h"));
        assert_eq!(both("24h"), shown("24 h", "24 h"));
        assert_eq!(both("1d"), shown("1 d.", "1 day"));
        assert_eq!(both("10d"), shown("10 d.", "10 days"));
    }

    #[test]
    fn every_duration_in_the_catalog_is_understood() {
        let items = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/items");
        let mut seen = 0;
        for entry in std::fs::read_dir(&items).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "yaml") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let item: CatalogItem = serde_yaml_ng::from_str(&source).unwrap();
            for sla in item.spec.plans.iter().map(|plan| &plan.sla) {
                let targets = &sla.incident_targets;
                let mut durations = vec![&sla.rpo, &sla.rto];
                for target in [&targets.p1, &targets.p2, &targets.p3, &targets.p4] {
                    durations.extend([&target.response, &target.restore]);
                }
                durations.extend(sla.maintenance_windows.iter().map(|window| &window.duration));
                for duration in durations {
                    assert!(duration_iso(duration, Lang::Lv).is_some(), "{}: {duration}", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "", "P", "PT", "P1", "PT4", "4", "h", "4x", "4 h", "-4h", "P1Y", "P1M", "P1DT", "PT1M2H", "PT1H1H",
            "PT0.5S", "pt4h", "P1W2D", "P1DT4HX", "T4H", "PT-1H",
        ] {
            assert_eq!(duration_iso(text, Lang::En), None, "{text:?}");
        }
        assert_eq!(duration_iso(&format!("PT{}H", "9".repeat(30)), Lang::En), None);
    }
}
