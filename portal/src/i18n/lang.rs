//! The portal's languages and how a request chooses one.

use serde::{Deserialize, Serialize};

/// A language the portal speaks. Latvian is the default: it is the official language and
/// the one every page is written in first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Latvian (`lv`).
    #[default]
    Lv,
    /// English (`en`).
    En,
}

impl Lang {
    /// The ISO 639-1 code: `lv` or `en`, as used in `<html lang>`, in URLs and in templates.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Lv => "lv",
            Lang::En => "en",
        }
    }

    /// The language of a code, `lv` or `en` (any letter case, surrounding spaces ignored);
    /// `None` for any other text.
    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim();
        if code.eq_ignore_ascii_case("lv") {
            Some(Lang::Lv)
        } else if code.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language an `Accept-Language` header prefers: of the ranges naming Latvian or
    /// English (`en-GB` counts as `en`; `*` as Latvian), the one with the highest
    /// q-value, the first listed among equals. Ranges with `q=0` or an invalid q-value
    /// are ignored; Latvian when nothing matches.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(Lang, f32)> = None;
        for (lang, quality) in header.split(',').filter_map(accepted) {
            if quality > 0.0 && best.is_none_or(|(_, best_quality)| quality > best_quality) {
                best = Some((lang, quality));
            }
        }
        best.map_or(Lang::Lv, |(lang, _)| lang)
    }
}

/// One range of an `Accept-Language` header, e.g. `en-GB;q=0.8`: the language it names
/// and its q-value; `None` for a language the portal does not speak or a malformed range.
fn accepted(range: &str) -> Option<(Lang, f32)> {
    let mut parts = range.split(';');
    let tag = parts.next()?.trim();
    let primary = tag.split('-').next()?;
    let lang = if tag == "*" { Lang::Lv } else { Lang::parse(primary)? };
    let mut quality = 1.0;
    for parameter in parts {
        let (name, value) = parameter.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            quality = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
        }
    }
    Some((lang, quality))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in [Lang::Lv, Lang::En] {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
        assert_eq!(Lang::parse(" EN "), Some(Lang::En));
        assert_eq!(Lang::parse("ru"), None);
        assert_eq!(Lang::parse("en-GB"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn latvian_is_the_default() {
        assert_eq!(Lang::default(), Lang::Lv);
        assert_eq!(Lang::from_accept_language(""), Lang::Lv);
        assert_eq!(Lang::from_accept_language("ru, de;q=0.5"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("garbage;;;==,"), Lang::Lv);
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(Lang::from_accept_language("en"), Lang::En);
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,lv;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.5, lv-LV;q=0.9"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("ru-RU, ru;q=0.9, en-US;q=0.8, lv;q=0.7"), Lang::En);
        assert_eq!(Lang::from_accept_language("LV;Q=0.3, EN;q=0.2"), Lang::Lv);
    }

    #[test]
    fn accept_language_ties_go_to_the_first_listed() {
        assert_eq!(Lang::from_accept_language("en, lv"), Lang::En);
        assert_eq!(Lang::from_accept_language("lv;q=0.5, en;q=0.5"), Lang::Lv);
    }

    #[test]
    fn accept_language_ignores_refused_and_malformed_ranges() {
        assert_eq!(Lang::from_accept_language("lv;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("en;q=abc, lv;q=0.1"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("en;q=1.5"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("en;q"), Lang::Lv);
    }

    #[test]
    fn a_wildcard_means_latvian() {
        assert_eq!(Lang::from_accept_language("de, *;q=0.5"), Lang::Lv);
        assert_eq!(Lang::from_accept_language("en;q=0.4, *;q=0.5"), Lang::Lv);
    }

    #[test]
    fn serialises_as_the_code() {
        assert_eq!(serde_json::to_value(Lang::En).ok(), Some(serde_json::json!("en")));
        assert_eq!(serde_json::from_value::<Lang>(serde_json::json!("lv")).ok(), Some(Lang::Lv));
    }
}
