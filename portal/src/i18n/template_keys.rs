//! The message keys the portal's templates use, for the test that each one exists.

use std::collections::BTreeSet;
use std::path::Path;

/// The keys of every `t(key="…")` call (single quotes and backticks too, any spacing, the
/// `key` argument in any position) in the `*.html` files under `dir`, at any depth. A key
/// built in the template (`t(key="state." ~ request.state, …)`) is not a literal key and
/// is left out. A missing directory has no keys.
pub fn keys_used_in_templates(dir: &Path) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return keys;
    };
    for entry in entries {
        let path = entry.expect("a readable templates directory").path();
        if path.is_dir() {
            keys.extend(keys_used_in_templates(&path));
        } else if path.extension().is_some_and(|extension| extension == "html") {
            let source = std::fs::read_to_string(&path).expect("a readable template");
            keys.extend(keys_in(&source));
        }
    }
    keys
}

/// The literal keys of the `t(…)` calls in a template's source.
fn keys_in(source: &str) -> impl Iterator<Item = String> + '_ {
    source.match_indices("t(").filter_map(move |(start, _)| {
        let before = source[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return None;
        }
        let call = &source[start + 2..];
        key_argument(&call[..call.find(')').unwrap_or(call.len())])
    })
}

/// The literal value of the `key` argument in the arguments of a call.
fn key_argument(arguments: &str) -> Option<String> {
    arguments.split(',').find_map(|argument| {
        let value = argument.trim().strip_prefix("key")?.trim_start().strip_prefix('=')?.trim();
        let quote = value.chars().next().filter(|c| matches!(c, '"' | '\'' | '`'))?;
        let key = value[1..].strip_suffix(quote)?;
        (!key.contains(quote)).then(|| key.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> Vec<String> {
        keys_in(source).collect()
    }

    #[test]
    fn finds_literal_keys() {
        assert_eq!(keys(r#"<h1>{{ t(key="nav.catalog", lang=lang) }}</h1>"#), ["nav.catalog"]);
        assert_eq!(keys("{{ t( key = 'a.b' , lang=lang) }} {{t(lang=lang,key=`c`)}}"), ["a.b", "c"]);
        assert_eq!(keys(r#"{{ t(key="x", lang=lang, n=1) }}{{ t(key="y", lang=lang) }}"#), ["x", "y"]);
    }

    #[test]
    fn skips_other_calls_and_built_keys() {
        assert!(keys(r#"{{ format(key="x") }} {{ x.t(key="y") }} {{ get_t(key="z") }}"#).is_empty());
        assert!(keys(r#"{{ t(key="state." ~ request.state, lang=lang) }}"#).is_empty());
        assert!(keys(r#"{{ t(key=name, lang=lang) }}"#).is_empty());
        assert!(keys("plain text, no calls").is_empty());
    }

    #[test]
    fn scans_directories_recursively() {
        let dir = std::env::temp_dir().join(format!("makonis-template-keys-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pages")).unwrap();
        std::fs::write(dir.join("base.html"), r#"{{ t(key="site.name", lang=lang) }}"#).unwrap();
        std::fs::write(dir.join("pages/login.html"), r#"{{ t(key="login.title", lang=lang) }}"#).unwrap();
        std::fs::write(dir.join("notes.txt"), r#"{{ t(key="not.a.template", lang=lang) }}"#).unwrap();
        let found = keys_used_in_templates(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let expected: BTreeSet<String> = ["login.title", "site.name"].map(String::from).into();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_missing_directory_has_no_keys() {
        assert!(keys_used_in_templates(Path::new("/nonexistent/makonis/templates")).is_empty());
    }
}
