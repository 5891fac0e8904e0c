//! The intake: senders' bytes into the store, with backpressure and nothing dropped
//! silently.
//!
//! Readers (TCP in [`tcp`], TLS in [`tls`], UDP in [`udp`], RELP in [`relp`], JSON over
//! HTTPS in [`https`]) cut frames or records, [`decode`] turns each into an event of the LogSource that claims the sender (by its
//! address, or over TLS by its client certificate), or into a quarantined item with its
//! reason, and hand them in batches to the one [`writer`] that owns the store, through a
//! bounded queue. A TCP reader waits when the queue is full, so the sender's TCP window
//! closes and it slows down; a UDP datagram that finds the queue full is dropped and
//! counted, since UDP has no way to slow a sender. A RELP reader acknowledges a message
//! only once the writer has stored it.

pub mod decode;
pub mod https;
pub mod metrics;
pub mod relp;
pub mod stats;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod writer;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use makonis_siem_core::{
    claims::{Certified, Claims, Source},
    event::Event,
    retention::SourceCategory,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch},
    task::JoinSet,
};

use crate::store::Quarantined;

pub use stats::{SourceStats, Stats};

/// Events and quarantined items decoded together, stored together.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events, each with its LogSource's category.
    pub events: Vec<(Event, SourceCategory)>,
    /// What could not become an event.
    pub quarantined: Vec<Quarantined>,
    /// Told once everything above is durable (RELP acknowledges then).
    pub stored: Option<tokio::sync::oneshot::Sender<()>>,
    /// The RELP session it came in, when the sender resends what it saw unacknowledged.
    pub resendable: Option<makonis_siem_core::dedup::Delivery>,
    /// How many of the first events may be resends: those among the first messages of a
    /// RELP session, where a sender puts what it resends after reconnecting. A repeat
    /// among them is counted and stored once; later in a session, identical bytes are
    /// another event (two failed sign-ins in one second look alike in RFC 3164).
    pub resend_candidates: usize,
}

impl Batch {
    /// Whether it holds nothing to store.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.quarantined.is_empty()
    }
}

/// Who sent a frame: an address, or over TLS a verified client certificate (and the
/// address it came from, kept with quarantined items).
#[derive(Debug, Clone)]
pub enum Peer {
    /// Claimed by address.
    Address(IpAddr),
    /// Claimed by the certificate's names, within the namespace it was issued for.
    Certificate {
        /// Where the connection came from.
        address: IpAddr,
        /// The certificate, verified against the platform CA.
        certificate: Arc<Certified>,
    },
}

impl Peer {
    /// The address the frame came from.
    pub fn address(&self) -> IpAddr {
        match self {
            Self::Address(address) | Self::Certificate { address, .. } => *address,
        }
    }

    /// The LogSource its frames belong to, or the quarantine reason and why.
    pub fn source<'c>(&self, claims: &'c Claims) -> Result<&'c Source, (&'static str, String)> {
        match self {
            Self::Address(address) => {
                claims.by_address(*address).ok_or_else(|| ("unknown_source", format!("no LogSource claims {address}")))
            }
            Self::Certificate { address, certificate } => claims
                .by_certified(certificate)
                .map_err(|refusal| (refusal.category(), format!("{refusal} (from {address})"))),
        }
    }
}

/// What every reader shares: the current claims, the queue to the writer, the counters.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The LogSources' claims, replaced whenever LogSources change.
    pub claims: watch::Receiver<Arc<Claims>>,
    /// The bounded queue to the writer.
    pub queue: mpsc::Sender<Batch>,
    /// Counters per source and of drops.
    pub stats: Arc<Stats>,
}

/// A new delivery number for deduplication: one per RELP session, one per HTTPS
/// request (0 is what the store held at start).
pub fn next_delivery() -> makonis_siem_core::dedup::Delivery {
    static DELIVERIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    DELIVERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Accepts connections until the task is stopped, each handled by `handle` in a task of
/// its own. Connections live in a set owned by this task: stopping it stops them too,
/// so that none keeps the writer's queue open after a shutdown.
async fn accept<F, Fut>(listener: TcpListener, intake: Intake, what: &'static str, handle: F)
where
    F: Fn(TcpStream, SocketAddr, Intake) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = handle(stream, peer, intake.clone());
                    connections.spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::warn!(%peer, %error, protocol = what, "a connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, protocol = what, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}
