//! The row per event that builds before the block store kept, as both databases had it,
//! read back as the events a block keeps: what converting an old partition needs.

use makonis_siem_core::{
    block::{BLOCK_EVENTS, BlockEvent},
    event::Outcome,
};

use super::rows::hash_of;

/// The columns an old row is read from, in the order [`event_of`] takes them.
pub(super) const COLUMNS: &str =
    "seq, time, created, source, agency, user_name, source_ip, action, outcome, document, original, hash";

/// Rows converted at a time: a block's worth.
pub(super) const AT_ONCE: i64 = BLOCK_EVENTS as i64;

/// An old row as read.
pub(super) type OldRow = (
    i64,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
);

/// An old row as a block keeps the event: the same place, content and link.
pub(super) fn event_of(
    (seq, time, created, source, agency, user, ip, action, outcome, document, original, hash): OldRow,
) -> BlockEvent {
    BlockEvent {
        // A place below 1 (a row inserted behind the store's back) stays one the check
        // names, as does a hash of the wrong length (read as zeros).
        seq: u64::try_from(seq).unwrap_or(0),
        time,
        created,
        source,
        agency,
        user,
        ip,
        action,
        outcome: Outcome::parse(&outcome),
        category: category_of(&document),
        document,
        original,
        hash: hash_of(hash).unwrap_or([0; 32]),
    }
}

/// `event.category` of a stored document (the rows kept it only there).
fn category_of(document: &str) -> Option<String> {
    let document: serde_json::Value = serde_json::from_str(document).ok()?;
    document.pointer("/event/category/0")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_category_is_its_first() {
        assert_eq!(category_of(r#"{"event":{"category":["authentication"]}}"#).as_deref(), Some("authentication"));
        assert_eq!(category_of(r#"{"event":{}}"#), None);
        assert_eq!(category_of("not json"), None);
    }
}
