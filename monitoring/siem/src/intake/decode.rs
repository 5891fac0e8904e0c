//! Frames and JSON records into events of the LogSource that claims their sender, or into
//! quarantine.

use jiff::Timestamp;
use makonis_siem_core::{
    claims::{Claims, Format, Source},
    framing::Frame,
    normalise::{Origin, batch_records, from_json, from_syslog},
    syslog::{LegacyClock, parse},
};

use super::{Batch, Peer};
use crate::store::Quarantined;

/// The source name of events no LogSource claims.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// Decodes a syslog frame from `peer` into `batch`, as its LogSource's format says.
pub fn decode(
    frame: Frame,
    peer: &Peer,
    transport: &'static str,
    claims: &Claims,
    received: Timestamp,
    batch: &mut Batch,
) {
    let quarantine = Quarantine { peer, transport, received };
    let source = match peer.source(claims) {
        Ok(source) => source,
        Err((reason, detail)) => {
            let original = match frame {
                Frame::Message(bytes) | Frame::Malformed { bytes, .. } => bytes,
            };
            batch.quarantined.push(quarantine.item(UNKNOWN_SOURCE, reason, detail, original));
            return;
        }
    };
    match frame {
        Frame::Message(bytes) => record(&bytes, source, source.format, &quarantine, batch),
        Frame::Malformed { bytes, error } => {
            batch.quarantined.push(quarantine.item(&source.id, error.category(), error.to_string(), bytes));
        }
    }
}

/// Decodes the body of an HTTPS request from `peer` (see [`batch_records`]) into
/// `batch`: every record is JSON, whatever the LogSource's format. A body that holds no
/// records at all is quarantined whole.
pub fn decode_body(body: &[u8], peer: &Peer, claims: &Claims, received: Timestamp, batch: &mut Batch) {
    let quarantine = Quarantine { peer, transport: "https", received };
    let claimed = peer.source(claims);
    let records = match batch_records(body) {
        Ok(records) => records,
        Err(error) => {
            let source = claimed.map_or(UNKNOWN_SOURCE, |s| s.id.as_str());
            batch.quarantined.push(quarantine.item(source, error.category(), error.to_string(), body.to_vec()));
            return;
        }
    };
    match claimed {
        Ok(source) => {
            for bytes in records {
                record(bytes, source, Format::Json, &quarantine, batch);
            }
        }
        Err((reason, detail)) => {
            for bytes in records {
                batch.quarantined.push(quarantine.item(UNKNOWN_SOURCE, reason, detail.clone(), bytes.to_vec()));
            }
        }
    }
}

/// Where quarantined items came from.
struct Quarantine<'a> {
    peer: &'a Peer,
    transport: &'static str,
    received: Timestamp,
}

impl Quarantine<'_> {
    fn item(&self, source: &str, reason: &'static str, detail: String, original: Vec<u8>) -> Quarantined {
        Quarantined {
            received_at: self.received,
            transport: self.transport,
            peer: Some(self.peer.address()),
            source: source.to_owned(),
            reason,
            detail,
            original,
        }
    }
}

/// One record of `source` in `format` into an event, or into quarantine with the reason.
fn record(bytes: &[u8], source: &Source, format: Format, quarantine: &Quarantine, batch: &mut Batch) {
    let received = quarantine.received;
    let origin = Origin { source: source.id.clone(), agency: source.agency.clone(), received };
    let event = match format {
        Format::Syslog => match parse(bytes, &LegacyClock::new(received, source.zone.clone())) {
            Ok(message) => Ok(from_syslog(&message, &origin, bytes)),
            Err(error) => Err((error.category(), error.to_string())),
        },
        Format::Json | Format::KubernetesAudit => {
            from_json(bytes, &origin).map_err(|error| (error.category(), error.to_string()))
        }
    };
    match event {
        Ok(event) => batch.events.push((event, source.category)),
        Err((reason, detail)) => batch.quarantined.push(quarantine.item(&source.id, reason, detail, bytes.to_vec())),
    }
}
