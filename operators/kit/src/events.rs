//! Kubernetes Events about the objects a controller reconciles.
//!
//! Warnings carry the whole error chain in their note and the bounded error category as
//! their reason, so `kubectl describe` says what failed and why without reading logs.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Client,
    runtime::events::{Event, EventType, Recorder, Reporter},
};

use crate::error::{ErrorCategory, error_chain};

/// The most an Event note may hold (the API refuses longer ones).
const MAX_NOTE_BYTES: usize = 1024;

/// Publishes Events as one controller.
#[derive(Clone)]
pub struct EventPublisher {
    recorder: Recorder,
}

impl EventPublisher {
    /// A publisher reporting as `controller` from this process (`instance`, e.g. the pod).
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Self {
        let reporter = Reporter { controller: controller.to_string(), instance };
        Self { recorder: Recorder::new(client, reporter) }
    }

    /// A Warning Event for `error` about `object`: reason is the error's category, the
    /// note its chain. A failure to publish is logged, never returned.
    pub async fn warn<E: ErrorCategory + Sync>(&self, object: &ObjectReference, action: &str, error: &E) {
        self.publish(object, EventType::Warning, error.category(), action, error_chain(error)).await;
    }

    /// A Warning Event that is not an error of the controller: something it refuses to do
    /// and why (for example a deletion that would destroy data).
    pub async fn warning(&self, object: &ObjectReference, reason: &str, action: &str, note: String) {
        self.publish(object, EventType::Warning, reason, action, note).await;
    }

    /// A Normal Event about something the controller did.
    pub async fn normal(&self, object: &ObjectReference, reason: &str, action: &str, note: String) {
        self.publish(object, EventType::Normal, reason, action, note).await;
    }

    async fn publish(&self, object: &ObjectReference, type_: EventType, reason: &str, action: &str, note: String) {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, MAX_NOTE_BYTES)),
            action: action.to_string(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, object).await {
            tracing::warn!(error = %error_chain(&error), reason, "could not publish an Event");
        }
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max - 3;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let text = "ā".repeat(600);
        let cut = truncate(text, MAX_NOTE_BYTES);
        assert!(cut.len() <= MAX_NOTE_BYTES);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn short_notes_are_kept() {
        assert_eq!(truncate("ok".into(), MAX_NOTE_BYTES), "ok");
    }
}
