//! A detection rule object's `spec.sigma`, compiled as the SIEM evaluates it.

use makonis_siem_detect::rules::{LoadError, RuleSet, Source, Summary, load};

/// At most this many problems are named in a refusal or a status.
const SHOWN: usize = 5;

/// What `spec.sigma` compiles to: the rule set, or why it cannot be taken.
#[derive(Debug, Clone)]
pub enum Review {
    /// Every document compiled; the rules in it.
    Compiled(RuleSet),
    /// Some document could not be taken (with its line), or none holds a rule.
    Refused(Vec<LoadError>),
}

/// Compiles `spec.sigma`: every document must compile, and at least one rule must be in
/// it. A rule object is all or nothing: a correlation without its rules would evaluate
/// something else than its author wrote.
pub fn review(sigma: &str) -> Review {
    let (set, errors) = load(&[Source { name: "spec.sigma", text: sigma }]);
    if !errors.is_empty() {
        return Review::Refused(errors);
    }
    if set.rules.is_empty() {
        return Review::Refused(vec![LoadError {
            file: "spec.sigma".to_owned(),
            line: 1,
            rule: None,
            message: "holds no Sigma detection rule".to_owned(),
        }]);
    }
    Review::Compiled(set)
}

impl Review {
    /// The rules it holds (none when refused).
    pub fn summary(&self) -> Vec<Summary> {
        match self {
            Review::Compiled(set) => set.summary(),
            Review::Refused(_) => Vec::new(),
        }
    }

    /// Why it is refused, for an admission response or a condition: `spec.sigma: line
    /// N: …` for each of the first few problems; `None` when it compiled.
    pub fn refusal(&self) -> Option<String> {
        let Review::Refused(errors) = self else {
            return None;
        };
        let mut lines: Vec<String> = errors
            .iter()
            .take(SHOWN)
            .map(|e| {
                let rule = e.rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                format!("spec.sigma: line {}{rule}: {}", e.line, e.message)
            })
            .collect();
        if errors.len() > SHOWN {
            lines.push(format!("and {} more", errors.len() - SHOWN));
        }
        Some(lines.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: Root sign-in\nid: 7c000000-0000-4000-8000-000000000003\nlogsource: {product: linux}\ndetection:\n  s:\n    user.name: root\n  condition: s\nlevel: high\n";

    #[test]
    fn a_rule_that_compiles_lists_its_rules() {
        let review = review(RULE);
        assert!(review.refusal().is_none());
        assert_eq!(review.summary()[0].title, "Root sign-in");
    }

    #[test]
    fn a_refusal_names_the_field_the_line_and_the_construct() {
        let broken = format!(
            "{RULE}---\ntitle: Broken\nlogsource: {{product: linux}}\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n"
        );
        let refusal = review(&broken).refusal().unwrap();
        assert_eq!(refusal, "spec.sigma: line 14: unknown modifier |nope (of \"a\")");
        assert!(review("# nothing but a comment\n").refusal().unwrap().contains("holds no Sigma detection rule"));
    }
}
