//! Repeats of a message a sender resent: RELP resends what it saw no acknowledgement
//! for, and a crash between storing and acknowledging leaves messages that were stored.
//!
//! A message's identity is the SHA-256 of its LogSource and its bytes as received. Only
//! resendable deliveries (RELP) are checked: over plain TCP or UDP the same bytes twice
//! are two events (RFC 3164's one-second timestamps make that ordinary). The window is
//! bounded: the most recent `capacity` identities; the store fills it again after a
//! restart with what it received lately.

use std::collections::{HashSet, VecDeque};

use sha2::{Digest, Sha256};

/// A message's identity.
pub type Identity = [u8; 32];

/// The identity of `original` from `source`.
pub fn identity(source: &str, original: &[u8]) -> Identity {
    let mut hasher = Sha256::new();
    hasher.update(source.len().to_string().as_bytes());
    hasher.update(b":");
    hasher.update(source.as_bytes());
    hasher.update(original);
    hasher.finalize().into()
}

/// The identities seen lately, the oldest forgotten first.
#[derive(Debug)]
pub struct Recent {
    seen: HashSet<Identity>,
    order: VecDeque<Identity>,
    capacity: usize,
}

impl Recent {
    /// A window of at most `capacity` identities.
    pub fn new(capacity: usize) -> Self {
        Self { seen: HashSet::with_capacity(capacity.min(1 << 20)), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Remembers `id`; false when it was already there (a repeat).
    pub fn first_time(&mut self, id: Identity) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }

    /// How many identities it holds.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_recognised_until_it_is_forgotten() {
        let mut recent = Recent::new(2);
        let (a, b, c) = (identity("s", b"a"), identity("s", b"b"), identity("s", b"c"));
        assert!(recent.first_time(a));
        assert!(!recent.first_time(a));
        assert!(recent.first_time(b));
        assert!(recent.first_time(c), "a is forgotten now");
        assert_eq!(recent.len(), 2);
        assert!(recent.first_time(a));
    }

    #[test]
    fn the_same_bytes_from_another_source_are_another_message() {
        assert_ne!(identity("agency-lm/a", b"x"), identity("agency-vm/a", b"x"));
        assert_ne!(identity("ab", b"c"), identity("a", b"bc"), "the source's length is part of it");
    }
}
