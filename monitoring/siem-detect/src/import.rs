//! A folder of Sigma files cut into units a `DetectionRule` holds: each correlation with
//! the detection rules it refers to (wherever they were), and each detection rule no
//! correlation refers to on its own. Every unit is compiled as the SIEM would; what cannot
//! be taken is returned with the reason, never dropped silently.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use crate::rules::{Document, LoadError, Source, document, load};

/// One rule (or correlation with its rules) ready to become a `DetectionRule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// An object name: `sigma-<title>-<start of the id>`, lower-case, at most 63
    /// characters.
    pub name: String,
    /// The main rule's Sigma id, when it has one.
    pub id: Option<String>,
    /// The main rule's title.
    pub title: String,
    /// The file the main rule came from.
    pub source: String,
    /// The YAML: the main rule's document last, after the rules it refers to.
    pub sigma: String,
}

/// One document and what it says about itself.
struct Doc {
    source: String,
    document: Document,
    id: Option<String>,
    name: Option<String>,
    title: String,
    refers_to: Vec<String>,
}

/// Cuts sources into units; each unit compiles, and each rule or document that could not
/// be taken is an error.
pub fn units(sources: &[Source<'_>]) -> (Vec<Unit>, Vec<LoadError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        for document in document::split(source.text) {
            match serde_yaml_ng::from_str::<Value>(&document.text) {
                Ok(value) => docs.push(Doc {
                    source: source.name.to_owned(),
                    id: text(&value["id"]),
                    name: text(&value["name"]),
                    title: text(&value["title"]).unwrap_or_default(),
                    refers_to: value["correlation"]["rules"]
                        .as_sequence()
                        .map(|rules| rules.iter().filter_map(text).collect())
                        .unwrap_or_default(),
                    document,
                }),
                Err(error) => errors.push(LoadError {
                    file: source.name.to_owned(),
                    line: document.line,
                    rule: None,
                    message: format!("YAML parsing error: {error}"),
                }),
            }
        }
    }
    let referred: BTreeSet<&str> = docs.iter().flat_map(|d| d.refers_to.iter().map(String::as_str)).collect();
    let mut units = Vec::new();
    for doc in &docs {
        let is_referred = [&doc.id, &doc.name].into_iter().flatten().any(|key| referred.contains(key.as_str()));
        if is_referred && doc.refers_to.is_empty() {
            continue;
        }
        let mut parts: Vec<&Doc> = doc
            .refers_to
            .iter()
            .filter_map(|key| docs.iter().find(|d| d.id.as_deref() == Some(key) || d.name.as_deref() == Some(key)))
            .collect();
        parts.push(doc);
        let texts: Vec<&str> = parts.iter().map(|d| d.document.text.trim_end()).collect();
        let sigma = texts.join("\n---\n") + "\n";
        let (_, mut failed) = load(&[Source { name: &doc.source, text: &sigma }]);
        if let Some(mut error) = failed.drain(..).next() {
            // The line in the unit, back to the line of the file the document came from.
            let mut start = 1;
            for (part, text) in parts.iter().zip(&texts) {
                let end = start + text.lines().count();
                if error.line < end {
                    error.file = part.source.clone();
                    error.line = part.document.line + error.line.saturating_sub(start);
                    break;
                }
                start = end + 1;
            }
            error.rule = error.rule.or_else(|| Some(doc.title.clone()));
            errors.push(error);
            continue;
        }
        units.push(Unit {
            name: object_name(&doc.title, doc.id.as_deref()),
            id: doc.id.clone(),
            title: doc.title.clone(),
            source: doc.source.clone(),
            sigma,
        });
    }
    (units, errors)
}

/// A Kubernetes object name for a rule: `sigma-`, the title's letters and digits joined
/// by dashes (Latvian letters without their marks), and the id's first eight characters,
/// at most 63 in all.
pub fn object_name(title: &str, id: Option<&str>) -> String {
    let plain: String = title.chars().map(without_mark).collect();
    let words: Vec<String> = plain
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let suffix: String = id
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let room = 63 - "sigma-".len() - if suffix.is_empty() { 0 } else { suffix.len() + 1 };
    let mut slug = words.join("-");
    slug.truncate(room);
    let slug = slug.trim_end_matches('-');
    [Some("sigma"), (!slug.is_empty()).then_some(slug), (!suffix.is_empty()).then_some(suffix.as_str())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("-")
}

/// A Latvian letter without its mark (`ā` → `a`, `ķ` → `k`); other characters as they are.
fn without_mark(c: char) -> char {
    const MARKED: [(char, char); 22] = [
        ('ā', 'a'),
        ('č', 'c'),
        ('ē', 'e'),
        ('ģ', 'g'),
        ('ī', 'i'),
        ('ķ', 'k'),
        ('ļ', 'l'),
        ('ņ', 'n'),
        ('š', 's'),
        ('ū', 'u'),
        ('ž', 'z'),
        ('Ā', 'A'),
        ('Č', 'C'),
        ('Ē', 'E'),
        ('Ģ', 'G'),
        ('Ī', 'I'),
        ('Ķ', 'K'),
        ('Ļ', 'L'),
        ('Ņ', 'N'),
        ('Š', 'S'),
        ('Ū', 'U'),
        ('Ž', 'Z'),
    ];
    MARKED.iter().find(|(marked, _)| *marked == c).map_or(c, |(_, plain)| *plain)
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "title: Failed SSH\nid: 0b4c6e1a-0000-4000-8000-000000000001\nname: failed\nlogsource: {product: linux}\ndetection:\n  s:\n    event.outcome: failure\n  condition: s\nlevel: low\n";
    const CORRELATION: &str = "title: SSH brute force!\nid: 9a000000-0000-4000-8000-000000000002\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 10}\nlevel: high\n";
    const ALONE: &str = "title: Root sign-in\nid: 7c000000-0000-4000-8000-000000000003\nlogsource: {product: linux}\ndetection:\n  s:\n    user.name: root\n  condition: s\nlevel: high\n---\ntitle: Broken\nid: 5d000000-0000-4000-8000-000000000004\nlogsource: {product: linux}\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n";

    #[test]
    fn a_correlation_takes_its_rules_along_and_they_are_not_imported_alone() {
        let (units, errors) = units(&[
            Source { name: "base.yml", text: BASE },
            Source { name: "corr.yml", text: CORRELATION },
            Source { name: "alone.yml", text: ALONE },
        ]);
        assert_eq!(units.len(), 2, "{units:#?}");
        let correlation = units.iter().find(|u| u.title == "SSH brute force!").unwrap();
        assert_eq!(correlation.name, "sigma-ssh-brute-force-9a000000");
        assert!(
            correlation.sigma.starts_with("title: Failed SSH")
                && correlation.sigma.contains("\n---\ntitle: SSH brute force!")
        );
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("alone.yml", 15));
        assert!(errors[0].message.contains("|nope"), "{}", errors[0]);
    }

    #[test]
    fn a_correlation_whose_rules_are_missing_is_reported() {
        let (units, errors) = units(&[Source { name: "corr.yml", text: CORRELATION }]);
        assert!(units.is_empty());
        assert!(errors[0].message.contains("failed"), "{}", errors[0]);
    }

    #[test]
    fn object_names_are_dns_labels_of_at_most_63_characters() {
        let long = "A very long title that goes on and on about Sysmon, PowerShell and other things as well";
        let name = object_name(long, Some("ABCDEF12-0000"));
        assert!(name.len() <= 63 && name.ends_with("-abcdef12") && name.starts_with("sigma-a-very"), "{name}");
        assert_eq!(object_name("Ūdens — ļoti!", None), "sigma-udens-loti");
        assert_eq!(object_name("!!!", None), "sigma");
    }
}
