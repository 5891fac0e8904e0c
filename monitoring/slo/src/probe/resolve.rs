//! Host name resolution: the configured overrides (like curl's `--resolve`), else the system
//! resolver.

use std::{fmt, io, net::SocketAddr, str::FromStr};

use super::{Failure, FailureCategory};

/// Connect to a fixed address for hosts matching a pattern, instead of resolving them. TLS SNI,
/// certificate verification and the `Host` header still use the URL's host; the URL's port is
/// ignored in favour of the override's.
///
/// Parsed from `PATTERN=IP:PORT`, e.g. `*.apps.makonis.lv=10.0.0.5:443` or `[::1]:8443` for IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    /// `*.domain` (any subdomain of `domain`, at any depth, but not `domain` itself) or an exact host.
    pub host_pattern: String,
    /// Where to connect instead.
    pub address: SocketAddr,
}

impl ResolveOverride {
    /// Whether `host` matches the pattern (ASCII case-insensitive, trailing dot ignored).
    pub fn matches(&self, host: &str) -> bool {
        let host = trim_host(host);
        let pattern = trim_host(&self.host_pattern);
        match pattern.strip_prefix("*.") {
            Some(domain) => {
                // At least one character and a dot before the domain.
                host.len() >= domain.len() + 2 && {
                    let (sub, rest) = host.as_bytes().split_at(host.len() - domain.len());
                    sub.ends_with(b".") && rest.eq_ignore_ascii_case(domain.as_bytes())
                }
            }
            None => host.eq_ignore_ascii_case(pattern),
        }
    }
}

impl fmt::Display for ResolveOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.host_pattern, self.address)
    }
}

/// Why a resolve override could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveOverrideError {
    /// There is no `=` between pattern and address.
    #[error("`{input}` is not a resolve override: expected PATTERN=IP:PORT, e.g. `*.apps.makonis.lv=10.0.0.5:443`")]
    MissingEquals {
        /// The text parsed.
        input: String,
    },
    /// The pattern is empty or malformed.
    #[error("`{input}`: `{pattern}` is not a host pattern: expected a host name, or `*.` and a domain")]
    BadPattern {
        /// The text parsed.
        input: String,
        /// The pattern part.
        pattern: String,
    },
    /// The address is not `IP:PORT`.
    #[error("`{input}`: `{address}` is not an IP:PORT address (IPv6 as `[::1]:443`)")]
    BadAddress {
        /// The text parsed.
        input: String,
        /// The address part.
        address: String,
    },
}

impl FromStr for ResolveOverride {
    type Err = ResolveOverrideError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Some((pattern, address)) = input.trim().split_once('=') else {
            return Err(ResolveOverrideError::MissingEquals { input: input.into() });
        };
        let (pattern, address) = (pattern.trim(), address.trim());
        let name = trim_host(pattern);
        let name = name.strip_prefix("*.").unwrap_or(name);
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains("..")
            && !name.bytes().any(|b| b.is_ascii_whitespace() || b"*/@?#=".contains(&b));
        if !valid {
            return Err(ResolveOverrideError::BadPattern { input: input.into(), pattern: pattern.into() });
        }
        let address = address
            .parse()
            .map_err(|_| ResolveOverrideError::BadAddress { input: input.into(), address: address.into() })?;
        Ok(Self { host_pattern: pattern.to_ascii_lowercase(), address })
    }
}

/// `host` without IPv6 brackets or a trailing dot.
pub(super) fn trim_host(host: &str) -> &str {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host)
}

/// The override address for `host`, the first matching one.
pub(super) fn find_override(overrides: &[ResolveOverride], host: &str) -> Option<SocketAddr> {
    overrides.iter().find(|o| o.matches(host)).map(|o| o.address)
}

/// The addresses of `host` (an IP literal is used as is, without a lookup).
pub(super) async fn lookup(host: &str, port: u16) -> Result<impl Iterator<Item = SocketAddr>, Failure> {
    tokio::net::lookup_host((host, port)).await.map_err(|error| dns_failure(host, &error))
}

/// A DNS failure for `host`, "no address for …" when the name does not exist.
fn dns_failure(host: &str, error: &io::Error) -> Failure {
    const NO_SUCH_NAME: [&str; 5] = [
        "Name or service not known",
        "No address associated",
        "nodename nor servname",
        "Name does not resolve",
        "No such host",
    ];
    let text = error.to_string();
    let reason = text.strip_prefix("failed to lookup address information: ").unwrap_or(&text);
    if NO_SUCH_NAME.iter().any(|m| reason.contains(m)) {
        Failure::new(FailureCategory::Dns, format!("no address for {host}"))
    } else {
        Failure::new(FailureCategory::Dns, format!("resolving {host}: {reason}"))
    }
}
