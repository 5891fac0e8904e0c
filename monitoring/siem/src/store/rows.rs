//! What both databases read and write the same way: events linked onto a partition's
//! chain before they are kept in blocks, and catalog rows decoded as they are read back.
//! Free of either database, so that both backends build on it.

use jiff::SignedDuration;
use makonis_siem_core::{
    alerts::{AlertListRequest, AlertState, Triage, TriageAction, TriageRecord, Verdict},
    block::BlockEvent,
    chain::{Checkpoint, End, Hash, from_hex, link},
    event::Event,
    retention::SourceCategory,
};

use super::{AlertRecord, PartitionKey, Removal, StoreError, StoredAlert};

/// Links `events` one after the other onto the chain ending at `head`, as a block keeps
/// them; the new end.
pub(super) fn link_all(head: End, events: &[&Event], skew_limit: SignedDuration) -> (Vec<BlockEvent>, End) {
    let End { last_seq: mut seq, head: mut previous } = head;
    let mut linked = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let document = event.document(skew_limit);
        let hash = link(&previous, seq, document.as_bytes(), &event.original);
        linked.push(BlockEvent::of(event, skew_limit, seq, document, hash));
        previous = hash;
    }
    (linked, End { last_seq: seq, head: previous })
}

/// A stored hash.
pub(super) fn hash_of(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}

/// A stored head's place.
pub(super) fn seq_of(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative head".into()))
}

/// A catalog's partition row.
pub(super) fn partition_key(day: &str, category: &str) -> Result<PartitionKey, StoreError> {
    Ok(PartitionKey {
        day: day.parse().map_err(|_| StoreError::Corrupt(format!("partition day {day:?}")))?,
        category: SourceCategory::parse(category)
            .ok_or_else(|| StoreError::Corrupt(format!("partition category {category:?}")))?,
    })
}

/// A catalog's checkpoint row: `(count, last_seq, head, signed_at, key_id, signature)`, a
/// closing one.
pub(super) fn checkpoint(
    partition: &str,
    (count, last_seq, head, signed_at, key_id, signature): (i64, i64, String, String, String, Vec<u8>),
) -> Result<Checkpoint, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("checkpoint of {partition}: {what}"));
    Ok(Checkpoint {
        partition: partition.to_owned(),
        count: u64::try_from(count).map_err(|_| corrupt("count"))?,
        end: End {
            last_seq: u64::try_from(last_seq).map_err(|_| corrupt("last_seq"))?,
            head: from_hex(&head).ok_or_else(|| corrupt("head"))?,
        },
        signed_at: signed_at.parse().map_err(|_| corrupt("signed_at"))?,
        // The catalog keeps the checkpoints that close a partition only.
        interim: false,
        key_id,
        signature,
    })
}

/// A catalog's removal row: `(partition, removed_at, events, last_checkpoint, policy, months)`.
pub(super) fn removal(
    (partition, removed_at, events, last_checkpoint, policy, months): (
        String,
        String,
        i64,
        Option<String>,
        String,
        i64,
    ),
) -> Result<Removal, StoreError> {
    Ok(Removal {
        partition,
        removed_at: removed_at.parse().map_err(|_| StoreError::Corrupt("removed_at".into()))?,
        events: u64::try_from(events).unwrap_or(0),
        last_checkpoint,
        policy,
        months: u8::try_from(months).unwrap_or(0),
    })
}

/// The columns of an alert row, in the order both catalogs select them.
pub(super) const ALERT_COLUMNS: &str = "id, raised_at, object, rule_id, title, level, kind, agency, group_json, first, last, \
     events, delay_seconds, late, firings";

/// The INSERT of an alert into `table`, its values in the order of [`ALERT_COLUMNS`].
pub(super) fn alert_insert(table: &str) -> String {
    format!(
        "INSERT INTO {table} ({ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )
}

/// The UPDATE that folds firings into an alert of `table` (`$1` firings, `$2` the newest
/// time, `$3` the id).
pub(super) fn alert_fold(table: &str) -> String {
    format!(
        "UPDATE {table} SET firings = firings + $1, last = CASE WHEN last < $2 THEN $2 ELSE last END, events = $4 \
         WHERE id = $3"
    )
}

/// The statement that reads an alert's events before a fold adds to them.
pub(super) fn alert_events(table: &str) -> String {
    format!("SELECT events FROM {table} WHERE id = $1")
}

/// A catalog's alert row: the texts of [`ALERT_COLUMNS`] (times as RFC 3339), then the
/// delay, whether it was raised late and its firings.
pub(super) fn alert(
    texts: [Option<String>; 12],
    delay_seconds: f64,
    late: bool,
    firings: i64,
) -> Result<AlertRecord, StoreError> {
    let [id, raised_at, object, rule_id, title, level, kind, agency, group, first, last, events] = texts;
    let time = |text: Option<String>| -> Result<jiff::Timestamp, StoreError> {
        text.unwrap_or_default().parse().map_err(|e| StoreError::Corrupt(format!("an alert's time: {e}")))
    };
    Ok(AlertRecord {
        id: id.unwrap_or_default(),
        raised_at: time(raised_at)?,
        object: object.unwrap_or_default(),
        rule_id,
        title: title.unwrap_or_default(),
        level: level.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        agency,
        group: group.unwrap_or_default(),
        first: time(first)?,
        last: time(last)?,
        events: events.unwrap_or_default(),
        delay_seconds,
        late,
        firings,
    })
}

/// An alert's time as the catalog keeps it: RFC 3339 in UTC with six digits of the
/// second, so that comparing the texts compares the times (folding keeps the latest).
pub(super) fn alert_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The SELECT of alerts (`a`) with their handling (`t`): the row number, the columns of
/// [`ALERT_COLUMNS`], then the handling's state, assignee, verdict and time.
pub(super) fn alert_select(alerts: &str, triage: &str, row: &str) -> String {
    let columns = ALERT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT a.{row}, {columns}, t.state, t.assignee, t.verdict, t.updated_at \
         FROM {alerts} a LEFT JOIN {triage} t ON t.alert_id = a.id"
    )
}

/// A value bound to a query built at run time.
pub(super) enum Bind {
    /// Text.
    Text(String),
    /// A number.
    Number(i64),
}

/// The list query for `request` after `select` ([`alert_select`]), with its values in
/// the order of their `$n`.
pub(super) fn alert_list_query(select: &str, row: &str, request: &AlertListRequest) -> (String, Vec<Bind>) {
    let mut binds = Vec::new();
    let mut conditions = Vec::new();
    let placeholders = |values: &[String], binds: &mut Vec<Bind>| {
        values
            .iter()
            .map(|value| {
                binds.push(Bind::Text(value.clone()));
                format!("${}", binds.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(agencies) = &request.agencies {
        conditions.push(match agencies.is_empty() {
            true => "1 = 0".to_owned(),
            false => format!("a.agency IN ({})", placeholders(agencies, &mut binds)),
        });
    }
    if let Some(levels) = &request.levels {
        conditions.push(match levels.is_empty() {
            true => "1 = 0".to_owned(),
            false => format!("a.level IN ({})", placeholders(levels, &mut binds)),
        });
    }
    if let Some(state) = request.state {
        binds.push(Bind::Text(state.as_str().to_owned()));
        conditions.push(format!("COALESCE(t.state, 'open') = ${}", binds.len()));
    }
    for (bound, compare) in [(request.after, ">"), (request.before, "<")] {
        if let Some(bound) = bound {
            binds.push(Bind::Number(bound));
            conditions.push(format!("a.{row} {compare} ${}", binds.len()));
        }
    }
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!(" WHERE {}", conditions.join(" AND ")),
    };
    let order = if request.after.is_some() { "ASC" } else { "DESC" };
    binds.push(Bind::Number(i64::try_from(request.limit).unwrap_or(i64::MAX)));
    (format!("{select}{filter} ORDER BY a.{row} {order} LIMIT ${}", binds.len()), binds)
}

/// An alert read with [`alert_select`]: its row number, the texts and the three other
/// values of [`alert`], and its handling's texts ([`triage`]).
pub(super) fn stored_alert(
    row: i64,
    texts: [Option<String>; 12],
    (delay_seconds, late, firings): (f64, bool, i64),
    triage_texts: [Option<String>; 4],
) -> Result<StoredAlert, StoreError> {
    let record = alert(texts, delay_seconds, late, firings)?;
    let triage = match triage_texts[0] {
        Some(_) => triage(triage_texts)?,
        None => Triage::default(),
    };
    Ok(StoredAlert { row, record, triage })
}

/// An alert's handling from its row's state, assignee, verdict and time.
pub(super) fn triage([state, assignee, verdict, updated_at]: [Option<String>; 4]) -> Result<Triage, StoreError> {
    let state = state.unwrap_or_default();
    let state = AlertState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("an alert's state {state:?}")))?;
    let verdict = match verdict {
        Some(text) => {
            Some(Verdict::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("an alert's verdict {text:?}")))?)
        }
        None => None,
    };
    Ok(Triage { state, assignee, verdict, updated_at })
}

/// An action as the catalog keeps it.
pub(super) fn action_json(action: &TriageAction) -> String {
    serde_json::to_string(action).unwrap_or_default()
}

/// A recorded action from its row.
pub(super) fn triage_record(
    at: String,
    actor: String,
    address: String,
    action: String,
) -> Result<TriageRecord, StoreError> {
    let action = serde_json::from_str(&action).map_err(|e| StoreError::Corrupt(format!("an alert's action: {e}")))?;
    Ok(TriageRecord { at, actor, address, action })
}
