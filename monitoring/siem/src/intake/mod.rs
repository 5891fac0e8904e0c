//! The intake: senders' bytes into the store, with backpressure and nothing dropped
//! silently.
//!
//! Readers (TCP in [`tcp`], TLS in [`tls`], UDP in [`udp`], RELP in [`relp`], JSON over
//! HTTPS in [`https`]) cut frames or records, [`decode`] turns each into an event of the
//! LogSource that claims the sender (by its address, or over TLS by its client
//! certificate), or into a quarantined item with its reason, and hand them in batches to the one [`writer`] that owns the store, through a
//! queue bounded twice: in batches, and in the bytes of the records waiting in it (a
//! batch holds its share of the [`Intake::budget`] until it is stored), so that memory
//! stays bounded however fast a sender writes. A TCP reader waits when either is full,
//! so the sender's TCP window closes and it slows down; a UDP datagram that finds no room
//! is dropped and counted, since UDP has no way to slow a sender. A RELP reader
//! acknowledges a message only once the writer has stored it.

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
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch},
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
    /// The delivery it came in (a RELP session, an HTTPS request), when the sender
    /// resends what it saw unacknowledged.
    pub resendable: Option<makonis_siem_core::dedup::Delivery>,
    /// How many of the first events may be resends: those among the first messages of a
    /// RELP session, where a sender puts what it resends after reconnecting. A repeat
    /// among them is counted and stored once; later in a session, identical bytes are
    /// another event (two failed sign-ins in one second look alike in RFC 3164).
    pub resend_candidates: usize,
    /// Its share of the intake's byte budget, given back once it is stored.
    pub budget: Option<OwnedSemaphorePermit>,
}

impl Batch {
    /// Whether it holds nothing to store.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.quarantined.is_empty()
    }

    /// The bytes of the records it holds, as received.
    pub fn bytes(&self) -> usize {
        self.events.iter().map(|(event, _)| event.original.len()).sum::<usize>()
            + self.quarantined.iter().map(|item| item.original.len()).sum::<usize>()
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
    /// The bounded queue to the writer; batches enter it only through
    /// [`Intake::submit`] and [`Intake::try_submit`], which take their bytes' budget.
    queue: mpsc::Sender<Batch>,
    /// Bytes of received records that may wait for the store at once, a permit a byte.
    budget: Arc<Semaphore>,
    /// The budget's size in bytes.
    budget_bytes: usize,
    /// Counters per source and of drops.
    pub stats: Arc<Stats>,
}

/// Why a batch was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No room now (only when not waiting).
    Full,
    /// The writer has stopped.
    Closed,
}

impl Intake {
    /// Readers' shared state over `claims` and `queue`, with `budget_bytes` of received
    /// records allowed to wait for the store.
    pub fn new(
        claims: watch::Receiver<Arc<Claims>>,
        queue: mpsc::Sender<Batch>,
        budget_bytes: usize,
        stats: Arc<Stats>,
    ) -> Self {
        let budget_bytes = budget_bytes.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Self { claims, queue, budget: Arc::new(Semaphore::new(budget_bytes)), budget_bytes, stats }
    }

    /// The permits a batch of `bytes` takes: at most the whole budget, so that a batch
    /// larger than it still passes once nothing else waits.
    fn permits_for(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.clamp(1, self.budget_bytes)).unwrap_or(u32::MAX)
    }

    /// Queues `batch` once there is room in bytes and in batches, waiting for it (the
    /// reader, and so its sender, waits meanwhile).
    pub async fn submit(&self, mut batch: Batch) -> Result<(), Refused> {
        let permits = self.permits_for(batch.bytes());
        batch.budget = Some(self.budget.clone().acquire_many_owned(permits).await.map_err(|_| Refused::Closed)?);
        self.queue.send(batch).await.map_err(|_| Refused::Closed)
    }

    /// Queues `batch` as [`Intake::submit`] does and waits until the writer has stored
    /// it durably: what RELP acknowledges and HTTPS answers only then. `Closed` when the
    /// writer stopped first (nothing is confirmed; the sender sends again).
    pub async fn store(&self, mut batch: Batch) -> Result<(), Refused> {
        let (stored_tx, stored_rx) = tokio::sync::oneshot::channel();
        batch.stored = Some(stored_tx);
        self.submit(batch).await?;
        stored_rx.await.map_err(|_| Refused::Closed)
    }

    /// Queues `batch` if there is room now, in bytes and in batches.
    pub fn try_submit(&self, mut batch: Batch) -> Result<(), Refused> {
        let permits = self.permits_for(batch.bytes());
        batch.budget = Some(self.budget.clone().try_acquire_many_owned(permits).map_err(|_| Refused::Full)?);
        self.queue.try_send(batch).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => Refused::Full,
            mpsc::error::TrySendError::Closed(_) => Refused::Closed,
        })
    }
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
