//! The words of the form in both languages: markers, choice and item labels, and the hints
//! that state a field's rules.

use makonis_catalog::schema::Format;

use crate::i18n::Lang;

/// What a count counts, for hints such as `1–64 characters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Characters of a string.
    Character,
    /// Values of a list written one per line, or ticked in a checkbox group.
    Value,
    /// Items of a list of groups.
    Item,
}

impl Unit {
    /// The noun after `count`: English singular or plural, Latvian nominative singular for
    /// numbers ending in 1 (but not 11), plural otherwise.
    fn noun(self, count: u64, lang: Lang) -> &'static str {
        let one = match lang {
            Lang::En => count == 1,
            Lang::Lv => count % 10 == 1 && count % 100 != 11,
        };
        match (self, lang, one) {
            (Self::Character, Lang::En, true) => "character",
            (Self::Character, Lang::En, false) => "characters",
            (Self::Character, Lang::Lv, true) => "rakstzīme",
            (Self::Character, Lang::Lv, false) => "rakstzīmes",
            (Self::Value, Lang::En, true) => "value",
            (Self::Value, Lang::En, false) => "values",
            (Self::Value, Lang::Lv, true) => "vērtība",
            (Self::Value, Lang::Lv, false) => "vērtības",
            (Self::Item, Lang::En, true) => "item",
            (Self::Item, Lang::En, false) => "items",
            (Self::Item, Lang::Lv, true) => "ieraksts",
            (Self::Item, Lang::Lv, false) => "ieraksti",
        }
    }
}

/// The visible marker of a required field.
pub(super) fn required_marker(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "(obligāts)",
        Lang::En => "(required)",
    }
}

/// The hint of a field required only when the group around it is filled in.
pub(super) fn required_in_group(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "Obligāts, ja grupa tiek aizpildīta",
        Lang::En => "Required when the group is filled in",
    }
}

/// The label of the choice that leaves an optional value unset.
pub(super) fn not_set(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "Nav norādīts",
        Lang::En => "Not set",
    }
}

/// The legend of item `number` (from 1) of a list; `new` for an empty item to fill in.
pub(super) fn item_label(number: usize, new: bool, lang: Lang) -> String {
    match (lang, new) {
        (Lang::Lv, false) => format!("{number}. ieraksts"),
        (Lang::Lv, true) => format!("{number}. ieraksts (jauns)"),
        (Lang::En, false) => format!("Item {number}"),
        (Lang::En, true) => format!("Item {number} (new)"),
    }
}

/// The hint of a list of groups: how to add and remove items.
pub(super) fn list_usage(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "Lai pievienotu ierakstu, aizpildiet jaunu; lai izņemtu, notīriet visus tā laukus",
        Lang::En => "To add an item, fill in a new one; to remove one, clear all its fields",
    }
}

/// The hint of a text area that holds a list.
pub(super) fn one_per_line(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "Katra vērtība savā rindā",
        Lang::En => "One value per line",
    }
}

/// The hint of a list whose items must differ.
pub(super) fn unique(lang: Lang) -> &'static str {
    match lang {
        Lang::Lv => "Vērtības nedrīkst atkārtoties",
        Lang::En => "No value may repeat",
    }
}

/// A hint about each value of a list, e.g. `Each value: 1–50 characters`.
pub(super) fn each_value(hint: &str, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("Katra vērtība: {hint}"),
        Lang::En => format!("Each value: {hint}"),
    }
}

/// The allowed values of the items of a list written one per line.
pub(super) fn one_of(values: &str, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("Viena no: {values}"),
        Lang::En => format!("One of: {values}"),
    }
}

/// A count rule, e.g. `1–64 characters`, `At least 1 value`; `None` without bounds.
pub(super) fn count(min: Option<u64>, max: Option<u64>, unit: Unit, lang: Lang) -> Option<String> {
    Some(match (min, max, lang) {
        (Some(min), Some(max), Lang::Lv) if min == max => format!("Tieši {min} {}", unit.noun(min, lang)),
        (Some(min), Some(max), Lang::En) if min == max => format!("Exactly {min} {}", unit.noun(min, lang)),
        (Some(min), Some(max), _) => format!("{min}–{max} {}", unit.noun(max, lang)),
        (Some(min), None, Lang::Lv) => format!("Vismaz {min} {}", unit.noun(min, lang)),
        (Some(min), None, Lang::En) => format!("At least {min} {}", unit.noun(min, lang)),
        (None, Some(max), Lang::Lv) => format!("Ne vairāk kā {max} {}", unit.noun(max, lang)),
        (None, Some(max), Lang::En) => format!("At most {max} {}", unit.noun(max, lang)),
        (None, None, _) => return None,
    })
}

/// A bound of a number, as written in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound<'a> {
    /// `minimum` (inclusive).
    AtLeast(&'a str),
    /// `maximum` (inclusive).
    AtMost(&'a str),
    /// `exclusiveMinimum`.
    Above(&'a str),
    /// `exclusiveMaximum`.
    Below(&'a str),
}

/// The hint of one bound, e.g. `At least 10`, `Less than 1`.
pub(super) fn bound(bound: Bound<'_>, lang: Lang) -> String {
    match (bound, lang) {
        (Bound::AtLeast(n), Lang::Lv) => format!("Vismaz {n}"),
        (Bound::AtLeast(n), Lang::En) => format!("At least {n}"),
        (Bound::AtMost(n), Lang::Lv) => format!("Ne vairāk kā {n}"),
        (Bound::AtMost(n), Lang::En) => format!("At most {n}"),
        (Bound::Above(n), Lang::Lv) => format!("Lielāks par {n}"),
        (Bound::Above(n), Lang::En) => format!("Greater than {n}"),
        (Bound::Below(n), Lang::Lv) => format!("Mazāks par {n}"),
        (Bound::Below(n), Lang::En) => format!("Less than {n}"),
    }
}

/// The hint of an inclusive range, e.g. `From 10 to 500`.
pub(super) fn range(min: &str, max: &str, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("No {min} līdz {max}"),
        Lang::En => format!("From {min} to {max}"),
    }
}

/// The hint of `multipleOf`.
pub(super) fn multiple_of(step: &str, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("Skaitļa {step} daudzkārtnis"),
        Lang::En => format!("A multiple of {step}"),
    }
}

/// The hint of a string `format`.
pub(super) fn format(format: Format, lang: Lang) -> &'static str {
    match (format, lang) {
        (Format::Email, Lang::Lv) => "E-pasta adrese",
        (Format::Email, Lang::En) => "An e-mail address",
        (Format::Hostname, Lang::Lv) => "Resursdatora nosaukums: burti, cipari, '-' un punkti",
        (Format::Hostname, Lang::En) => "A host name: letters, digits, '-' and dots",
        (Format::Uri, Lang::Lv) => "Adrese, kas sākas ar http:// vai https://",
        (Format::Uri, Lang::En) => "An address starting with http:// or https://",
        (Format::Date, Lang::Lv) => "Datums formā GGGG-MM-DD",
        (Format::Date, Lang::En) => "A date as YYYY-MM-DD",
        (Format::Ipv4, Lang::Lv) => "IPv4 adrese: četri skaitļi 0–255, atdalīti ar punktiem",
        (Format::Ipv4, Lang::En) => "An IPv4 address: four numbers 0–255 separated by dots",
        (Format::DnsLabel, Lang::Lv) => {
            "Mazie burti, cipari un '-', ne vairāk kā 63 rakstzīmes; sākas un beidzas ar burtu vai ciparu"
        }
        (Format::DnsLabel, Lang::En) => {
            "Lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit"
        }
    }
}

/// An error about one line of a list written one per line; `line` counts from 1.
pub(super) fn on_line(line: usize, message: &str, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("{line}. rinda: {message}"),
        Lang::En => format!("Line {line}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_number() {
        let hint = |min, max, unit, lang| count(min, max, unit, lang).unwrap_or_default();
        assert_eq!(hint(Some(1), Some(64), Unit::Character, Lang::En), "1–64 characters");
        assert_eq!(hint(Some(1), Some(21), Unit::Character, Lang::Lv), "1–21 rakstzīme");
        assert_eq!(hint(Some(1), None, Unit::Value, Lang::En), "At least 1 value");
        assert_eq!(hint(Some(11), None, Unit::Value, Lang::Lv), "Vismaz 11 vērtības");
        assert_eq!(hint(None, Some(20), Unit::Item, Lang::Lv), "Ne vairāk kā 20 ieraksti");
        assert_eq!(hint(Some(2), Some(2), Unit::Item, Lang::En), "Exactly 2 items");
        assert_eq!(count(None, None, Unit::Item, Lang::En), None);
    }
}
