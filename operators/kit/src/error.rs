//! Bounded error categories and error chains.

use std::error::Error;

/// An error that can name its category from a small, fixed set.
///
/// The category is used as a metric label and as the reason of the Warning Event, so it
/// must never contain object names or free text: one `PascalCase` word per failure kind.
pub trait ErrorCategory: Error {
    /// The bounded category of this error, e.g. `"InvalidSpec"` or `"ApiError"`.
    fn category(&self) -> &'static str;
}

/// The error and all its sources, joined with `": "`, for logs and Event notes.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("applying ResourceQuota makonis-quota")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("forbidden: cannot patch resourcequotas")]
    struct Inner;

    #[test]
    fn chain_includes_every_cause() {
        assert_eq!(
            error_chain(&Outer(Inner)),
            "applying ResourceQuota makonis-quota: forbidden: cannot patch resourcequotas"
        );
    }

    #[test]
    fn chain_skips_a_cause_already_in_the_message() {
        #[derive(Debug, thiserror::Error)]
        #[error("apply failed: forbidden: cannot patch resourcequotas")]
        struct Repeats(#[source] Inner);
        assert_eq!(error_chain(&Repeats(Inner)), "apply failed: forbidden: cannot patch resourcequotas");
    }
}
