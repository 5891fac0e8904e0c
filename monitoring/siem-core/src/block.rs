//! Blocks: how the store keeps a partition's events compactly.
//!
//! A block holds consecutive places of one partition's chain (at most [`BLOCK_EVENTS`]),
//! encoded column by column (every event's time together, every document together, …)
//! and compressed with zstd. Security logs repeat themselves (host names, programs, the
//! same message with another user or address), and a column of like values compresses
//! far better than rows of mixed ones: a block takes about a tenth of what a row per event
//! took. Each event keeps its own link of the chain, so verification still names the first
//! altered event. Beside each block, its [`terms`] (LogSources, agencies, users, addresses)
//! tell a search which blocks to open.
//!
//! The newest events of a partition arrive in small batches; each append writes them as
//! a small block, and [`plan_append`] decides when the small blocks at the end of the
//! chain are rewritten into full ones, so that an event is compressed at most twice and a
//! partition never holds more than [`TAIL_BLOCKS`] small blocks.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::{
    chain::{Hash, Stored},
    event::{Event, Outcome},
};

/// The events of a full block.
pub const BLOCK_EVENTS: usize = 512;

/// The small blocks a partition may hold at the end of its chain before they are merged.
pub const TAIL_BLOCKS: usize = 8;

/// The most a block may decode to: what a damaged or forged block can make a reader
/// allocate.
pub const MAX_DECODED: u64 = 256 << 20;

/// The first byte of every block: its encoding.
const FORMAT: u8 = 1;

/// zstd's level: 3 compresses a block of the benchmark's events 11.7× at 670 MB/s; 9
/// would store a quarter less at 115 MB/s, which at 100,000 events a second is a whole
/// core (measured in `docs/benchmarks.md`).
const LEVEL: i32 = 3;

/// One event as a block keeps it: what the chain covers (document, original, link) and
/// the fields a search filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEvent {
    /// Its place in the partition's chain.
    pub seq: u64,
    /// The time it is kept and searched by (`Event::retention_time`), µs since the epoch.
    pub time: i64,
    /// When the SIEM received it, µs since the epoch.
    pub created: i64,
    /// The LogSource, `namespace/name`.
    pub source: String,
    /// The agency, none for the platform's.
    pub agency: Option<String>,
    /// `user.name`.
    pub user: Option<String>,
    /// `source.ip`, canonical text.
    pub ip: Option<String>,
    /// `event.action`.
    pub action: Option<String>,
    /// `event.outcome`.
    pub outcome: Outcome,
    /// `event.category`.
    pub category: Option<String>,
    /// The ECS document, as chained.
    pub document: String,
    /// `event.original`, byte for byte, as chained.
    pub original: Vec<u8>,
    /// Its link of the chain.
    pub hash: Hash,
}

impl BlockEvent {
    /// `event` at place `seq` of its partition's chain, with its document and link.
    pub fn of(event: &Event, skew_limit: SignedDuration, seq: u64, document: String, hash: Hash) -> Self {
        Self {
            seq,
            time: event.retention_time(skew_limit).as_microsecond(),
            created: event.created.as_microsecond(),
            source: event.source.clone(),
            agency: event.agency.clone(),
            user: event.user_name.clone(),
            ip: event.source_ip.map(|ip| ip.to_string()),
            action: event.action.clone(),
            outcome: event.outcome,
            category: event.category.map(|c| c.as_str().to_owned()),
            document,
            original: event.original.clone(),
            hash,
        }
    }

    /// What the chain's check reads of it.
    pub fn stored(self) -> Stored {
        Stored { seq: self.seq, document: self.document.into_bytes(), original: self.original, hash: self.hash }
    }
}

/// Why a stored block cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Empty, or an encoding this version does not know.
    #[error("the block's encoding is unknown (first byte {0:?})")]
    Format(Option<u8>),
    /// The compressed bytes are damaged, or would decode to more than [`MAX_DECODED`].
    #[error("the block does not decompress: {0}")]
    Compression(String),
    /// The columns are not what was encoded.
    #[error("the block's columns do not decode: {0}")]
    Columns(String),
}

/// The columns of a block, in the order they are encoded.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Columns {
    seq: Vec<u64>,
    time: Vec<i64>,
    created: Vec<i64>,
    source: Vec<String>,
    agency: Vec<Option<String>>,
    user: Vec<Option<String>>,
    ip: Vec<Option<String>>,
    action: Vec<Option<String>>,
    outcome: Vec<String>,
    category: Vec<Option<String>>,
    document: Vec<String>,
    original: Vec<ByteBuf>,
    hash: Vec<Hash>,
}

/// A block of `events`, compressed.
pub fn encode(events: &[BlockEvent]) -> Result<Vec<u8>, BlockError> {
    let mut columns = Columns::default();
    for event in events {
        columns.seq.push(event.seq);
        columns.time.push(event.time);
        columns.created.push(event.created);
        columns.source.push(event.source.clone());
        columns.agency.push(event.agency.clone());
        columns.user.push(event.user.clone());
        columns.ip.push(event.ip.clone());
        columns.action.push(event.action.clone());
        columns.outcome.push(event.outcome.as_str().to_owned());
        columns.category.push(event.category.clone());
        columns.document.push(event.document.clone());
        columns.original.push(ByteBuf::from(event.original.clone()));
        columns.hash.push(event.hash);
    }
    let plain = postcard::to_stdvec(&columns).map_err(|e| BlockError::Columns(e.to_string()))?;
    let mut body = vec![FORMAT];
    body.extend(zstd::bulk::compress(&plain, LEVEL).map_err(|e| BlockError::Compression(e.to_string()))?);
    Ok(body)
}

/// The events of a block, in the order they were encoded.
pub fn decode(body: &[u8]) -> Result<Vec<BlockEvent>, BlockError> {
    let Some((&FORMAT, compressed)) = body.split_first() else {
        return Err(BlockError::Format(body.first().copied()));
    };
    // The frame names its decoded size; a block that does not, or names too much, is
    // refused before anything is allocated.
    let size = match zstd::zstd_safe::get_frame_content_size(compressed) {
        Ok(Some(size)) if size <= MAX_DECODED => size as usize,
        Ok(Some(size)) => return Err(BlockError::Compression(format!("it would decode to {size} bytes"))),
        Ok(None) | Err(_) => return Err(BlockError::Compression("no zstd frame with its size".into())),
    };
    let plain = zstd::bulk::decompress(compressed, size).map_err(|e| BlockError::Compression(e.to_string()))?;
    let columns: Columns = postcard::from_bytes(&plain).map_err(|e| BlockError::Columns(e.to_string()))?;
    let count = columns.seq.len();
    let lengths = [
        columns.time.len(),
        columns.created.len(),
        columns.source.len(),
        columns.agency.len(),
        columns.user.len(),
        columns.ip.len(),
        columns.action.len(),
        columns.outcome.len(),
        columns.category.len(),
        columns.document.len(),
        columns.original.len(),
        columns.hash.len(),
    ];
    if lengths.iter().any(|&length| length != count) {
        return Err(BlockError::Columns("the columns differ in length".into()));
    }
    let Columns { seq, time, created, source, agency, user, ip, action, outcome, category, document, original, hash } =
        columns;
    let mut time = time.into_iter();
    let mut created = created.into_iter();
    let mut source = source.into_iter();
    let mut agency = agency.into_iter();
    let mut user = user.into_iter();
    let mut ip = ip.into_iter();
    let mut action = action.into_iter();
    let mut outcome = outcome.into_iter();
    let mut category = category.into_iter();
    let mut document = document.into_iter();
    let mut original = original.into_iter();
    let mut hash = hash.into_iter();
    // Every column has `count` values (checked above): each `next` is `Some`.
    Ok(seq
        .into_iter()
        .filter_map(|seq| {
            Some(BlockEvent {
                seq,
                time: time.next()?,
                created: created.next()?,
                source: source.next()?,
                agency: agency.next()?,
                user: user.next()?,
                ip: ip.next()?,
                action: action.next()?,
                outcome: Outcome::parse(&outcome.next()?),
                category: category.next()?,
                document: document.next()?,
                original: original.next()?.into_vec(),
                hash: hash.next()?,
            })
        })
        .collect())
}

/// What a block's terms name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// `makonis.source`.
    Source,
    /// `makonis.agency`.
    Agency,
    /// `user.name`.
    User,
    /// `source.ip`.
    Ip,
}

impl TermKind {
    fn prefix(self) -> &'static str {
        match self {
            TermKind::Source => "s:",
            TermKind::Agency => "a:",
            TermKind::User => "u:",
            TermKind::Ip => "i:",
        }
    }
}

/// The term a block is looked up by for `value` of `kind`: the kind's letter, a colon
/// and the value (whatever the value holds, the kind is its first letter).
pub fn term(kind: TermKind, value: &str) -> String {
    format!("{}{value}", kind.prefix())
}

/// The value of a term of `kind`, if it is one.
pub fn term_value(kind: TermKind, term: &str) -> Option<&str> {
    term.strip_prefix(kind.prefix())
}

/// Whether a term names an owner of events (a LogSource or an agency): a partition has
/// few of these, and most of its blocks have each, unlike users and addresses.
pub fn is_owner(term: &str) -> bool {
    term_value(TermKind::Source, term).is_some() || term_value(TermKind::Agency, term).is_some()
}

/// Every term of a block's events, once.
pub fn terms(events: &[BlockEvent]) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for event in events {
        terms.insert(term(TermKind::Source, &event.source));
        for (kind, value) in
            [(TermKind::Agency, &event.agency), (TermKind::User, &event.user), (TermKind::Ip, &event.ip)]
        {
            if let Some(value) = value {
                terms.insert(term(kind, value));
            }
        }
    }
    terms
}

/// A stored block as an append's plan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpan {
    /// Its first place.
    pub first_seq: u64,
    /// Its events.
    pub events: usize,
}

/// What an append writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    /// The small blocks at the end of the chain that are read and written again with the
    /// new events (their first places).
    pub rewrite: Vec<u64>,
    /// The sizes of the blocks written, in order: of the rewritten blocks' events and the
    /// new ones.
    pub blocks: Vec<usize>,
}

/// How `new` events are appended to a partition whose newest blocks are `newest` (oldest
/// first; the last few are enough). The small blocks at the end are rewritten with the new
/// events once they hold a full block's worth, or are [`TAIL_BLOCKS`] many; otherwise
/// the new events are a block of their own.
pub fn plan_append(newest: &[BlockSpan], new: usize) -> AppendPlan {
    let small = newest.iter().rev().take_while(|block| block.events < BLOCK_EVENTS).count();
    let tail = &newest[newest.len() - small..];
    let tail_events: usize = tail.iter().map(|block| block.events).sum();
    let (rewrite, total) = if tail_events + new >= BLOCK_EVENTS || tail.len() >= TAIL_BLOCKS {
        (tail.iter().map(|block| block.first_seq).collect(), tail_events + new)
    } else {
        (Vec::new(), new)
    };
    let mut blocks = vec![BLOCK_EVENTS; total / BLOCK_EVENTS];
    if total % BLOCK_EVENTS > 0 {
        blocks.push(total % BLOCK_EVENTS);
    }
    AppendPlan { rewrite, blocks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> BlockEvent {
        BlockEvent {
            seq,
            time: 1_796_000_000_000_000 + seq as i64,
            created: 1_796_000_000_000_100 + seq as i64,
            source: "agency-lm/servers".into(),
            agency: Some("lm".into()),
            user: seq.is_multiple_of(2).then(|| format!("user{}", seq % 5)),
            ip: Some(format!("10.0.0.{}", seq % 7)),
            action: None,
            outcome: if seq.is_multiple_of(3) { Outcome::Failure } else { Outcome::Success },
            category: Some("authentication".into()),
            document: format!("{{\"message\":\"event {seq}\"}}"),
            original: format!("<38>Dec  7 04:25:10 srv sshd[1]: event {seq} \u{0}\u{ff}").into_bytes(),
            hash: [seq as u8; 32],
        }
    }

    #[test]
    fn a_block_decodes_to_the_events_it_was_made_of() {
        let events: Vec<_> = (1..=300).map(event).collect();
        let body = encode(&events).unwrap();
        assert_eq!(decode(&body).unwrap(), events);
        assert!(body.len() < events.iter().map(|e| e.original.len() + e.document.len()).sum::<usize>() / 4);
        assert_eq!(decode(&encode(&[]).unwrap()).unwrap(), vec![]);
    }

    #[test]
    fn damaged_blocks_are_refused_never_a_panic() {
        let body = encode(&[event(1), event(2)]).unwrap();
        assert_eq!(decode(&[]), Err(BlockError::Format(None)));
        assert_eq!(decode(&[9, 1, 2]), Err(BlockError::Format(Some(9))));
        assert!(matches!(decode(&body[..body.len() - 3]), Err(BlockError::Compression(_))));
        let mut flipped = body.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(decode(&flipped).is_err());
        // Columns of different lengths.
        let mut columns = Columns::default();
        columns.seq.push(1);
        let plain = postcard::to_stdvec(&columns).unwrap();
        let mut ragged = vec![FORMAT];
        ragged.extend(zstd::bulk::compress(&plain, 1).unwrap());
        assert!(matches!(decode(&ragged), Err(BlockError::Columns(_))));
    }

    #[test]
    fn a_block_that_would_decode_to_too_much_is_refused_before_it_is_decoded() {
        let mut body = vec![FORMAT];
        body.extend(zstd::bulk::compress(&vec![0u8; (MAX_DECODED + 1) as usize], 1).unwrap());
        assert!(matches!(decode(&body), Err(BlockError::Compression(message)) if message.contains("would decode")));
    }

    #[test]
    fn terms_name_each_source_agency_user_and_address_once() {
        let terms = terms(&[event(2), event(4), event(9)]);
        let expected = ["a:lm", "i:10.0.0.2", "i:10.0.0.4", "s:agency-lm/servers", "u:user2", "u:user4"];
        assert_eq!(terms.iter().map(String::as_str).collect::<Vec<_>>(), expected);
        assert_eq!(term_value(TermKind::User, "u:a:b"), Some("a:b"));
        assert_eq!(term_value(TermKind::Agency, "u:lm"), None);
        assert!(is_owner("s:agency-lm/servers") && is_owner("a:lm"));
        assert!(!is_owner("u:s:x") && !is_owner("i:10.0.0.1"));
    }

    fn spans(sizes: &[usize]) -> Vec<BlockSpan> {
        let mut first_seq = 1;
        sizes
            .iter()
            .map(|&events| {
                let span = BlockSpan { first_seq, events };
                first_seq += events as u64;
                span
            })
            .collect()
    }

    #[test]
    fn small_appends_make_small_blocks_until_a_full_one_is_due() {
        assert_eq!(plan_append(&[], 10), AppendPlan { rewrite: vec![], blocks: vec![10] });
        assert_eq!(plan_append(&spans(&[512, 10]), 20), AppendPlan { rewrite: vec![], blocks: vec![20] });
        // A full block's worth: the small ones and the new events, cut into full blocks.
        assert_eq!(
            plan_append(&spans(&[512, 500, 10]), 20),
            AppendPlan { rewrite: vec![513, 1013], blocks: vec![512, 18] }
        );
        // Too many small blocks: merged into one.
        let many = spans(&[512, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(plan_append(&many, 1), AppendPlan { rewrite: (513..=520).collect(), blocks: vec![9] });
        // A large batch on its own.
        assert_eq!(plan_append(&spans(&[512]), 1200), AppendPlan { rewrite: vec![], blocks: vec![512, 512, 176] });
    }
}
