//! Problems found in a catalog item or an order, each tied to the field it is about.

use std::fmt;

use serde::Serialize;

/// One problem with one field: a JSON pointer into the checked document and a message a
/// person can act on. The same value reaches the controller's conditions, the admission
/// webhook's refusal and the portal's form, so all three say the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) of the field, e.g. `/spec/parameters/replicas`.
    pub path: String,
    /// What is wrong and, where it helps, what is allowed.
    pub message: String,
}

impl FieldError {
    /// A problem at `path` (a JSON pointer).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }

    /// The same problem, with `prefix` (a JSON pointer) put before its path.
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// Joins problems into one line for a condition or an admission refusal.
pub fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Escapes one JSON-pointer reference token (`~` → `~0`, `/` → `~1`).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_path() {
        let error = FieldError::new("/replicas", "must be at least 1").under("/spec/parameters");
        assert_eq!(error.to_string(), "/spec/parameters/replicas: must be at least 1");
        assert_eq!(FieldError::new("", "must be an object").to_string(), "/: must be an object");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
