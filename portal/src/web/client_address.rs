//! The client's address behind the ingress: trusted-proxy handling. Pure.
//!
//! The address a request comes from is the peer of its connection, unless that peer is one
//! of the configured trusted proxies. Only then is the forwarding header read (the one
//! the proxies are configured to write: `X-Forwarded-For` or `Forwarded`, never both, since
//! a proxy passes the other one through from the client untouched), from the right: every
//! hop that is itself a trusted proxy is skipped, and the first that is not is the client.
//! Everything to its left was written by the client and is ignored. A hop that is not an
//! address (`unknown`, an obfuscated name, garbage) ends the walk: the trusted proxy that
//! wrote it is the best the portal knows. IPv4-mapped IPv6 addresses count as IPv4.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Which header the trusted proxies write the client's address in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (ingress-nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client;proto=https, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Address ranges of the trusted proxies (the ingress controllers' pods or nodes).
    pub networks: Vec<IpNet>,
    /// The header they write.
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    /// Whether `address` is a trusted proxy.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => hops(headers, &HeaderName::from_static("x-forwarded-for"), xff_hop),
            ForwardedHeader::Forwarded => hops(headers, &axum::http::header::FORWARDED, forwarded_hop),
        };
        for hop in hops.iter().rev() {
            match hop {
                Some(address) if self.trusts(*address) => client = *address,
                Some(address) => return *address,
                None => return client,
            }
        }
        client
    }

    /// Whether a request from `peer` carries a forwarding header the portal ignores
    /// because `peer` is not trusted (a hint that `--trusted-proxies` is missing).
    pub fn ignores_forwarding_from(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        !self.trusts(peer)
            && (headers.contains_key("x-forwarded-for") || headers.contains_key(axum::http::header::FORWARDED))
    }
}

/// The hops of every line of header `name`, in order, each an address or `None`.
fn hops(headers: &HeaderMap, name: &HeaderName, hop: fn(&str) -> Option<IpAddr>) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(hop).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// One `X-Forwarded-For` element: an address, perhaps with a port (`[v6]:p`, `v4:p`).
fn xff_hop(element: &str) -> Option<IpAddr> {
    address(element.trim())
}

/// One `Forwarded` element: its `for=` parameter (quoted or not).
fn forwarded_hop(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    address(value)
}

/// An address written bare, in brackets, or with a port.
fn address(text: &str) -> Option<IpAddr> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inner.parse::<std::net::Ipv6Addr>().ok().map(|v6| canonical(IpAddr::V6(v6)));
    }
    let (host, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; everything else as it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { networks: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()], header }
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(ForwardedHeader::XForwardedFor);
        let claims = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(p.client_address(ip("198.51.100.4"), &claims), ip("198.51.100.4"));
        assert!(p.ignores_forwarding_from(ip("198.51.100.4"), &claims));
        assert_eq!(TrustedProxies::default().client_address(ip("10.1.2.3"), &claims), ip("10.1.2.3"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(ForwardedHeader::XForwardedFor);
        for (values, expected) in [
            (vec!["198.51.100.4"], "198.51.100.4"),
            (vec!["6.6.6.6, 198.51.100.4"], "198.51.100.4"),
            (vec!["6.6.6.6", "198.51.100.4, 10.0.0.9"], "198.51.100.4"),
            (vec!["198.51.100.4:5123, 10.0.0.9"], "198.51.100.4"),
            (vec!["[2001:db8::7]:443"], "2001:db8::7"),
            (vec!["::ffff:198.51.100.4"], "198.51.100.4"),
            (vec!["10.0.0.8, 10.0.0.9"], "10.0.0.8"),
            (vec!["198.51.100.4, unknown"], "10.2.0.1"),
            (vec!["6.6.6.6, 198.51.100.4, garbage, 10.0.0.9"], "10.0.0.9"),
            (vec![], "10.2.0.1"),
        ] {
            assert_eq!(
                p.client_address(ip("10.2.0.1"), &headers("x-forwarded-for", &values)),
                ip(expected),
                "{values:?}"
            );
        }
        assert_eq!(
            p.client_address(ip("::ffff:10.2.0.1"), &headers("x-forwarded-for", &["198.51.100.4"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let xff = proxies(ForwardedHeader::XForwardedFor);
        let forwarded = proxies(ForwardedHeader::Forwarded);
        let mut both = headers("x-forwarded-for", &["198.51.100.4"]);
        both.append("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        assert_eq!(xff.client_address(ip("10.2.0.1"), &both), ip("198.51.100.4"));
        assert_eq!(forwarded.client_address(ip("10.2.0.1"), &both), ip("6.6.6.6"));
        for (value, expected) in [
            ("for=198.51.100.4;proto=https", "198.51.100.4"),
            (r#"for=6.6.6.6, For="[2001:db8::7]:4711";by=10.0.0.1"#, "2001:db8::7"),
            (r#"for="198.51.100.4:80", for=10.0.0.3"#, "198.51.100.4"),
            ("for=_hidden, for=10.0.0.3", "10.0.0.3"),
            ("proto=https", "10.2.0.1"),
        ] {
            assert_eq!(
                forwarded.client_address(ip("10.2.0.1"), &headers("forwarded", &[value])),
                ip(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn addresses_are_read_strictly() {
        for bad in ["", "1.2.3", "1.2.3.4:", "1.2.3.4:99999x", "[::1", "[::1]x", "::1:80:", "example.com"] {
            assert_eq!(address(bad), None, "{bad:?}");
        }
    }
}
