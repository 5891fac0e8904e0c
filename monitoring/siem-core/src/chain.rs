//! The hash chain over a partition's stored events, signed checkpoints, and the check.
//!
//! Each partition (one event day of one category) is its own chain: event `n` is stored
//! with `h_n = SHA-256(enc(h_{n-1}, n, document, original))`, where `h_0` is derived from
//! the partition's name, so a row moved between partitions does not link. The encoding is
//! `makonis-siem-v1\n` followed by each field as `<byte length>:<bytes>,` — lengths make it
//! unambiguous, the version names it. A partition closes with a [`Checkpoint`]: its last
//! sequence number and head hash, signed with the platform's Ed25519 key, and written
//! outside the store as well. [`Verifier`] walks a partition in sequence order and names
//! the first event that was altered, removed or inserted.

use jiff::Timestamp;
use ring::{
    rand::SystemRandom,
    signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey},
};
use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash a partition's chain starts from.
pub fn genesis(partition: &str) -> Hash {
    let mut hasher = Sha256::new();
    field(&mut hasher, b"makonis-siem-genesis-v1");
    field(&mut hasher, partition.as_bytes());
    hasher.finalize().into()
}

/// The hash of event `seq`, given the previous one's.
pub fn link(previous: &Hash, seq: u64, document: &[u8], original: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(b"makonis-siem-v1\n");
    field(&mut hasher, previous);
    field(&mut hasher, seq.to_string().as_bytes());
    field(&mut hasher, document);
    field(&mut hasher, original);
    hasher.finalize().into()
}

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update(bytes.len().to_string().as_bytes());
    hasher.update(b":");
    hasher.update(bytes);
    hasher.update(b",");
}

/// A hash as lower-case hex.
pub fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
pub fn from_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

/// One stored event as the check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its place in the partition's chain, from 1.
    pub seq: u64,
    /// The ECS document.
    pub document: Vec<u8>,
    /// `event.original`, byte for byte.
    pub original: Vec<u8>,
    /// The hash stored with it.
    pub hash: Hash,
}

/// Where a partition's chain must end: its last sequence number and head hash, from a
/// checkpoint or the store's own head record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// The last event's sequence number (0 for an empty partition).
    pub last_seq: u64,
    /// The last event's hash (the genesis hash for an empty partition).
    pub head: Hash,
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// The event's content or stored hash is not what was chained.
    #[error("event {seq} was altered: its hash does not match its content and the event before it")]
    Altered {
        /// The event.
        seq: u64,
    },
    /// Events are missing.
    #[error("events {from} to {to} were removed")]
    Removed {
        /// The first missing.
        from: u64,
        /// The last missing.
        to: u64,
    },
    /// An event that was never chained: a repeated or out-of-order place, or beyond the end.
    #[error("event {seq} was inserted: it is not in the chain that was written")]
    Inserted {
        /// The event.
        seq: u64,
    },
    /// Every event links, but not through a recorded anchor: the chain was rewritten
    /// consistently from some event up to this one.
    #[error(
        "the chain passes event {last_seq} with a hash other than the one recorded there: it was rewritten up to it"
    )]
    Rewritten {
        /// The event whose recorded hash differs.
        last_seq: u64,
    },
}

impl Break {
    /// A bounded name for metric labels and reports.
    pub fn category(&self) -> &'static str {
        match self {
            Break::Altered { .. } => "altered",
            Break::Removed { .. } => "removed",
            Break::Inserted { .. } => "inserted",
            Break::Rewritten { .. } => "rewritten",
        }
    }
}

/// What a verified partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Events checked.
    pub count: u64,
    /// Where the chain ends.
    pub end: End,
}

/// Checks one partition's events, fed in ascending sequence order, against the anchors
/// recorded for it: every checkpoint ever signed (a partition that receives a late event
/// after its checkpoint goes on, and is signed again) and the store's own head. The chain
/// must pass through each anchor and end at the last one.
#[derive(Debug)]
pub struct Verifier {
    previous: Hash,
    next: u64,
    anchors: std::collections::BTreeMap<u64, Hash>,
}

impl Verifier {
    /// A check of `partition` against its anchors (none: the chain is only checked for
    /// links and gaps).
    pub fn new(partition: &str, anchors: impl IntoIterator<Item = End>) -> Self {
        let anchors = anchors.into_iter().map(|end| (end.last_seq, end.head)).collect();
        Self { previous: genesis(partition), next: 1, anchors }
    }

    /// Checks the next stored event.
    pub fn push(&mut self, row: &Stored) -> Result<(), Break> {
        let end = self.anchors.last_key_value().map(|(seq, _)| *seq);
        if row.seq < self.next || end.is_some_and(|end| row.seq > end) {
            return Err(Break::Inserted { seq: row.seq });
        }
        if row.seq > self.next {
            return Err(Break::Removed { from: self.next, to: row.seq - 1 });
        }
        if link(&self.previous, row.seq, &row.document, &row.original) != row.hash {
            return Err(Break::Altered { seq: row.seq });
        }
        if self.anchors.get(&row.seq).is_some_and(|head| *head != row.hash) {
            return Err(Break::Rewritten { last_seq: row.seq });
        }
        self.previous = row.hash;
        self.next += 1;
        Ok(())
    }

    /// Ends the check: events missing at the end, or a chain that links but not through
    /// its anchors.
    pub fn finish(self) -> Result<Verified, Break> {
        let last_seq = self.next - 1;
        if let Some((&end, head)) = self.anchors.last_key_value() {
            if last_seq < end {
                return Err(Break::Removed { from: last_seq + 1, to: end });
            }
            if end == 0 && *head != self.previous {
                return Err(Break::Rewritten { last_seq });
            }
        }
        Ok(Verified { count: last_seq, end: End { last_seq, head: self.previous } })
    }
}

/// The platform's Ed25519 key that signs checkpoints.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.key_id()).finish_non_exhaustive()
    }
}

/// Why a key could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 private key in PKCS#8 v2 (DER): {0}")]
pub struct KeyError(String);

impl SigningKey {
    /// A new key, as PKCS#8 DER bytes to keep in a Kubernetes Secret.
    pub fn generate() -> Result<Vec<u8>, KeyError> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|e| KeyError(e.to_string()))
    }

    /// The key from PKCS#8 DER bytes.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        Ed25519KeyPair::from_pkcs8(der).map(|pair| Self { pair }).map_err(|e| KeyError(e.to_string()))
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A short name of the key: the first 8 bytes of its public key's SHA-256, in hex.
    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }

    /// Signs a closed partition's end: the chain must end there.
    pub fn checkpoint(&self, partition: &str, count: u64, end: End, signed_at: Timestamp) -> Checkpoint {
        self.sign(partition, count, end, signed_at, false)
    }

    /// Signs an open partition's end so far: the chain must pass through it and may go on.
    pub fn interim(&self, partition: &str, count: u64, end: End, signed_at: Timestamp) -> Checkpoint {
        self.sign(partition, count, end, signed_at, true)
    }

    fn sign(&self, partition: &str, count: u64, end: End, signed_at: Timestamp, interim: bool) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            partition: partition.to_owned(),
            count,
            end,
            signed_at,
            interim,
            key_id: self.key_id(),
            signature: Vec::new(),
        };
        checkpoint.signature = self.pair.sign(&checkpoint.statement()).as_ref().to_vec();
        checkpoint
    }
}

/// The short name of a public key.
pub fn key_id(public_key: &[u8]) -> String {
    let digest: Hash = Sha256::digest(public_key).into();
    hex(&digest)[..16].to_owned()
}

/// A partition's signed end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The partition.
    pub partition: String,
    /// Events in it.
    pub count: u64,
    /// Its last sequence number and head hash.
    pub end: End,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// Signed while the partition was open: its end so far, not where it ends.
    pub interim: bool,
    /// Which key signed it.
    pub key_id: String,
    /// The Ed25519 signature of [`Checkpoint::statement`].
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// What is signed: the partition, count, last sequence number, head and time, one
    /// per line after a version line that also says whether the partition was open (so
    /// that an interim signature cannot pass for a closing one, nor the reverse).
    pub fn statement(&self) -> Vec<u8> {
        let version = if self.interim { "makonis-siem-checkpoint-interim-v1" } else { "makonis-siem-checkpoint-v1" };
        format!(
            "{version}\n{}\n{}\n{}\n{}\n{}\n",
            self.partition,
            self.count,
            self.end.last_seq,
            hex(&self.end.head),
            self.signed_at
        )
        .into_bytes()
    }

    /// Whether the signature is the given public key's over this checkpoint.
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        key_id(public_key) == self.key_id
            && UnparsedPublicKey::new(&ED25519, public_key).verify(&self.statement(), &self.signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn chain(partition: &str, n: u64) -> Vec<Stored> {
        let mut previous = genesis(partition);
        (1..=n)
            .map(|seq| {
                let document = format!("{{\"message\":\"event {seq}\"}}").into_bytes();
                let original = format!("<13>event {seq}").into_bytes();
                let hash = link(&previous, seq, &document, &original);
                previous = hash;
                Stored { seq, document, original, hash }
            })
            .collect()
    }

    fn check(partition: &str, rows: &[Stored], end: Option<End>) -> Result<Verified, Break> {
        let mut verifier = Verifier::new(partition, end);
        for row in rows {
            verifier.push(row)?;
        }
        verifier.finish()
    }

    fn end_of(rows: &[Stored]) -> Option<End> {
        rows.last().map(|r| End { last_seq: r.seq, head: r.hash })
    }

    #[test]
    fn the_encoding_is_pinned() {
        // Computed independently, with Python: sha256(b"makonis-siem-v1\n32:" + bytes(32) + b",1:1,2:{},3:<1>,")
        let hash = link(&[0; 32], 1, b"{}", b"<1>");
        assert_eq!(hex(&hash), "804dfef661df39e6f6f61a247de35d7a36672f3d1dbe39ea385a4c9227d29314");
    }

    #[test]
    fn an_intact_partition_verifies_to_its_end() {
        let rows = chain("2026-12-06/authentication", 5);
        let verified = check("2026-12-06/authentication", &rows, end_of(&rows)).unwrap();
        assert_eq!(verified.count, 5);
        assert_eq!(verified.end, end_of(&rows).unwrap());
        assert_eq!(check("2026-12-06/authentication", &[], None).unwrap().count, 0);
    }

    #[test]
    fn an_edit_is_named() {
        let mut rows = chain("p", 5);
        let end = end_of(&rows);
        rows[2].document = b"{\"message\":\"nothing happened\"}".to_vec();
        assert_eq!(check("p", &rows, end), Err(Break::Altered { seq: 3 }));
        let mut rows = chain("p", 5);
        rows[1].original.push(b'!');
        assert_eq!(check("p", &rows, end), Err(Break::Altered { seq: 2 }));
    }

    #[test]
    fn a_deletion_in_the_middle_or_at_the_end_is_named() {
        let mut rows = chain("p", 6);
        let end = end_of(&rows);
        rows.remove(3);
        assert_eq!(check("p", &rows, end), Err(Break::Removed { from: 4, to: 4 }));
        let mut rows = chain("p", 6);
        rows.truncate(4);
        assert_eq!(check("p", &rows, end), Err(Break::Removed { from: 5, to: 6 }));
    }

    #[test]
    fn an_insertion_is_named() {
        let rows = chain("p", 4);
        let end = end_of(&rows);
        let mut extended = chain("p", 5);
        assert_eq!(check("p", &extended, end), Err(Break::Inserted { seq: 5 }));
        extended.insert(2, extended[1].clone());
        assert_eq!(check("p", &extended[..4], None), Err(Break::Inserted { seq: 2 }));
    }

    #[test]
    fn a_chain_rewritten_from_scratch_does_not_reach_the_recorded_end() {
        let rows = chain("p", 3);
        let end = end_of(&rows);
        let mut previous = genesis("p");
        let forged: Vec<Stored> = rows
            .iter()
            .map(|r| {
                let document = b"{\"message\":\"benign\"}".to_vec();
                let hash = link(&previous, r.seq, &document, &r.original);
                previous = hash;
                Stored { document, hash, ..r.clone() }
            })
            .collect();
        assert_eq!(check("p", &forged, end), Err(Break::Rewritten { last_seq: 3 }));
    }

    #[test]
    fn every_checkpoint_is_an_anchor_the_chain_must_pass() {
        let rows = chain("p", 6);
        let first = End { last_seq: 3, head: rows[2].hash };
        let anchors = [first, end_of(&rows).unwrap()];
        let mut verifier = Verifier::new("p", anchors);
        for row in &rows {
            verifier.push(row).unwrap();
        }
        assert_eq!(verifier.finish().unwrap().count, 6);
        let forged = End { last_seq: 3, head: genesis("other") };
        let mut verifier = Verifier::new("p", [forged, end_of(&rows).unwrap()]);
        let broken = rows.iter().try_for_each(|row| verifier.push(row));
        assert_eq!(broken, Err(Break::Rewritten { last_seq: 3 }));
    }

    #[test]
    fn rows_moved_between_partitions_do_not_link() {
        let rows = chain("2026-12-05/system", 2);
        assert_eq!(check("2026-12-06/system", &rows, None), Err(Break::Altered { seq: 1 }));
    }

    #[test]
    fn checkpoints_are_signed_and_any_change_voids_them() {
        let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
        let rows = chain("p", 3);
        let checkpoint = key.checkpoint("p", 3, end_of(&rows).unwrap(), "2026-12-07T00:05:00Z".parse().unwrap());
        assert!(checkpoint.signed_by(&key.public_key()));
        let mut forged = checkpoint.clone();
        forged.end.last_seq = 2;
        assert!(!forged.signed_by(&key.public_key()));
        let other = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
        assert!(!checkpoint.signed_by(&other.public_key()));
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        // An interim signature does not pass for a closing one, nor the reverse.
        let interim = key.interim("p", 3, end_of(&rows).unwrap(), "2026-12-06T12:00:00Z".parse().unwrap());
        assert!(interim.signed_by(&key.public_key()));
        let closing = Checkpoint { interim: false, ..interim.clone() };
        assert!(!closing.signed_by(&key.public_key()));
        let reopened = Checkpoint { interim: true, ..checkpoint };
        assert!(!reopened.signed_by(&key.public_key()));
    }

    #[test]
    fn hex_round_trips() {
        let hash = genesis("x");
        assert_eq!(from_hex(&hex(&hash)), Some(hash));
        assert_eq!(from_hex("zz"), None);
    }

    proptest! {
        #[test]
        fn any_single_change_to_a_chain_is_found(n in 2u64..30, at in 0usize..30, what in 0u8..4) {
            let rows = chain("p", n);
            let end = end_of(&rows);
            let at = at % rows.len();
            let mut changed = rows.clone();
            match what {
                0 => changed[at].document.push(b' '),
                1 => { changed.remove(at); }
                2 => changed[at].hash[0] ^= 1,
                _ => changed.insert(at, rows[at].clone()),
            }
            prop_assert!(check("p", &changed, end).is_err());
        }
    }
}
