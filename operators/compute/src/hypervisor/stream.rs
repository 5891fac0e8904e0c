//! Moving bytes through libvirt streams: the message size libvirt handles well and a send
//! that delivers a whole buffer.

use virt::error::Error as VirtError;
use virt::stream::Stream;

/// Size of one pipeline buffer; libvirt moves at most 256 KiB per stream message, so one
/// buffer gathers many messages and each stage wakes up rarely.
pub(crate) const CHUNK: usize = 4 << 20;
/// Bytes per stream message: libvirt's stream payload limit (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX).
/// Larger sends are accepted but the daemon handles them several times slower.
const MESSAGE: usize = 256 << 10;

/// Sends all of `data`, whatever the stream takes per call.
pub(crate) fn send_all(stream: &Stream, mut data: &[u8]) -> Result<(), VirtError> {
    while !data.is_empty() {
        let sent = stream.send(&data[..data.len().min(MESSAGE)])?;
        if sent <= 0 {
            return Err(VirtError::last_error());
        }
        data = &data[sent as usize..];
    }
    Ok(())
}
