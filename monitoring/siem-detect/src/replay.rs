//! Replay: every rule over log files, offline, exactly as the engine evaluates them, one
//! JSON object per alert:
//!
//! ```text
//! {"rule_id": "<Sigma id>", "title": "...", "level": "...", "file": "<path>",
//!  "events": [{"line": <1-based line>, "time": "<RFC 3339 UTC>"}...],
//!  "group": {"<group-by field>": "<value>"}, "first": "<RFC 3339>", "last": "<RFC 3339>"}
//! ```
//!
//! Files are read in the order given and their records in file order; a correlation's
//! alert names the file of its first event.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::correlate::Config;
use crate::detect::{Alert, Detector, Preparation};
use crate::fields::rfc3339;
use crate::input::{self, ReadOptions, Unreadable};
use crate::rules::RuleSet;

/// A file to replay: its path as given, and its text.
#[derive(Debug, Clone, Copy)]
pub struct File<'a> {
    /// The path, as alerts name it.
    pub path: &'a str,
    /// The text.
    pub text: &'a str,
}

/// What a replay found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// One JSON object per alert, in the order raised.
    pub alerts: Vec<String>,
    /// Records that could not be read: file, line and why.
    pub unreadable: Vec<(String, usize, Unreadable)>,
    /// Events read.
    pub events: u64,
    /// Events that arrived later than the allowed lateness and were not correlated.
    pub too_late: u64,
}

/// Replays files through rules.
pub fn replay(
    rules: RuleSet,
    preparation: &Preparation,
    config: Config,
    files: &[File<'_>],
    read: &ReadOptions,
) -> Outcome {
    let mut detector: Detector<(usize, usize)> = Detector::new(rules, config);
    let mut outcome = Outcome::default();
    for (index, file) in files.iter().enumerate() {
        for record in input::read(file.text, read) {
            match record.outcome {
                Ok(mut event) => {
                    outcome.events += 1;
                    preparation.prepare(&mut event);
                    for alert in detector.evaluate(&event, (index, record.line)) {
                        outcome.alerts.push(line_of(&detector, &alert, files));
                    }
                }
                Err(reason) => outcome.unreadable.push((file.path.to_owned(), record.line, reason)),
            }
        }
    }
    for alert in detector.finish() {
        outcome.alerts.push(line_of(&detector, &alert, files));
    }
    outcome.too_late = detector.dropped().too_late;
    outcome
}

/// An alert as its JSON line.
fn line_of(detector: &Detector<(usize, usize)>, alert: &Alert<(usize, usize)>, files: &[File<'_>]) -> String {
    let meta = detector.meta(alert.raised);
    let line = AlertLine {
        rule_id: meta.id.as_deref(),
        title: &meta.title,
        level: meta.level.as_deref(),
        file: alert.events.first().map_or("", |(_, (file, _))| files[*file].path),
        events: alert.events.iter().map(|(time, (_, line))| EventLine { line: *line, time: rfc3339(*time) }).collect(),
        group: Group(&alert.group),
        first: alert.first().map(rfc3339),
        last: alert.last().map(rfc3339),
    };
    serde_json::to_string(&line).expect("an alert serialises")
}

#[derive(Serialize)]
struct AlertLine<'a> {
    rule_id: Option<&'a str>,
    title: &'a str,
    level: Option<&'a str>,
    file: &'a str,
    events: Vec<EventLine>,
    group: Group<'a>,
    first: Option<String>,
    last: Option<String>,
}

#[derive(Serialize)]
struct EventLine {
    line: usize,
    time: String,
}

/// Group-by fields as a JSON object, in the correlation's order.
struct Group<'a>(&'a [(String, String)]);

impl Serialize for Group<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
