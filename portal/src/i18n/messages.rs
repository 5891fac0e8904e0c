//! The portal's texts in both languages, embedded in the binary.

use std::collections::BTreeMap;

use super::{Lang, placeholders, yaml};

/// The Latvian message file, `portal/i18n/lv.yaml`.
const LATVIAN: &str = include_str!("../../i18n/lv.yaml");
/// The English message file, `portal/i18n/en.yaml`.
const ENGLISH: &str = include_str!("../../i18n/en.yaml");

/// Every text of the portal in Latvian and English, keyed by dotted names organised by
/// page, e.g. `nav.catalog`, `login.username`, `state.approved`. Both languages have the
/// same keys and the same `{name}` placeholders (a unit test checks it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Messages {
    /// Latvian texts by key.
    lv: BTreeMap<String, String>,
    /// English texts by key.
    en: BTreeMap<String, String>,
}

impl Messages {
    /// The messages compiled into the binary from `portal/i18n/*.yaml`. Parses the files:
    /// call it once at start-up and share the result.
    ///
    /// # Panics
    ///
    /// If an embedded file is not a map of strings, which the unit tests rule out.
    pub fn embedded() -> Messages {
        Messages { lv: load("lv.yaml", LATVIAN), en: load("en.yaml", ENGLISH) }
    }

    /// The text of `key` in `lang`; the key itself when there is no such message, so a
    /// missing text is visible on the page rather than blank.
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        self.table(lang).get(key).map_or(key, String::as_str)
    }

    /// The text of `key` in `lang` with its `{name}` placeholders replaced by the values of
    /// `args`; placeholders without a value are left as they are.
    pub fn format(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
        placeholders::fill(self.get(lang, key), args)
    }

    /// The keys and texts of one language, in key order.
    pub(super) fn table(&self, lang: Lang) -> &BTreeMap<String, String> {
        match lang {
            Lang::Lv => &self.lv,
            Lang::En => &self.en,
        }
    }
}

/// The flattened messages of an embedded file.
fn load(name: &str, source: &str) -> BTreeMap<String, String> {
    yaml::flatten(source).unwrap_or_else(|error| panic!("portal/i18n/{name}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_each_language() {
        let messages = Messages::embedded();
        assert_eq!(messages.get(Lang::Lv, "site.name"), "Mākonis");
        assert_eq!(messages.get(Lang::En, "site.name"), "Mākonis");
        assert_eq!(messages.get(Lang::Lv, "skip_link"), "Pāriet uz saturu");
        assert_eq!(messages.get(Lang::En, "skip_link"), "Skip to content");
        assert_eq!(messages.get(Lang::Lv, "nav.language_switch"), "English");
        assert_eq!(messages.get(Lang::En, "nav.language_switch"), "Latviešu");
    }

    #[test]
    fn a_missing_key_shows_itself() {
        let messages = Messages::embedded();
        assert_eq!(messages.get(Lang::Lv, "no.such.key"), "no.such.key");
        assert_eq!(messages.format(Lang::En, "no.such.key", &[("key", "x")]), "no.such.key");
    }

    #[test]
    fn formats_placeholders() {
        let messages = Messages::embedded();
        assert_eq!(
            messages.format(Lang::En, "login.error.too_many_attempts", &[("seconds", "30")]),
            "Too many attempts; wait 30 s."
        );
        assert_eq!(
            messages.format(Lang::Lv, "login.error.too_many_attempts", &[("seconds", "30")]),
            "Pārāk daudz mēģinājumu. Lūdzu, uzgaidiet 30 s."
        );
        let internal = messages.format(Lang::En, "error.internal.text", &[("reference", "7f3a-19c2")]);
        assert!(internal.contains("with reference 7f3a-19c2."), "{internal}");
    }
}
