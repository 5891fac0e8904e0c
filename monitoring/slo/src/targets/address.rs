//! The addresses an agency's probe may never reach, by class.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use ipnet::IpNet;

/// The operator's settings of what agency probes may never reach, besides the classes
/// that are never a service's address (loopback, link-local, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForbiddenRanges {
    /// The API server's addresses (its URL's host, resolved, and the in-cluster
    /// `kubernetes` Service address).
    pub api_server: Vec<IpAddr>,
    /// The cluster's internal ranges: pod and Service networks, the nodes' and the control
    /// plane's networks (`makonis slo run --probe-deny-cidr`).
    pub cluster: Vec<IpNet>,
}

/// Why an address is out of an agency probe's reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `127.0.0.0/8`, `::1`: the engine's own machine.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10` (and the deprecated site-local `fec0::/10`): cloud
    /// metadata and node-local services.
    LinkLocal,
    /// `0.0.0.0/8`, `::`: "this host".
    Unspecified,
    /// Multicast, broadcast and the reserved `240.0.0.0/4`.
    NotUnicast,
    /// An address of the Kubernetes API server.
    ApiServer,
    /// One of the cluster's internal ranges.
    Cluster(IpNet),
}

impl AddressClass {
    /// A bounded name of the class, for logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::LinkLocal => "link-local",
            Self::Unspecified => "unspecified",
            Self::NotUnicast => "not-unicast",
            Self::ApiServer => "api-server",
            Self::Cluster(_) => "cluster",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loopback => f.write_str("a loopback address"),
            Self::LinkLocal => f.write_str("a link-local address (cloud metadata, node-local services)"),
            Self::Unspecified => f.write_str("the unspecified address"),
            Self::NotUnicast => f.write_str("not a unicast address"),
            Self::ApiServer => f.write_str("the Kubernetes API server's address"),
            Self::Cluster(range) => write!(f, "in the cluster's internal range {range}"),
        }
    }
}

impl ForbiddenRanges {
    /// Why `ip` is out of an agency probe's reach, or `None` when it may be probed. An
    /// IPv6 address that embeds an IPv4 one (IPv4-mapped, or the NAT64 prefix
    /// `64:ff9b::/96`) is judged as that IPv4 address too.
    pub fn classify(&self, ip: IpAddr) -> Option<AddressClass> {
        let embedded = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        std::iter::once(ip).chain(embedded).find_map(|ip| self.classify_one(ip))
    }

    /// Like [`classify`](Self::classify), but the cluster's internal ranges are allowed:
    /// for the cluster address the API server recorded for a Service of the probe's own
    /// namespace.
    pub fn classify_service(&self, ip: IpAddr) -> Option<AddressClass> {
        self.classify(ip).filter(|class| !matches!(class, AddressClass::Cluster(_)))
    }

    fn classify_one(&self, ip: IpAddr) -> Option<AddressClass> {
        if self.api_server.contains(&ip) {
            return Some(AddressClass::ApiServer);
        }
        if let Some(class) = never_a_service(ip) {
            return Some(class);
        }
        self.cluster.iter().find(|range| range.contains(&ip)).map(|range| AddressClass::Cluster(*range))
    }
}

/// The classes of addresses that never are a service's.
fn never_a_service(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some(AddressClass::Loopback)
            } else if v4.is_link_local() {
                Some(AddressClass::LinkLocal)
            } else if v4.octets()[0] == 0 {
                Some(AddressClass::Unspecified)
            } else if v4.is_multicast() || v4.is_broadcast() || v4.octets()[0] >= 240 {
                Some(AddressClass::NotUnicast)
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some(AddressClass::Loopback)
            } else if v6.is_unspecified() {
                Some(AddressClass::Unspecified)
            } else if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 {
                Some(AddressClass::LinkLocal)
            } else if v6.is_multicast() {
                Some(AddressClass::NotUnicast)
            } else {
                None
            }
        }
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`)
/// IPv6 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    v6.to_ipv4_mapped().or_else(|| {
        nat64.then(|| {
            let [.., high, low] = segments;
            Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> ForbiddenRanges {
        ForbiddenRanges {
            api_server: vec!["192.0.2.10".parse().unwrap()],
            cluster: vec!["10.96.0.0/12".parse().unwrap(), "fd00:10::/64".parse().unwrap()],
        }
    }

    fn class(ip: &str) -> Option<AddressClass> {
        ranges().classify(ip.parse().unwrap())
    }

    #[test]
    fn every_class_of_forbidden_address_is_named() {
        assert_eq!(class("127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("127.255.1.2"), Some(AddressClass::Loopback));
        assert_eq!(class("::1"), Some(AddressClass::Loopback));
        assert_eq!(class("169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("fe80::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("fec0::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("0.0.0.0"), Some(AddressClass::Unspecified));
        assert_eq!(class("0.1.2.3"), Some(AddressClass::Unspecified));
        assert_eq!(class("::"), Some(AddressClass::Unspecified));
        assert_eq!(class("224.0.0.1"), Some(AddressClass::NotUnicast));
        assert_eq!(class("255.255.255.255"), Some(AddressClass::NotUnicast));
        assert_eq!(class("240.0.0.1"), Some(AddressClass::NotUnicast));
        assert_eq!(class("ff02::1"), Some(AddressClass::NotUnicast));
        assert_eq!(class("192.0.2.10"), Some(AddressClass::ApiServer));
        assert_eq!(class("10.96.0.1"), Some(AddressClass::Cluster("10.96.0.0/12".parse().unwrap())));
        assert_eq!(class("fd00:10::5"), Some(AddressClass::Cluster("fd00:10::/64".parse().unwrap())));
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        assert_eq!(class("::ffff:127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("::ffff:169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(AddressClass::LinkLocal));
        assert_eq!(class("::ffff:10.96.0.1").map(|c| c.category()), Some("cluster"));
        assert_eq!(class("::ffff:192.0.2.10"), Some(AddressClass::ApiServer));
    }

    #[test]
    fn a_services_cluster_address_is_judged_without_the_cluster_ranges() {
        let ranges = ranges();
        assert_eq!(ranges.classify_service("10.96.4.7".parse().unwrap()), None);
        assert_eq!(ranges.classify_service("192.0.2.10".parse().unwrap()), Some(AddressClass::ApiServer));
        assert_eq!(ranges.classify_service("127.0.0.1".parse().unwrap()), Some(AddressClass::Loopback));
    }

    #[test]
    fn ordinary_addresses_may_be_probed() {
        for ip in ["193.41.142.10", "10.0.0.5", "172.16.1.1", "2001:db8::1", "::ffff:193.41.142.10"] {
            assert_eq!(class(ip), None, "{ip}");
        }
        assert_eq!(ForbiddenRanges::default().classify("10.96.0.1".parse().unwrap()), None);
    }
}
