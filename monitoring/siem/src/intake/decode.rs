//! One frame into an event of the LogSource that claims its sender, or into quarantine.

use std::net::IpAddr;

use jiff::Timestamp;
use makonis_siem_core::{
    claims::{Claims, Format},
    framing::Frame,
    normalise::{Origin, from_json, from_syslog},
    syslog::{LegacyClock, parse},
};

use super::Batch;
use crate::store::Quarantined;

/// The source name of events no LogSource claims.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// Decodes a frame from `peer` into `batch`.
pub fn decode(
    frame: Frame,
    peer: IpAddr,
    transport: &'static str,
    claims: &Claims,
    received: Timestamp,
    batch: &mut Batch,
) {
    let quarantine = |source: &str, reason: &'static str, detail: String, original: Vec<u8>| Quarantined {
        received_at: received,
        transport,
        peer: Some(peer),
        source: source.to_owned(),
        reason,
        detail,
        original,
    };
    let Some(source) = claims.by_address(peer) else {
        let original = match frame {
            Frame::Message(bytes) | Frame::Malformed { bytes, .. } => bytes,
        };
        let detail = format!("no LogSource claims {peer}");
        batch.quarantined.push(quarantine(UNKNOWN_SOURCE, "unknown_source", detail, original));
        return;
    };
    let bytes = match frame {
        Frame::Message(bytes) => bytes,
        Frame::Malformed { bytes, error } => {
            batch.quarantined.push(quarantine(&source.id, error.category(), error.to_string(), bytes));
            return;
        }
    };
    let origin = Origin { source: source.id.clone(), agency: source.agency.clone(), received };
    let event = match source.format {
        Format::Syslog => match parse(&bytes, &LegacyClock::new(received, source.zone.clone())) {
            Ok(message) => Ok(from_syslog(&message, &origin, &bytes)),
            Err(error) => Err((error.category(), error.to_string())),
        },
        Format::Json | Format::KubernetesAudit => {
            from_json(&bytes, &origin).map_err(|error| (error.category(), error.to_string()))
        }
    };
    match event {
        Ok(event) => batch.events.push((event, source.category)),
        Err((reason, detail)) => batch.quarantined.push(quarantine(&source.id, reason, detail, bytes)),
    }
}
