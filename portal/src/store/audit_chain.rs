//! The audit trail's hash chain, as pure functions: the canonical encoding of a row, its
//! hash, and the check that walks the chain and names the first row that breaks it.
//!
//! Row `n` carries `hash_n = SHA-256(canonical(hash_{n-1}, n, row))`, lower-case hex,
//! with `hash_0` = [`GENESIS`]. The encoding is [`VERSION`] followed by each field as a
//! netstring-like `<byte length>:<UTF-8 bytes>,` (integers in decimal, a NULL as `~,`),
//! in a fixed order: previous hash, seq, id, at, actor, agency, action, object, outcome,
//! source address, session or token id, user agent, detail. Lengths make the encoding
//! unambiguous (no value can run into the next); the version names it, so that a future
//! change of fields starts a new encoding rather than reinterpreting old rows.

use std::fmt;

use sha2::{Digest, Sha256};

use super::audit::AuditEvent;

/// The encoding's name, the first bytes hashed for every row.
pub const VERSION: &str = "makonis-audit-v1";

/// The hash the first row links to (there is no row 0).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many hex digits a hash has.
const HASH_LEN: usize = 64;

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(text) => {
            out.extend_from_slice(text.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(text.as_bytes());
        }
        None => out.push(b'~'),
    }
    out.push(b',');
}

/// The bytes hashed for row `seq` with id `id`, linked to the row before by `previous`.
pub fn canonical(previous: &str, seq: i64, id: &str, event: &AuditEvent) -> Vec<u8> {
    let mut out = VERSION.as_bytes().to_vec();
    out.push(b'\n');
    for value in [
        Some(previous),
        Some(seq.to_string().as_str()),
        Some(id),
        Some(event.at.to_string().as_str()),
        Some(event.actor.as_str()),
        event.agency.as_deref(),
        Some(event.action.as_str()),
        Some(event.object.as_str()),
        Some(event.outcome.as_str()),
        Some(event.source_ip.as_str()),
        Some(event.session_id.as_str()),
        Some(event.user_agent.as_str()),
        Some(event.detail.as_str()),
    ] {
        field(&mut out, value);
    }
    out
}

/// The hash of row `seq` (id `id`, content `event`) following a row whose hash is
/// `previous`.
pub fn link_hash(previous: &str, seq: i64, id: &str, event: &AuditEvent) -> String {
    Sha256::digest(canonical(previous, seq, id, event)).iter().map(|b| format!("{b:02x}")).collect()
}

/// A row as read back for the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its place in the chain, from 1.
    pub seq: i64,
    /// Its id.
    pub id: String,
    /// Its content.
    pub event: AuditEvent,
    /// The hash stored with it.
    pub hash: String,
}

/// The chain's head as stored: the last row's place and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last row's seq (0 before the first row).
    pub seq: i64,
    /// The last row's hash ([`GENESIS`] before the first row).
    pub hash: String,
}

/// A row's hash recorded elsewhere earlier (printed by the check, kept by the operator),
/// which the chain must still contain: a chain rewritten from an earlier row on, with
/// every hash recomputed, no longer matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The row's seq.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    /// Parses `SEQ:HASH`, as the check prints it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = text.split_once(':').ok_or_else(|| format!("`{text}` is not SEQ:HASH"))?;
        let seq = seq.parse::<i64>().ok().filter(|s| *s >= 1).ok_or_else(|| format!("`{seq}` is not a row number"))?;
        let hash = hash.to_ascii_lowercase();
        if hash.len() != HASH_LEN || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("`{hash}` is not a SHA-256 in hex"));
        }
        Ok(Self { seq, hash })
    }
}

/// The first thing found wrong with the chain; each names the row where the check stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// A row that is not in the chain at all (no seq or no hash): written around the
    /// chain, directly in SQL.
    Unchained {
        /// The row's id.
        id: String,
        /// Its time (Unix ms).
        at: i64,
    },
    /// The chain's head row is gone.
    NoHead,
    /// The row does not match its hash: its content or seq was changed, or the hash of
    /// the row before it was (a row rewritten with a recomputed hash breaks the next).
    Altered {
        /// The row's seq.
        seq: i64,
        /// The row's id.
        id: String,
    },
    /// Rows are missing before this one: deleted, or moved elsewhere in the order.
    Gap {
        /// The seq that should have come next.
        expected: i64,
        /// The seq of the row found instead.
        seq: i64,
        /// Its id.
        id: String,
    },
    /// A row repeats a place already taken (a copy, or a row moved back).
    Repeated {
        /// The seq it claims.
        seq: i64,
        /// Its id.
        id: String,
    },
    /// The last rows are gone: the head says the chain is longer than the rows are.
    TailMissing {
        /// The last row found.
        last: i64,
        /// Where the head says the chain ends.
        head: i64,
    },
    /// The last row is not the one the head recorded.
    HeadMismatch {
        /// The last row's seq.
        seq: i64,
    },
    /// A row lies beyond the head: added around the chain.
    BeyondHead {
        /// Its seq.
        seq: i64,
        /// Its id.
        id: String,
    },
    /// The anchored row's hash is not the one recorded: the chain was rewritten at or
    /// before it.
    AnchorMismatch {
        /// The anchored seq.
        seq: i64,
    },
    /// The anchored row is no longer in the chain.
    AnchorMissing {
        /// The anchored seq.
        seq: i64,
    },
}

impl Break {
    /// A bounded name of the kind of break, for logs and exit reports.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Unchained { .. } => "unchained",
            Self::NoHead => "no_head",
            Self::Altered { .. } => "altered",
            Self::Gap { .. } => "gap",
            Self::Repeated { .. } => "repeated",
            Self::TailMissing { .. } => "tail_missing",
            Self::HeadMismatch { .. } => "head_mismatch",
            Self::BeyondHead { .. } => "beyond_head",
            Self::AnchorMismatch { .. } => "anchor_mismatch",
            Self::AnchorMissing { .. } => "anchor_missing",
        }
    }

    /// The seq of the first broken row, when the break is at a row of the chain.
    pub fn seq(&self) -> Option<i64> {
        match self {
            Self::Altered { seq, .. }
            | Self::Gap { seq, .. }
            | Self::Repeated { seq, .. }
            | Self::HeadMismatch { seq }
            | Self::BeyondHead { seq, .. }
            | Self::AnchorMismatch { seq }
            | Self::AnchorMissing { seq } => Some(*seq),
            Self::TailMissing { last, .. } => Some(last + 1),
            Self::Unchained { .. } | Self::NoHead => None,
        }
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unchained { id, at } => {
                write!(f, "row id {id} (at {at} ms) is not in the chain: it was written around it, directly in SQL")
            }
            Self::NoHead => write!(f, "the chain's head row (table audit_chain) is missing"),
            Self::Altered { seq, id } => write!(
                f,
                "row {seq} (id {id}) does not match its hash: it was changed, or row {} was rewritten",
                seq - 1
            ),
            Self::Gap { expected, seq, id } => write!(
                f,
                "row {expected} is missing: the row after row {} is row {seq} (id {id}); rows were deleted or moved",
                expected - 1
            ),
            Self::Repeated { seq, id } => {
                write!(f, "row {seq} appears again (id {id}): a row was copied or moved back in the order")
            }
            Self::TailMissing { last, head } if last + 1 == *head => {
                write!(f, "row {head} is missing: the chain ends at row {head} but the last row is {last}")
            }
            Self::TailMissing { last, head } => {
                write!(
                    f,
                    "rows {}–{head} are missing: the chain ends at row {head} but the last row is {last}",
                    last + 1
                )
            }
            Self::HeadMismatch { seq } => {
                write!(f, "row {seq}, the last, is not the row the chain's head recorded: it was replaced")
            }
            Self::BeyondHead { seq, id } => {
                write!(f, "row {seq} (id {id}) lies beyond the chain's head: it was added around it")
            }
            Self::AnchorMismatch { seq } => {
                write!(f, "row {seq} no longer has the anchored hash: the chain was rewritten at or before it")
            }
            Self::AnchorMissing { seq } => write!(f, "the anchored row {seq} is no longer in the chain"),
        }
    }
}

/// What an intact chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// How many rows (the last row's seq).
    pub rows: i64,
    /// The last row's hash: record it (with `rows`) to anchor later checks.
    pub head_hash: String,
}

/// Walks the chain row by row in seq order.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: i64,
    previous: String,
    anchor: Option<Anchor>,
}

impl Verifier {
    /// A check from the first row, holding the chain to `anchor` if given.
    pub fn new(anchor: Option<Anchor>) -> Self {
        Self { next_seq: 1, previous: GENESIS.to_string(), anchor }
    }

    /// Checks the next row.
    pub fn check(&mut self, link: &Link) -> Result<(), Break> {
        if link.seq < self.next_seq {
            return Err(Break::Repeated { seq: link.seq, id: link.id.clone() });
        }
        if link.seq > self.next_seq {
            return Err(Break::Gap { expected: self.next_seq, seq: link.seq, id: link.id.clone() });
        }
        if link_hash(&self.previous, link.seq, &link.id, &link.event) != link.hash {
            return Err(Break::Altered { seq: link.seq, id: link.id.clone() });
        }
        if let Some(anchor) = &self.anchor
            && anchor.seq == link.seq
            && anchor.hash != link.hash
        {
            return Err(Break::AnchorMismatch { seq: anchor.seq });
        }
        self.previous.clone_from(&link.hash);
        self.next_seq += 1;
        Ok(())
    }

    /// Ends the walk: every row up to the head was checked; the last must be the head's.
    pub fn finish(self, head: &Head) -> Result<Summary, Break> {
        let last = self.next_seq - 1;
        if last < head.seq {
            return Err(Break::TailMissing { last, head: head.seq });
        }
        if self.previous != head.hash {
            return Err(Break::HeadMismatch { seq: last });
        }
        if let Some(anchor) = self.anchor
            && anchor.seq > last
        {
            return Err(Break::AnchorMissing { seq: anchor.seq });
        }
        Ok(Summary { rows: last, head_hash: self.previous })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, agency: Option<&str>) -> AuditEvent {
        AuditEvent {
            at: 1_700_000_000_000,
            actor: actor.into(),
            agency: agency.map(str::to_string),
            action: "approve".into(),
            object: "request vdi-7".into(),
            outcome: "success".into(),
            source_ip: "192.0.2.7".into(),
            session_id: "s-0123456789abcdef".into(),
            user_agent: "Mozilla/5.0".into(),
            detail: "labi".into(),
        }
    }

    fn chain(n: i64) -> Vec<Link> {
        let mut previous = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let event = event(&format!("user{seq}"), Some("vdi"));
                let id = format!("id{seq}");
                let hash = link_hash(&previous, seq, &id, &event);
                previous.clone_from(&hash);
                Link { seq, id, event, hash }
            })
            .collect()
    }

    fn verify(links: &[Link], head: &Head, anchor: Option<Anchor>) -> Result<Summary, Break> {
        let mut verifier = Verifier::new(anchor);
        for link in links {
            verifier.check(link)?;
        }
        verifier.finish(head)
    }

    fn head_of(links: &[Link]) -> Head {
        links.last().map_or(Head { seq: 0, hash: GENESIS.into() }, |l| Head { seq: l.seq, hash: l.hash.clone() })
    }

    #[test]
    fn the_encoding_is_fixed() {
        // A known answer: stored hashes depend on these exact bytes.
        let bytes = canonical(GENESIS, 1, "abc", &event("anna", None));
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            format!(
                "makonis-audit-v1\n64:{GENESIS},1:1,3:abc,13:1700000000000,4:anna,~,7:approve,13:request vdi-7,\
                 7:success,9:192.0.2.7,18:s-0123456789abcdef,11:Mozilla/5.0,4:labi,"
            )
        );
        // Computed independently (Python's hashlib over the text above).
        assert_eq!(
            link_hash(GENESIS, 1, "abc", &event("anna", None)),
            "974d8a2035151914bd299fc845f426346ed5ac7b588bf398864094fa88ff711b"
        );
    }

    #[test]
    fn values_cannot_run_into_each_other_and_null_differs_from_empty() {
        let mut a = event("ab", Some("c"));
        let mut b = event("a", Some("bc"));
        assert_ne!(canonical(GENESIS, 1, "x", &a), canonical(GENESIS, 1, "x", &b));
        a.agency = None;
        b = a.clone();
        b.agency = Some(String::new());
        assert_ne!(link_hash(GENESIS, 1, "x", &a), link_hash(GENESIS, 1, "x", &b));
        let latvian = event("jānis", Some("lm"));
        assert!(
            String::from_utf8(canonical(GENESIS, 1, "x", &latvian)).unwrap().contains("6:jānis,"),
            "bytes, not chars"
        );
    }

    #[test]
    fn an_intact_chain_is_summarised_by_its_head() {
        let links = chain(5);
        let summary = verify(&links, &head_of(&links), None).unwrap();
        assert_eq!(summary, Summary { rows: 5, head_hash: links[4].hash.clone() });
        assert_eq!(verify(&[], &head_of(&[]), None).unwrap().rows, 0, "an empty trail is intact");
    }

    #[test]
    fn an_edited_row_is_named() {
        let mut links = chain(5);
        let head = head_of(&links);
        links[2].event.actor = "mallory".into();
        assert_eq!(verify(&links, &head, None), Err(Break::Altered { seq: 3, id: "id3".into() }));
    }

    #[test]
    fn a_row_rewritten_with_a_recomputed_hash_breaks_the_next() {
        let mut links = chain(5);
        let head = head_of(&links);
        links[2].event.outcome = "denied".into();
        links[2].hash = link_hash(&links[1].hash, 3, "id3", &links[2].event);
        assert_eq!(verify(&links, &head, None), Err(Break::Altered { seq: 4, id: "id4".into() }));
    }

    #[test]
    fn a_deleted_row_is_named_by_the_gap() {
        let mut links = chain(5);
        let head = head_of(&links);
        links.remove(1);
        assert_eq!(verify(&links, &head, None), Err(Break::Gap { expected: 2, seq: 3, id: "id3".into() }));
    }

    #[test]
    fn deleted_last_rows_are_found_against_the_head() {
        let mut links = chain(5);
        let head = head_of(&links);
        links.truncate(3);
        assert_eq!(verify(&links, &head, None), Err(Break::TailMissing { last: 3, head: 5 }));
        assert_eq!(Break::TailMissing { last: 3, head: 5 }.seq(), Some(4));
    }

    #[test]
    fn reordered_rows_are_found() {
        // Swapping two rows' places: each now claims the other's seq.
        let mut links = chain(5);
        let head = head_of(&links);
        links.swap(1, 2);
        (links[1].seq, links[2].seq) = (2, 3);
        assert_eq!(verify(&links, &head, None), Err(Break::Altered { seq: 2, id: "id3".into() }));
        // Swapping them in the walk without renumbering: a repeat or a gap.
        let mut links = chain(5);
        links.swap(1, 2);
        assert_eq!(verify(&links, &head, None), Err(Break::Gap { expected: 2, seq: 3, id: "id3".into() }));
        let mut links = chain(5);
        links[3].seq = 3;
        assert_eq!(verify(&links, &head, None), Err(Break::Repeated { seq: 3, id: "id4".into() }));
    }

    #[test]
    fn a_replaced_last_row_is_found_against_the_head() {
        let mut links = chain(3);
        let head = head_of(&links);
        links[2].event.detail = "other".into();
        links[2].hash = link_hash(&links[1].hash, 3, "id3", &links[2].event);
        assert_eq!(verify(&links, &head, None), Err(Break::HeadMismatch { seq: 3 }));
    }

    #[test]
    fn a_chain_rewritten_whole_is_caught_by_an_anchor() {
        let original = chain(4);
        let anchor = Anchor { seq: 2, hash: original[1].hash.clone() };
        // Every row from 2 on rewritten with recomputed hashes, the head moved along.
        let mut forged = original.clone();
        forged[1].event.actor = "mallory".into();
        for i in 1..forged.len() {
            forged[i].hash = link_hash(&forged[i - 1].hash.clone(), forged[i].seq, &forged[i].id, &forged[i].event);
        }
        assert!(verify(&forged, &head_of(&forged), None).is_ok(), "without an anchor a full rewrite is consistent");
        assert_eq!(verify(&forged, &head_of(&forged), Some(anchor.clone())), Err(Break::AnchorMismatch { seq: 2 }));
        assert!(verify(&original, &head_of(&original), Some(anchor)).is_ok());
        let beyond = Anchor { seq: 9, hash: GENESIS.into() };
        assert_eq!(verify(&original, &head_of(&original), Some(beyond)), Err(Break::AnchorMissing { seq: 9 }));
    }

    #[test]
    fn anchors_are_parsed_as_printed() {
        let hash = "A".repeat(64);
        assert_eq!(format!("7:{hash}").parse::<Anchor>(), Ok(Anchor { seq: 7, hash: "a".repeat(64) }));
        assert!("7".parse::<Anchor>().is_err());
        assert!("0:".parse::<Anchor>().is_err());
        assert!(format!("x:{hash}").parse::<Anchor>().is_err());
        assert!("3:abc".parse::<Anchor>().is_err());
        assert!(format!("3:{}", "g".repeat(64)).parse::<Anchor>().is_err());
    }

    #[test]
    fn every_break_names_where_the_check_stopped() {
        let altered = Break::Altered { seq: 12, id: "abc".into() };
        assert!(altered.to_string().starts_with("row 12 (id abc)"), "{altered}");
        assert_eq!(altered.seq(), Some(12));
        assert_eq!(altered.category(), "altered");
        let gap = Break::Gap { expected: 4, seq: 6, id: "def".into() };
        assert!(gap.to_string().starts_with("row 4 is missing"), "{gap}");
    }
}
