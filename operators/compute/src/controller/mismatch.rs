//! A status that disagrees with what the operator found: reported, never followed.
//!
//! The controllers decide from what they compute and what libvirt answers. When an
//! object's status records something else (another host, another path, another data
//! name), the record was written by someone else or is out of date: the controller keeps
//! its own answer, says so in a Warning Event with reason [`REASON`], counts it, and
//! writes the corrected status.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::ObjectReference;

use super::Context;

/// The Event reason of a status that disagreed with what the operator found.
pub const REASON: &str = "StatusMismatch";

/// One recorded value that is not what the operator found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The status field, e.g. `status.path`.
    pub field: &'static str,
    /// What the status said.
    pub recorded: String,
    /// What the operator found or computed (`none` when there is nothing).
    pub actual: Option<String>,
}

/// The mismatch of `field` when `recorded` is set and is not `actual`.
pub fn compare(field: &'static str, recorded: Option<&str>, actual: Option<&str>) -> Option<Mismatch> {
    let recorded = recorded?;
    (Some(recorded) != actual).then(|| Mismatch {
        field,
        recorded: recorded.to_string(),
        actual: actual.map(str::to_string),
    })
}

/// The Event note for `mismatches`: what was ignored, what is used instead.
pub fn note(mismatches: &[Mismatch]) -> String {
    let mut note = String::from("the status disagrees with what the operator found on the hosts and was ignored: ");
    for (index, m) in mismatches.iter().enumerate() {
        if index > 0 {
            note.push_str("; ");
        }
        let _ = match &m.actual {
            Some(actual) => write!(note, "{} said {:?}, the operator uses {actual:?}", m.field, m.recorded),
            None => write!(note, "{} said {:?}, the operator found nothing of the kind", m.field, m.recorded),
        };
    }
    note.push_str(
        ". Nothing was done on a host because of it and the status is corrected; if this repeats, find out who writes this object's status (the API server's audit log names them)",
    );
    note
}

/// Reports `mismatches` of `object` of `kind` (if any): a Warning Event and the metric.
pub async fn report(ctx: &Context, object: &ObjectReference, kind: &str, mismatches: &[Mismatch]) {
    if mismatches.is_empty() {
        return;
    }
    tracing::warn!(kind, name = ?object.name, note = %note(mismatches), "status mismatch");
    ctx.compute_metrics.record_status_mismatch(kind);
    ctx.events.warning(object, REASON, "Reconcile", note(mismatches)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recorded_values_that_differ_are_mismatches() {
        assert_eq!(compare("status.path", None, Some("/p/v.raw")), None, "nothing recorded yet");
        assert_eq!(compare("status.path", Some("/p/v.raw"), Some("/p/v.raw")), None);
        assert_eq!(
            compare("status.path", Some("/dev/sda"), Some("/p/v.raw")),
            Some(Mismatch { field: "status.path", recorded: "/dev/sda".into(), actual: Some("/p/v.raw".into()) })
        );
        assert_eq!(compare("status.host", Some("kvm-9"), None).map(|m| m.actual), Some(None));
    }

    #[test]
    fn the_note_says_what_was_ignored_and_what_to_do() {
        let note = note(&[
            Mismatch { field: "status.path", recorded: "/dev/sda".into(), actual: Some("/p/v.raw".into()) },
            Mismatch { field: "status.host", recorded: "kvm-9".into(), actual: None },
        ]);
        assert!(note.contains(r#"status.path said "/dev/sda", the operator uses "/p/v.raw"; "#), "{note}");
        assert!(note.contains(r#"status.host said "kvm-9", the operator found nothing of the kind."#), "{note}");
        assert!(note.contains("audit log"), "{note}");
    }
}
