//! Which LogSource an event belongs to, decided by where it came from.
//!
//! Every LogSource claims senders: addresses or networks, TLS certificate names, platform
//! senders. A sender two LogSources claim (the same name, or networks that overlap) is
//! claimed by neither: both are reported as conflicting and its events go to quarantine,
//! so that one agency cannot take another's logs by claiming its hosts. Platform senders
//! are honoured only in the platform's namespace. Among networks that do not conflict,
//! an address belongs to the one network that contains it.
//!
//! A TLS client certificate is the platform CA's word, not the tenant's: its subject's
//! organisation (`O=`) names the namespace whose LogSources may claim it. A LogSource that
//! claims a certificate issued for another namespace gets none of its events, so an
//! agency cannot take another's logs by claiming its host's certificate name first, and
//! cannot deny them to their owner by claiming the same name (only two claims in one
//! namespace conflict). Platform senders are certificate names too
//! ([`PlatformSender::certificate_name`]), issued for the platform's namespace.

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

/// One of the platform's own senders. Each sends over HTTPS with a client certificate
/// that the platform CA issued for the platform's namespace, under a fixed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlatformSender {
    /// The API server's audit webhook.
    KubernetesApiServer,
    /// The portal's audit trail.
    Portal,
}

impl PlatformSender {
    /// The DNS name of its client certificate.
    pub fn certificate_name(self) -> &'static str {
        match self {
            Self::KubernetesApiServer => "kube-apiserver",
            Self::Portal => "portal",
        }
    }
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

impl Source {
    /// The namespace it is in (the part of its id before `/`).
    pub fn namespace(&self) -> &str {
        self.id.split_once('/').map_or(self.id.as_str(), |(namespace, _)| namespace)
    }
}

/// A TLS client certificate that verified against the platform CA, as far as claims
/// need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Certified {
    /// Its DNS subject alternative names.
    pub names: Vec<String>,
    /// Its subject's organisations: the namespaces it was issued for.
    pub organisations: Vec<String>,
}

/// Why a verified certificate's events belong to no LogSource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRefusal {
    /// No LogSource claims any of its names.
    #[error("no LogSource claims the certificate names {0}")]
    Unclaimed(String),
    /// The LogSource that claims it is in a namespace the certificate was not issued for.
    #[error(
        "{claimant} claims certificate name {name}, but the certificate was issued for {issued_for}, not {namespace}"
    )]
    OtherNamespace {
        /// The claiming LogSource.
        claimant: String,
        /// The claimed name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The certificate's organisations.
        issued_for: String,
    },
    /// Its names are claimed by more than one LogSource.
    #[error("the certificate's names are claimed by several LogSources: {0}")]
    Ambiguous(String),
}

impl CertificateRefusal {
    /// A short, stable name for metrics and quarantine reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Unclaimed(_) => "unknown_source",
            Self::OtherNamespace { .. } => "certificate_other_namespace",
            Self::Ambiguous(_) => "certificate_ambiguous",
        }
    }
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
                    Sender::Platform(p) => claims.certificates.push((p.certificate_name().to_owned(), index)),
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
        // A certificate counts only in the namespace it was issued for, so the same name
        // claimed in two namespaces is no conflict: the certificate decides.
        let duplicates = |list: &mut Vec<(String, usize)>, conflicts: &mut Vec<Conflict>| {
            let mut lost = vec![false; list.len()];
            for i in 0..list.len() {
                for j in i + 1..list.len() {
                    let (a, b) = (&sources[list[i].1], &sources[list[j].1]);
                    if list[i].0 == list[j].0 && a.id != b.id && a.namespace() == b.namespace() {
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

    /// The LogSource a verified client certificate's events belong to: the one that
    /// claims one of its names in a namespace the certificate was issued for. Claims of
    /// its names in other namespaces count for nothing (they are reported, so that the
    /// claimant learns why it receives nothing).
    pub fn by_certified(&self, certificate: &Certified) -> Result<&Source, CertificateRefusal> {
        let mut matching: Vec<&Source> = Vec::new();
        let mut elsewhere: Option<(&str, &Source)> = None;
        for name in &certificate.names {
            let name = name.to_ascii_lowercase();
            for (claimed, index) in &self.certificates {
                if *claimed != name {
                    continue;
                }
                let source = &self.sources[*index];
                if certificate.organisations.iter().any(|o| o == source.namespace()) {
                    if !matching.iter().any(|s| s.id == source.id) {
                        matching.push(source);
                    }
                } else if elsewhere.is_none() {
                    elsewhere = Some((claimed, source));
                }
            }
        }
        match matching.as_slice() {
            [source] => Ok(source),
            [] => Err(match elsewhere {
                Some((name, source)) => CertificateRefusal::OtherNamespace {
                    claimant: source.id.clone(),
                    name: name.to_owned(),
                    namespace: source.namespace().to_owned(),
                    issued_for: if certificate.organisations.is_empty() {
                        "no namespace (the certificate has no O=)".into()
                    } else {
                        certificate.organisations.join(", ")
                    },
                },
                None => CertificateRefusal::Unclaimed(certificate.names.join(", ")),
            }),
            several => {
                Err(CertificateRefusal::Ambiguous(several.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")))
            }
        }
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

    fn issued(names: &[&str], organisations: &[&str]) -> Certified {
        Certified {
            names: names.iter().map(|n| (*n).into()).collect(),
            organisations: organisations.iter().map(|o| (*o).into()).collect(),
        }
    }

    fn certified_id<'c>(claims: &'c Claims, names: &[&str], organisation: &str) -> Option<&'c str> {
        claims.by_certified(&issued(names, &[organisation])).ok().map(|s| s.id.as_str())
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
        assert_eq!(certified_id(&claims, &["dc1.LM.gov.lv"], "agency-lm"), Some("agency-lm/servers"));
    }

    #[test]
    fn a_certificate_counts_only_for_the_namespace_it_was_issued_for() {
        let (claims, conflicts) = Claims::new(vec![
            source("agency-lm/dcs", vec![Sender::Certificate("dc1.lm.gov.lv".into())]),
            source("agency-vm/thief", vec![Sender::Certificate("dc2.lm.gov.lv".into())]),
            source("agency-vm/web", vec![Sender::Certificate("web.vm.gov.lv".into())]),
        ]);
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let lm_dc1 = issued(&["DC1.lm.gov.lv"], &["agency-lm"]);
        assert_eq!(claims.by_certified(&lm_dc1).map(|s| s.id.as_str()), Ok("agency-lm/dcs"));
        // agency-vm claimed the name of agency-lm's second controller before agency-lm did.
        let refusal = claims.by_certified(&issued(&["dc2.lm.gov.lv"], &["agency-lm"])).unwrap_err();
        assert_eq!(refusal.category(), "certificate_other_namespace");
        assert!(refusal.to_string().contains("issued for agency-lm, not agency-vm"), "{refusal}");
        let no_organisation = claims.by_certified(&issued(&["dc1.lm.gov.lv"], &[])).unwrap_err();
        assert!(no_organisation.to_string().contains("no O="), "{no_organisation}");
        let unclaimed = claims.by_certified(&issued(&["dc9.lm.gov.lv"], &["agency-lm"])).unwrap_err();
        assert_eq!(unclaimed.category(), "unknown_source");
        let both = issued(&["dc1.lm.gov.lv", "web.vm.gov.lv"], &["agency-lm", "agency-vm"]);
        assert_eq!(claims.by_certified(&both).unwrap_err().category(), "certificate_ambiguous");

        // Once agency-lm claims its controller too, the certificate decides: no conflict,
        // and agency-vm's earlier claim counts for nothing.
        let (claims, conflicts) = Claims::new(vec![
            source("agency-vm/thief", vec![Sender::Certificate("dc2.lm.gov.lv".into())]),
            source("agency-lm/dcs", vec![Sender::Certificate("dc2.lm.gov.lv".into())]),
        ]);
        assert!(conflicts.is_empty(), "{conflicts:?}");
        assert_eq!(certified_id(&claims, &["dc2.lm.gov.lv"], "agency-lm"), Some("agency-lm/dcs"));
        assert_eq!(certified_id(&claims, &["dc2.lm.gov.lv"], "agency-vm"), Some("agency-vm/thief"));
    }

    #[test]
    fn a_sender_two_sources_claim_is_claimed_by_neither() {
        let (claims, conflicts) = Claims::new(vec![
            source("agency-lm/servers", vec![net("10.1.0.0/24"), Sender::Certificate("dc1.lm.gov.lv".into())]),
            source("agency-vm/thief", vec![net("10.1.0.5/32")]),
            source("agency-lm/other", vec![net("10.9.0.0/24"), Sender::Certificate("dc1.lm.gov.lv".into())]),
        ]);
        assert!(claims.by_address("10.1.0.5".parse().unwrap()).is_none());
        assert!(claims.by_address("10.1.0.6".parse().unwrap()).is_none(), "the whole overlapping network is lost");
        let refusal = claims.by_certified(&issued(&["dc1.lm.gov.lv"], &["agency-lm"])).unwrap_err();
        assert_eq!(refusal.category(), "unknown_source", "two claims in one namespace: neither");
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
                "certificate name dc1.lm.gov.lv is also claimed by agency-lm/other; neither receives its events"
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
        assert_eq!(certified_id(&claims, &["kube-apiserver"], "agency-lm"), None);
        assert_eq!(certified_id(&claims, &["kube-apiserver"], "makonis-system"), None);
        assert_eq!(certified_id(&claims, &["portal"], "makonis-system"), Some("makonis-system/portal"));
        assert_eq!(certified_id(&claims, &["portal"], "agency-lm"), None, "issued for an agency: not the portal");
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].source, "agency-lm/fake-apiserver");
    }
}
