//! Streaming volume copies between hosts (or pools of one host) with SHA-256 on the way, and
//! checksums of a volume's content.
//!
//! A copy runs three stages at once on a small ring of large buffers: a reader thread drains
//! the download stream, the calling thread feeds the upload stream (and reports progress), and
//! a hasher thread digests each buffer after it was sent and hands it back to the reader. The
//! copy therefore runs at about the speed of its slowest stage. When both volumes are on the
//! machine the operator runs on, the copy and checksum take the host-local path instead
//! (see [`super::local`]).

use std::panic::resume_unwind;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use sha2::{Digest, Sha256};
use virt::error::Error as VirtError;
use virt::stream::Stream;

use super::HypervisorError;
use super::connection::Hypervisor;
use super::local;
use super::spec::{CopyReport, VolumeFormat, VolumeSource, VolumeSpec};
use super::stream::{CHUNK, send_all};

/// Buffers in flight between the three stages.
const BUFFERS: usize = 6;
/// Bytes between two progress reports.
const PROGRESS_STEP: u64 = 8 << 20;

/// Fills `buffer` from `stream`; fewer bytes only at the end of the stream (0 at its end).
fn receive_full(stream: &Stream, buffer: &mut [u8]) -> Result<usize, VirtError> {
    let mut filled = 0;
    while filled < buffer.len() {
        let received = stream.recv(&mut buffer[filled..])?;
        if received == 0 {
            break;
        }
        if received < 0 {
            return Err(VirtError::last_error());
        }
        filled += received as usize;
    }
    Ok(filled)
}

/// The reader stage: fills free buffers from `download` until its end, then finishes it. Stops
/// (aborting the download) when the consumer has gone away.
fn read_stage(download: Stream, free: Receiver<Vec<u8>>, full: SyncSender<(Vec<u8>, usize)>) -> Result<(), VirtError> {
    loop {
        let Ok(mut buffer) = free.recv() else {
            // The consumer failed and reports its own error; abort only ends the stream.
            let _ = download.abort();
            return Ok(());
        };
        let filled = match receive_full(&download, &mut buffer) {
            Ok(filled) => filled,
            Err(e) => {
                let _ = download.abort();
                return Err(e);
            }
        };
        if filled == 0 {
            return download.finish();
        }
        if full.send((buffer, filled)).is_err() {
            let _ = download.abort();
            return Ok(());
        }
    }
}

/// The hasher stage: digests buffers in order and hands them back to the reader.
fn hash_stage(sent: Receiver<(Vec<u8>, usize)>, free: mpsc::Sender<Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    for (buffer, len) in sent {
        hasher.update(&buffer[..len]);
        // The reader may have finished already; the buffer is then simply dropped.
        let _ = free.send(buffer);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Streams `download` (of `volume` on `source`) through `sink` on this thread while reading
/// and hashing on two others.
fn pump(
    source: &Hypervisor,
    volume: &str,
    download: Stream,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), HypervisorError>,
) -> Result<CopyReport, HypervisorError> {
    thread::scope(|scope| {
        let (free_sender, free_receiver) = mpsc::channel();
        for _ in 0..BUFFERS {
            free_sender.send(vec![0u8; CHUNK]).expect("the receiver is alive");
        }
        let (full_sender, full_receiver) = mpsc::sync_channel(BUFFERS);
        let (sent_sender, sent_receiver) = mpsc::sync_channel(BUFFERS);
        let reader = scope.spawn(move || read_stage(download, free_receiver, full_sender));
        let hasher = scope.spawn(move || hash_stage(sent_receiver, free_sender));
        let mut bytes = 0u64;
        let mut sunk = Ok(());
        for (buffer, len) in &full_receiver {
            if let Err(e) = sink(&buffer[..len]) {
                sunk = Err(e);
                break;
            }
            bytes += len as u64;
            if sent_sender.send((buffer, len)).is_err() {
                break;
            }
        }
        drop(full_receiver);
        drop(sent_sender);
        let read = reader.join().unwrap_or_else(|panic| resume_unwind(panic));
        let sha256 = hasher.join().unwrap_or_else(|panic| resume_unwind(panic));
        sunk?;
        read.map_err(|e| source.fail(format!("download volume {volume}"), e))?;
        Ok(CopyReport { bytes, sha256 })
    })
}

/// Copies raw volume `source_name` of pool `source_pool` on `source` into volume `target_name`
/// of pool `target_pool` on `target` (possibly the same host), hashing the bytes with SHA-256
/// on the way. The target is created raw with the source's capacity; an existing target (a
/// restore in place) must be raw and exactly as large. `progress` receives the bytes copied so
/// far, every few MiB and at the end. When both hosts are this machine, the copy takes the
/// host-local path; otherwise it streams through libvirt.
pub fn copy_volume(
    source: &Hypervisor,
    source_pool: &str,
    source_name: &str,
    target: &Hypervisor,
    target_pool: &str,
    target_name: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<CopyReport, HypervisorError> {
    transfer(source, source_pool, source_name, target, target_pool, target_name, progress, true)
}

/// [`copy_volume`] through libvirt's streams even when both hosts are this machine: the
/// path every copy between two machines takes.
pub fn stream_volume(
    source: &Hypervisor,
    source_pool: &str,
    source_name: &str,
    target: &Hypervisor,
    target_pool: &str,
    target_name: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<CopyReport, HypervisorError> {
    transfer(source, source_pool, source_name, target, target_pool, target_name, progress, false)
}

#[allow(clippy::too_many_arguments)]
fn transfer(
    source: &Hypervisor,
    source_pool: &str,
    source_name: &str,
    target: &Hypervisor,
    target_pool: &str,
    target_name: &str,
    progress: &mut dyn FnMut(u64),
    allow_local: bool,
) -> Result<CopyReport, HypervisorError> {
    let from = format!("{source_name} of pool {source_pool}");
    let to = format!("{target_name} of pool {target_pool}");
    if source.uri() == target.uri() && source_pool == target_pool && source_name == target_name {
        return Err(source.refused(format!("volume {from} cannot be copied onto itself")));
    }
    let (source_volume, source_info) = source.require_volume(source_pool, source_name)?;
    if source_info.format != VolumeFormat::Raw {
        return Err(source.refused(format!(
            "volume {from} is qcow2; copy_volume copies raw volumes only. Clone it to a raw volume first \
             (create_volume with VolumeSource::Clone and VolumeFormat::Raw)"
        )));
    }
    let capacity = source_info.capacity_bytes;
    let target_info = match target.find_volume(target_pool, target_name)? {
        Some(existing) if existing.format != VolumeFormat::Raw || existing.capacity_bytes != capacity => {
            return Err(target.refused(format!(
                "volume {to} exists as {:?} with {} bytes, but the copy of {from} needs a raw volume of exactly {capacity} \
                 bytes; delete the target volume or copy into a new one",
                existing.format, existing.capacity_bytes
            )));
        }
        Some(existing) => existing,
        None => target.create_volume(
            target_pool,
            &VolumeSpec {
                name: target_name.to_string(),
                capacity_bytes: capacity,
                format: VolumeFormat::Raw,
                source: VolumeSource::Empty,
            },
        )?,
    };
    if allow_local
        && local::is_local(source.uri())
        && local::is_local(target.uri())
        && let Some((from_file, to_file)) = local::open_pair(&source_info.path, &target_info.path)
    {
        let report = local::copy(from_file, to_file, capacity).map_err(|source| HypervisorError::Io {
            uri: target.shown_uri().to_string(),
            volume: format!("{target_pool}/{target_name}"),
            source,
        })?;
        progress(report.bytes);
        return Ok(report);
    }
    let (target_volume, _) = target.require_volume(target_pool, &target_info.name)?;

    let download_fail = |e| source.fail(format!("download volume {from}"), e);
    let download = Stream::new(source.conn(), 0).map_err(download_fail)?;
    source_volume.download(&download, 0, capacity, 0).map_err(download_fail)?;
    let upload_fail = |e| target.fail(format!("upload into volume {to}"), e);
    let upload = Stream::new(target.conn(), 0).map_err(upload_fail)?;
    if let Err(e) = target_volume.upload(&upload, 0, capacity, 0) {
        let _ = download.abort();
        return Err(upload_fail(e));
    }

    let mut copied = 0u64;
    let mut reported = 0u64;
    let pumped = pump(source, &from, download, &mut |data| {
        send_all(&upload, data).map_err(upload_fail)?;
        copied += data.len() as u64;
        if copied - reported >= PROGRESS_STEP {
            reported = copied;
            progress(copied);
        }
        Ok(())
    });
    let report = match pumped {
        Ok(report) if report.bytes == capacity => report,
        Ok(report) => {
            let _ = upload.abort();
            return Err(HypervisorError::Checksum {
                uri: source.shown_uri().to_string(),
                volume: format!("{source_pool}/{source_name}"),
                problem: format!("delivered {} bytes but has {capacity}", report.bytes),
            });
        }
        Err(e) => {
            // The pipeline's error is the one to report; abort only ends the upload.
            let _ = upload.abort();
            return Err(e);
        }
    };
    upload.finish().map_err(upload_fail)?;
    if reported != copied {
        progress(copied);
    }
    Ok(report)
}

/// SHA-256 over the whole content of volume `name` of pool `pool` (streamed, nothing stored).
pub fn checksum_volume(host: &Hypervisor, pool: &str, name: &str) -> Result<CopyReport, HypervisorError> {
    let what = format!("{name} of pool {pool}");
    let (volume, info) = host.require_volume(pool, name)?;
    if local::is_local(host.uri())
        && info.format == VolumeFormat::Raw
        && let Ok(file) = std::fs::File::open(&info.path)
    {
        return local::hash(file, info.capacity_bytes).map_err(|source| HypervisorError::Io {
            uri: host.shown_uri().to_string(),
            volume: format!("{pool}/{name}"),
            source,
        });
    }
    let fail = |e| host.fail(format!("download volume {what}"), e);
    let download = Stream::new(host.conn(), 0).map_err(fail)?;
    volume.download(&download, 0, 0, 0).map_err(fail)?;
    let report = pump(host, &what, download, &mut |_| Ok(()))?;
    if info.format == VolumeFormat::Raw && report.bytes != info.capacity_bytes {
        return Err(HypervisorError::Checksum {
            uri: host.shown_uri().to_string(),
            volume: format!("{pool}/{name}"),
            problem: format!("delivered {} bytes but has {}", report.bytes, info.capacity_bytes),
        });
    }
    Ok(report)
}

/// The whole content of volume `name` of pool `pool`, which must be at most `limit` bytes
/// (a small record such as a backup's manifest; anything larger is refused unread).
pub fn read_volume(host: &Hypervisor, pool: &str, name: &str, limit: u64) -> Result<Vec<u8>, HypervisorError> {
    let (volume, info) = host.require_volume(pool, name)?;
    if info.capacity_bytes > limit {
        return Err(host.refused(format!(
            "volume {name} of pool {pool} holds {} bytes, more than the {limit} bytes expected of it",
            info.capacity_bytes
        )));
    }
    let fail = |e| host.fail(format!("download volume {name} of pool {pool}"), e);
    let download = Stream::new(host.conn(), 0).map_err(fail)?;
    volume.download(&download, 0, info.capacity_bytes, 0).map_err(fail)?;
    // One byte more than expected: the stream's end is then read too, and more data than
    // the volume claims to hold is noticed.
    let mut content = vec![0u8; info.capacity_bytes as usize + 1];
    let filled = match receive_full(&download, &mut content) {
        Ok(filled) if filled as u64 <= info.capacity_bytes => filled,
        Ok(_) => {
            let _ = download.abort();
            return Err(host.refused(format!("volume {name} of pool {pool} delivered more than its capacity")));
        }
        Err(e) => {
            let _ = download.abort();
            return Err(fail(e));
        }
    };
    download.finish().map_err(fail)?;
    content.truncate(filled);
    Ok(content)
}

/// Checks that volume `name` of pool `pool` has the SHA-256 `expected_sha256` (hex, any case),
/// e.g. after a restore; [`HypervisorError::Checksum`] when it differs.
pub fn verify_volume(
    host: &Hypervisor,
    pool: &str,
    name: &str,
    expected_sha256: &str,
) -> Result<CopyReport, HypervisorError> {
    let report = checksum_volume(host, pool, name)?;
    if !report.sha256.eq_ignore_ascii_case(expected_sha256) {
        return Err(HypervisorError::Checksum {
            uri: host.shown_uri().to_string(),
            volume: format!("{pool}/{name}"),
            problem: format!("has SHA-256 {} instead of {}", report.sha256, expected_sha256.to_ascii_lowercase()),
        });
    }
    Ok(report)
}
