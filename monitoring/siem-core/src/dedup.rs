//! Repeats of a message a sender resent: RELP resends what it saw no acknowledgement
//! for, and a crash between storing and acknowledging leaves messages that were stored.
//!
//! A message's identity is the SHA-256 of its LogSource and its bytes as received, noted
//! with the delivery it came in (a RELP session, or the store for what was received
//! before a restart). A repeat is a resend only when it comes in *another* delivery: the
//! same bytes twice in one session are two events (RFC 3164's one-second timestamps make
//! that ordinary). Only resendable deliveries (RELP sessions, HTTPS requests) are checked. The window is bounded:
//! the most recent `capacity` identities; the store fills it again after a restart.

use std::collections::{HashMap, VecDeque};

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

/// The delivery a message came in: a RELP session's or an HTTPS request's number, or
/// [`STORED`].
pub type Delivery = u64;

/// The delivery of what the store held at start.
pub const STORED: Delivery = 0;

/// The identities seen lately with their delivery, the oldest forgotten first.
#[derive(Debug)]
pub struct Recent {
    seen: HashMap<Identity, Delivery>,
    order: VecDeque<Identity>,
    capacity: usize,
}

impl Recent {
    /// A window of at most `capacity` identities.
    pub fn new(capacity: usize) -> Self {
        Self { seen: HashMap::with_capacity(capacity.min(1 << 20)), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Notes `id` as received in `delivery`; true when it was received before in another
    /// delivery (a resend).
    pub fn resent(&mut self, id: Identity, delivery: Delivery) -> bool {
        if let Some(earlier) = self.seen.get(&id) {
            return *earlier != delivery;
        }
        self.seen.insert(id, delivery);
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        false
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
    fn a_repeat_in_another_delivery_is_a_resend_until_it_is_forgotten() {
        let mut recent = Recent::new(2);
        let (a, b, c) = (identity("s", b"a"), identity("s", b"b"), identity("s", b"c"));
        assert!(!recent.resent(a, 1));
        assert!(!recent.resent(a, 1), "twice in one session: two events");
        assert!(recent.resent(a, 2), "again in the next session: a resend");
        assert!(!recent.resent(b, 2));
        assert!(!recent.resent(c, 2), "a is forgotten now");
        assert_eq!(recent.len(), 2);
        assert!(!recent.resent(a, 3), "b is forgotten now");
        assert!(recent.resent(c, STORED), "c came in session 2");
    }

    #[test]
    fn the_same_bytes_from_another_source_are_another_message() {
        assert_ne!(identity("agency-lm/a", b"x"), identity("agency-vm/a", b"x"));
        assert_ne!(identity("ab", b"c"), identity("a", b"bc"), "the source's length is part of it");
    }
}
