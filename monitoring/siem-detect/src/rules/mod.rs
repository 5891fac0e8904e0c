//! Sigma rules read and compiled: detection rules and correlation rules (Sigma
//! specification v2: `event_count`, `value_count`, `temporal`, `temporal_ordered`), from
//! files that may hold several YAML documents, correlations referring to rules by id or
//! name across files.
//!
//! Parsing and the matching of one event against one detection are `rsigma`'s (see
//! `docs/architecture.md` for why); what we add is refusing what we cannot evaluate with
//! the line and the construct named ([`check`]), Sigma's `|base64offset`
//! ([`base64offset`]), the logsource rule, and correlation on event time
//! ([`crate::correlate`]).

pub mod base64offset;
pub mod check;
pub mod document;

use jiff::SignedDuration;
use rsigma_eval::{CompiledRule, JsonEvent, compile_rule, evaluate_rule};
use rsigma_parser::{
    ConditionExpr, ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, SigmaRule,
    parse_sigma_yaml,
};

use crate::fields::{Logsource, LogsourceKey, Record};

pub use document::Document;

/// A file of rules (or a `DetectionRule`'s `spec.sigma`): its name and text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// What alerts and errors call it (a path, or `namespace/name`).
    pub name: &'a str,
    /// The YAML, one or several documents.
    pub text: &'a str,
}

/// What every rule says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `id`.
    pub id: Option<String>,
    /// `name` (how correlations may refer to it).
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<String>,
    /// The source it came from.
    pub source: String,
    /// The line its document starts on.
    pub line: usize,
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What it says about itself.
    pub meta: Meta,
    /// Whether a match is an alert of its own (not only a step of correlations).
    pub alerts: bool,
    logsource: Vec<(LogsourceKey, String)>,
    compiled: CompiledRule,
}

impl Rule {
    /// Whether the rule applies to an event with these attributes: it must carry every
    /// attribute the rule's `logsource` names.
    pub fn applies_to(&self, logsource: &Logsource) -> bool {
        self.logsource.iter().all(|(key, value)| logsource.carries(*key, value))
    }

    /// Whether an event matches the rule's detection (the logsource is not looked at).
    pub fn matches(&self, record: &Record) -> bool {
        evaluate_rule(&self.compiled, &JsonEvent::borrow(&record.fields)).is_some()
    }
}

/// The kinds of correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Matches of the rules within the timespan.
    EventCount,
    /// Distinct values of a field among the matches within the timespan.
    ValueCount,
    /// Matches of the rules (distinct rules) within the timespan, in any order.
    Temporal,
    /// Matches of every rule within the timespan, in the order they are listed.
    TemporalOrdered,
}

impl Kind {
    /// The name Sigma gives the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// A correlation's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Each bound must hold of the count (of matches, distinct values or distinct rules);
    /// a temporal correlation without bounds needs every one of its rules.
    Threshold(Vec<(ConditionOperator, u64)>),
    /// Which rules (by their place in [`Correlation::rules`]) must have matched.
    Expression(ConditionExpr),
}

impl Condition {
    /// Whether a count meets every bound.
    pub fn holds(bounds: &[(ConditionOperator, u64)], count: u64) -> bool {
        bounds.iter().all(|(op, n)| match op {
            ConditionOperator::Lt => count < *n,
            ConditionOperator::Lte => count <= *n,
            ConditionOperator::Gt => count > *n,
            ConditionOperator::Gte => count >= *n,
            ConditionOperator::Eq => count == *n,
            ConditionOperator::Neq => count != *n,
        })
    }

    /// Whether the condition can only become true as events are added (`gt`, `gte`, or
    /// an expression without `not`), so that it can fire the moment it holds; others are
    /// judged when the window closes.
    pub fn rises(&self) -> bool {
        match self {
            Condition::Threshold(bounds) => {
                bounds.iter().all(|(op, _)| matches!(op, ConditionOperator::Gt | ConditionOperator::Gte))
            }
            Condition::Expression(expression) => !has_not(expression),
        }
    }
}

fn has_not(expression: &ConditionExpr) -> bool {
    match expression {
        ConditionExpr::Not(_) => true,
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => parts.iter().any(has_not),
        _ => false,
    }
}

/// One field a correlation groups by, and its name in each of its rules' events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupField {
    /// The name in the correlation (an alias, or a field).
    pub name: String,
    /// The field to read, for each rule in [`Correlation::rules`].
    pub per_rule: Vec<String>,
}

/// A compiled correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// What it says about itself.
    pub meta: Meta,
    /// Its kind.
    pub kind: Kind,
    /// The detection rules it correlates (indices into [`RuleSet::rules`]).
    pub rules: Vec<usize>,
    /// What it groups by.
    pub group_by: Vec<GroupField>,
    /// How far apart its events may be.
    pub timespan: SignedDuration,
    /// When it fires.
    pub condition: Condition,
    /// `value_count`'s field, for each rule in `rules`.
    pub value_field: Option<Vec<String>>,
    /// Whether its rules alert on their own too (`generate: true`).
    pub generate: bool,
    /// The ids and names of each of its rules, which a temporal expression names them by.
    pub rule_names: Vec<Vec<String>>,
}

/// Compiled rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Detection rules.
    pub rules: Vec<Rule>,
    /// Correlation rules.
    pub correlations: Vec<Correlation>,
}

impl RuleSet {
    /// Each rule in the order read: its id (or name), title and kind (`detection`, or the
    /// correlation's type).
    pub fn summary(&self) -> Vec<Summary> {
        let rules = self.rules.iter().map(|r| (&r.meta, "detection"));
        let correlations = self.correlations.iter().map(|c| (&c.meta, c.kind.as_str()));
        let mut all: Vec<(&Meta, &'static str)> = rules.chain(correlations).collect();
        all.sort_by_key(|(meta, _)| meta.line);
        all.into_iter()
            .map(|(meta, kind)| Summary {
                id: meta.id.clone().or_else(|| meta.name.clone()),
                title: meta.title.clone(),
                kind,
            })
            .collect()
    }
}

/// One rule of a set, as a status lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The Sigma id, or the name when it has none.
    pub id: Option<String>,
    /// The title.
    pub title: String,
    /// `detection`, or the correlation's type.
    pub kind: &'static str,
}

/// A rule that could not be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {rule}{message}", rule = rule.as_deref().map(|r| format!("{r}: ")).unwrap_or_default())]
pub struct LoadError {
    /// The source (a file, or `namespace/name`).
    pub file: String,
    /// The line of the construct at fault (or of the document).
    pub line: usize,
    /// The rule's title or id, when it got that far.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Reads and compiles every rule of the sources; each rule that cannot be taken is
/// returned with the reason, and the others are kept.
pub fn load(sources: &[Source<'_>]) -> (RuleSet, Vec<LoadError>) {
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    let mut correlations = Vec::new();
    for source in sources {
        for document in document::split(source.text) {
            match compile_document(source.name, &document) {
                Ok(Compiled::Rule(rule)) => set.rules.push(*rule),
                Ok(Compiled::Correlation(rule)) => correlations.push((source.name, document, rule)),
                Ok(Compiled::Empty) => {}
                Err(error) => errors.push(error),
            }
        }
    }
    for (source, document, rule) in correlations {
        match resolve(&rule, &set.rules, condition_given(&document)) {
            Ok((kind, rules, group_by, condition, value_field)) => set.correlations.push(Correlation {
                rule_names: names_of(&rules, &set.rules),
                meta: meta(source, &document, rule.id.clone(), rule.name.clone(), &rule.title, rule.level),
                kind,
                rules,
                group_by,
                timespan: SignedDuration::from_secs(i64::try_from(rule.timespan.seconds).unwrap_or(i64::MAX)),
                condition,
                value_field,
                generate: rule.generate,
            }),
            Err(message) => errors.push(LoadError {
                file: source.to_owned(),
                line: document.line_of("rules:").unwrap_or(document.line),
                rule: Some(rule.title.clone()),
                message,
            }),
        }
    }
    for index in 0..set.rules.len() {
        let mut using = set.correlations.iter().filter(|c| c.rules.contains(&index)).peekable();
        let referenced = using.peek().is_some();
        let generated = using.any(|c| c.generate);
        set.rules[index].alerts = !referenced || generated;
    }
    (set, errors)
}

/// What one document compiles to.
enum Compiled {
    Rule(Box<Rule>),
    Correlation(Box<CorrelationRule>),
    Empty,
}

/// Checks, parses and compiles one document.
fn compile_document(source: &str, document: &Document) -> Result<Compiled, LoadError> {
    let fail =
        |line: usize, rule: Option<String>, message: String| LoadError { file: source.to_owned(), line, rule, message };
    check::document(document).map_err(|problem| fail(problem.line, None, problem.message))?;
    let text = check::without_unknown_relations(&document.text);
    let collection =
        parse_sigma_yaml(&text).map_err(|e| fail(document.line_of_error(&e.to_string()), None, e.to_string()))?;
    if let Some(error) = collection.errors.first() {
        return Err(fail(document.line_of_error(error), None, error.clone()));
    }
    if !collection.filters.is_empty() {
        return Err(fail(
            document.line,
            None,
            "Sigma filters are not supported: write the exclusion into the rule's condition".to_owned(),
        ));
    }
    if let Some(rule) = collection.correlations.into_iter().next() {
        return Ok(Compiled::Correlation(Box::new(rule)));
    }
    let Some(mut rule) = collection.rules.into_iter().next() else {
        return Ok(Compiled::Empty);
    };
    let title = Some(rule.title.clone());
    base64offset::rewrite(&mut rule)
        .map_err(|e| fail(document.line_of("|base64offset").unwrap_or(document.line), title.clone(), e.to_string()))?;
    let compiled = compile_rule(&rule).map_err(|e| {
        let message = e.to_string();
        fail(document.line_of_error(&message), title.clone(), message)
    })?;
    Ok(Compiled::Rule(Box::new(Rule {
        meta: meta(source, document, rule.id.clone(), rule.name.clone(), &rule.title, rule.level),
        alerts: true,
        logsource: logsource_of(&rule),
        compiled,
    })))
}

/// The attributes a rule's logsource names.
fn logsource_of(rule: &SigmaRule) -> Vec<(LogsourceKey, String)> {
    [
        (LogsourceKey::Product, &rule.logsource.product),
        (LogsourceKey::Service, &rule.logsource.service),
        (LogsourceKey::Category, &rule.logsource.category),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|v| (key, v)))
    .collect()
}

fn meta(
    source: &str,
    document: &Document,
    id: Option<String>,
    name: Option<String>,
    title: &str,
    level: Option<rsigma_parser::Level>,
) -> Meta {
    Meta {
        id,
        name,
        title: title.to_owned(),
        level: level.map(|l| l.as_str().to_owned()),
        source: source.to_owned(),
        line: document.line,
    }
}

/// What a correlation resolves to: its kind, rules, grouping, condition and value field.
type Resolved = (Kind, Vec<usize>, Vec<GroupField>, Condition, Option<Vec<String>>);

/// Whether a correlation document writes its condition (a temporal one without one needs
/// every rule, which the parser does not tell apart from `gte: 1`).
fn condition_given(document: &Document) -> bool {
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&document.text)
        .ok()
        .and_then(|top| top.get("correlation").map(|c| c.get("condition").is_some()))
        .unwrap_or(true)
}

/// Finds a correlation's rules by id or name and checks what it asks for.
fn resolve(rule: &CorrelationRule, rules: &[Rule], condition_given: bool) -> Result<Resolved, String> {
    let kind = match rule.correlation_type {
        CorrelationType::EventCount => Kind::EventCount,
        CorrelationType::ValueCount => Kind::ValueCount,
        CorrelationType::Temporal => Kind::Temporal,
        CorrelationType::TemporalOrdered => Kind::TemporalOrdered,
        other => return Err(format!("correlation type {} is not supported", other.as_str())),
    };
    if rule.window != rsigma_parser::WindowMode::Sliding {
        return Err(format!("window: {} is not supported; correlations use sliding windows", rule.window.as_str()));
    }
    let mut indices = Vec::new();
    for reference in &rule.rules {
        let found = rules
            .iter()
            .position(|r| r.meta.id.as_deref() == Some(reference) || r.meta.name.as_deref() == Some(reference));
        match found {
            Some(index) => indices.push(index),
            None => return Err(format!("rule {reference:?} is not among the rules loaded (give its id or name)")),
        }
    }
    if indices.is_empty() {
        return Err("a correlation needs at least one rule under rules:".to_owned());
    }
    let field_in = |name: &str, index: usize| -> String {
        let rule_meta = &rules[index].meta;
        rule.aliases
            .iter()
            .find(|a| a.alias == name)
            .and_then(|a| {
                rule_meta
                    .id
                    .as_deref()
                    .and_then(|id| a.mapping.get(id))
                    .or_else(|| rule_meta.name.as_deref().and_then(|n| a.mapping.get(n)))
            })
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    };
    let group_by = rule
        .group_by
        .iter()
        .map(|name| GroupField { name: name.clone(), per_rule: indices.iter().map(|&i| field_in(name, i)).collect() })
        .collect();
    let (condition, value_field) = match (&rule.condition, kind) {
        (_, Kind::Temporal | Kind::TemporalOrdered) if !condition_given => (Condition::Threshold(Vec::new()), None),
        (CorrelationCondition::Threshold { predicates, field, .. }, _) => {
            let value_field = match (kind, field.as_deref()) {
                (Kind::ValueCount, Some([one])) => Some(indices.iter().map(|&i| field_in(one, i)).collect()),
                (Kind::ValueCount, _) => return Err("value_count needs one field: under condition:".to_owned()),
                _ => None,
            };
            (Condition::Threshold(predicates.clone()), value_field)
        }
        (CorrelationCondition::Extended(expression), Kind::Temporal | Kind::TemporalOrdered) => {
            if has_selector(expression) {
                return Err("a temporal condition names its rules with and, or, not and parentheses; 1 of / all of are not supported there".to_owned());
            }
            (Condition::Expression(expression.clone()), None)
        }
        (CorrelationCondition::Extended(_), _) => {
            return Err("a condition written as an expression is only for temporal correlations".to_owned());
        }
    };
    Ok((kind, indices, group_by, condition, value_field))
}

/// The ids and names of each rule.
fn names_of(indices: &[usize], rules: &[Rule]) -> Vec<Vec<String>> {
    indices.iter().map(|&i| rules[i].meta.id.iter().chain(rules[i].meta.name.iter()).cloned().collect()).collect()
}

fn has_selector(expression: &ConditionExpr) -> bool {
    match expression {
        ConditionExpr::Selector { .. } => true,
        ConditionExpr::Not(part) => has_selector(part),
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => parts.iter().any(has_selector),
        ConditionExpr::Identifier(_) => false,
    }
}

#[cfg(test)]
mod tests;
