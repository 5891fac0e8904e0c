//! The checkpoint log: every checkpoint appended as one JSON line to a file kept outside
//! the store (another volume, or storage the SIEM can only append to), so that rewriting
//! the store and its catalog together still leaves the signed ends elsewhere. Interim
//! checkpoints of open partitions are kept here only; the catalog has the closing ones.

use std::path::Path;

use makonis_siem_core::chain::{Checkpoint, End, from_hex, hex};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::StoreError;

#[derive(Serialize, Deserialize)]
struct Line {
    partition: String,
    count: u64,
    last_seq: u64,
    head: String,
    signed_at: String,
    /// Signed while the partition was open; absent (false) on closing checkpoints, as on
    /// every line written before interim checkpoints existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    interim: bool,
    key_id: String,
    signature: String,
}

/// Appends a checkpoint and waits until it is on disk.
pub(super) async fn append(path: &Path, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    let io = |e| StoreError::Io(path.to_path_buf(), e);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let line = Line {
        partition: checkpoint.partition.clone(),
        count: checkpoint.count,
        last_seq: checkpoint.end.last_seq,
        head: hex(&checkpoint.end.head),
        signed_at: checkpoint.signed_at.to_string(),
        interim: checkpoint.interim,
        key_id: checkpoint.key_id.clone(),
        signature: checkpoint.signature.iter().map(|b| format!("{b:02x}")).collect(),
    };
    let mut text = serde_json::to_string(&line).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    text.push('\n');
    let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await.map_err(io)?;
    file.write_all(text.as_bytes()).await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(())
}

/// Every checkpoint in the log; a line that does not read is an error naming its number.
pub(super) async fn read(path: &Path) -> Result<Vec<Checkpoint>, StoreError> {
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Io(path.to_path_buf(), e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let bad = |what: &str| StoreError::Corrupt(format!("{} line {}: {what}", path.display(), n + 1));
            let line: Line = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
            let signature = (0..line.signature.len() / 2)
                .map(|i| line.signature.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| bad("signature is not hex"))?;
            Ok(Checkpoint {
                partition: line.partition,
                count: line.count,
                end: End { last_seq: line.last_seq, head: from_hex(&line.head).ok_or_else(|| bad("head is not hex"))? },
                signed_at: line.signed_at.parse().map_err(|_| bad("signed_at is not a time"))?,
                interim: line.interim,
                key_id: line.key_id,
                signature,
            })
        })
        .collect()
}
