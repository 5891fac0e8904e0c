//! Which LogSource an event belongs to, decided by where it came from.
//!
//! Every LogSource claims senders: addresses or networks, TLS certificate names, platform
//! senders. A sender two LogSources claim (the same name, or networks that overlap) is
//! claimed by neither: both are reported as conflicting and its events go to quarantine,
//! so that one agency cannot take another's logs by claiming its hosts. Platform senders
//! are honoured only in the platform's namespace. Among networks that do not conflict,
//! an address belongs to the one network that contains it.

use std::net::IpAddr;

use ipnet::IpNet;
use jiff::tz::TimeZone;

use crate::retention::SourceCategory;

/// How a source writes its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Syslog (RFC 5424 or 3164, JSON payloads read as JSON).
    Syslog,
    /// JSON records.
    Json,
    /// Kubernetes audit events.
    KubernetesAudit,
}

/// One of the platform's own senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlatformSender {
    /// The API server's audit webhook.
    KubernetesApiServer,
    /// The portal's audit trail.
    Portal,
}

/// A sender as a LogSource names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// An address or network.
    Network(IpNet),
    /// A TLS client certificate's DNS name.
    Certificate(String),
    /// A platform sender.
    Platform(PlatformSender),
}

/// A LogSource as the intake needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// `namespace/name`.
    pub id: String,
    /// The agency of its namespace; none for the platform's.
    pub agency: Option<String>,
    /// Whether it is in the platform's namespace (only then may it claim platform senders).
    pub platform: bool,
    /// How long its events are kept.
    pub category: SourceCategory,
    /// How its records are written.
    pub format: Format,
    /// The zone of its RFC 3164 times.
    pub zone: TimeZone,
    /// Who sends.
    pub senders: Vec<Sender>,
}

/// Why a LogSource's sender is not honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The LogSource (`namespace/name`).
    pub source: String,
    /// What happened, for its `Ready` condition.
    pub message: String,
}

/// The senders every LogSource claims, conflicts removed.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    sources: Vec<Source>,
    networks: Vec<(IpNet, usize)>,
    certificates: Vec<(String, usize)>,
    platform: Vec<(PlatformSender, usize)>,
}

impl Claims {
    /// The claims of `sources`, and every conflict found.
    pub fn new(sources: Vec<Source>) -> (Self, Vec<Conflict>) {
        let mut claims = Claims::default();
        let mut conflicts = Vec::new();
        for (index, source) in sources.iter().enumerate() {
            for sender in &source.senders {
                match sender {
                    Sender::Network(net) => claims.networks.push((net.trunc(), index)),
                    Sender::Certificate(name) => claims.certificates.push((name.to_ascii_lowercase(), index)),
                    Sender::Platform(_) if !source.platform => conflicts.push(Conflict {
                        source: source.id.clone(),
                        message: "platform senders are honoured only in the platform's namespace".into(),
                    }),
                    Sender::Platform(p) => claims.platform.push((*p, index)),
                }
            }
        }
        let clash = |a: usize, b: usize, what: String, conflicts: &mut Vec<Conflict>| {
            for (me, other) in [(a, b), (b, a)] {
                conflicts.push(Conflict {
                    source: sources[me].id.clone(),
                    message: format!("{what} is also claimed by {}; neither receives its events", sources[other].id),
                });
            }
        };
        let mut lost_networks = vec![false; claims.networks.len()];
        for i in 0..claims.networks.len() {
            for j in i + 1..claims.networks.len() {
                let ((a, ia), (b, ib)) = (claims.networks[i], claims.networks[j]);
                if ia != ib && (a.contains(&b) || b.contains(&a)) {
                    lost_networks[i] = true;
                    lost_networks[j] = true;
                    clash(ia, ib, format!("{}", if a.prefix_len() >= b.prefix_len() { a } else { b }), &mut conflicts);
                }
            }
        }
        let mut kept = lost_networks.iter().map(|lost| !lost);
        claims.networks.retain(|_| kept.next().unwrap_or(false));
        let duplicates = |list: &mut Vec<(String, usize)>, conflicts: &mut Vec<Conflict>| {
            let mut lost = vec![false; list.len()];
            for i in 0..list.len() {
                for j in i + 1..list.len() {
                    if list[i].0 == list[j].0 && list[i].1 != list[j].1 {
                        lost[i] = true;
                        lost[j] = true;
                        clash(list[i].1, list[j].1, format!("certificate name {}", list[i].0), conflicts);
                    }
                }
            }
            let mut kept = lost.iter().map(|lost| !lost);
            list.retain(|_| kept.next().unwrap_or(false));
        };
        duplicates(&mut claims.certificates, &mut conflicts);
        claims.sources = sources;
        conflicts.sort_by(|a, b| (&a.source, &a.message).cmp(&(&b.source, &b.message)));
        conflicts.dedup();
        (claims, conflicts)
    }

    /// The LogSource that claims a sender's address.
    pub fn by_address(&self, ip: IpAddr) -> Option<&Source> {
        let ip = ip.to_canonical();
        self.networks
            .iter()
            .filter(|(net, _)| net.contains(&ip))
            .max_by_key(|(net, _)| net.prefix_len())
            .map(|(_, i)| &self.sources[*i])
    }

    /// The LogSource that claims a TLS client certificate's DNS name.
    pub fn by_certificate(&self, name: &str) -> Option<&Source> {
        let name = name.to_ascii_lowercase();
        self.certificates.iter().find(|(n, _)| *n == name).map(|(_, i)| &self.sources[*i])
    }

    /// The LogSource that claims a platform sender.
    pub fn by_platform(&self, sender: PlatformSender) -> Option<&Source> {
        self.platform.iter().find(|(p, _)| *p == sender).map(|(_, i)| &self.sources[*i])
    }

    /// Every LogSource, claimed senders or not.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, senders: Vec<Sender>) -> Source {
        Source {
            id: id.into(),
            agency: id.strip_prefix("agency-").and_then(|r| r.split('/').next()).map(Into::into),
            platform: id.starts_with("makonis-system/"),
            category: SourceCategory::System,
            format: Format::Syslog,
            zone: TimeZone::UTC,
            senders,
        }
    }

    fn net(text: &str) -> Sender {
        Sender::Network(text.parse().unwrap())
    }

    #[test]
    fn an_address_belongs_to_the_network_that_holds_it() {
        let (claims, conflicts) = Claims::new(vec![
            source("agency-lm/servers", vec![net("10.1.0.0/24"), Sender::Certificate("DC1.lm.gov.lv".into())]),
            source("agency-vm/servers", vec![net("10.2.0.7/32"), net("fd00::/120")]),
        ]);
        assert!(conflicts.is_empty(), "{conflicts:?}");
        assert_eq!(claims.by_address("10.1.0.99".parse().unwrap()).map(|s| s.id.as_str()), Some("agency-lm/servers"));
        assert_eq!(
            claims.by_address("::ffff:10.2.0.7".parse().unwrap()).map(|s| s.id.as_str()),
            Some("agency-vm/servers")
        );
        assert_eq!(claims.by_address("fd00::42".parse().unwrap()).map(|s| s.id.as_str()), Some("agency-vm/servers"));
        assert!(claims.by_address("10.2.0.8".parse().unwrap()).is_none());
        assert_eq!(claims.by_certificate("dc1.LM.gov.lv").map(|s| s.id.as_str()), Some("agency-lm/servers"));
    }

    #[test]
    fn a_sender_two_sources_claim_is_claimed_by_neither() {
        let (claims, conflicts) = Claims::new(vec![
            source("agency-lm/servers", vec![net("10.1.0.0/24"), Sender::Certificate("dc1.lm.gov.lv".into())]),
            source("agency-vm/thief", vec![net("10.1.0.5/32"), Sender::Certificate("dc1.lm.gov.lv".into())]),
            source("agency-lm/other", vec![net("10.9.0.0/24")]),
        ]);
        assert!(claims.by_address("10.1.0.5".parse().unwrap()).is_none());
        assert!(claims.by_address("10.1.0.6".parse().unwrap()).is_none(), "the whole overlapping network is lost");
        assert!(claims.by_certificate("dc1.lm.gov.lv").is_none());
        assert_eq!(claims.by_address("10.9.0.1".parse().unwrap()).map(|s| s.id.as_str()), Some("agency-lm/other"));
        let named: Vec<_> = conflicts.iter().map(|c| (c.source.as_str(), c.message.as_str())).collect();
        assert!(
            named.contains(&(
                "agency-vm/thief",
                "10.1.0.5/32 is also claimed by agency-lm/servers; neither receives its events"
            )),
            "{named:?}"
        );
        assert!(
            named.contains(&(
                "agency-lm/servers",
                "certificate name dc1.lm.gov.lv is also claimed by agency-vm/thief; neither receives its events"
            )),
            "{named:?}"
        );
    }

    #[test]
    fn platform_senders_only_from_the_platform_namespace() {
        let (claims, conflicts) = Claims::new(vec![
            source("agency-lm/fake-apiserver", vec![Sender::Platform(PlatformSender::KubernetesApiServer)]),
            source("makonis-system/portal", vec![Sender::Platform(PlatformSender::Portal)]),
        ]);
        assert!(claims.by_platform(PlatformSender::KubernetesApiServer).is_none());
        assert_eq!(claims.by_platform(PlatformSender::Portal).map(|s| s.id.as_str()), Some("makonis-system/portal"));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].source, "agency-lm/fake-apiserver");
    }
}
