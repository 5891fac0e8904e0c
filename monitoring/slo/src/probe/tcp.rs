//! TCP: the connect every probe starts with, and the TCP check itself.

use std::{io, net::SocketAddr};

use tokio::net::TcpStream;

use super::{Failure, FailureCategory, Phase, Prober, RunState, resolve};
use crate::targets::{AgencyGuard, AllowedHost, Refusal};

/// The TCP check: resolve and connect, then close.
pub(super) async fn run(
    prober: &Prober,
    host: &str,
    port: u16,
    guard: Option<&AgencyGuard>,
    state: &mut RunState,
) -> Result<(), Failure> {
    let stream = connect(prober, host, port, guard, state).await?;
    state.finish();
    drop(stream);
    Ok(())
}

/// A fresh connection to `host:port`, trying each address in turn. The operator's
/// resolve overrides come first (trusted configuration); else an agency's probe (with a
/// `guard`) may name only its agency's hosts and its namespace's Services, which resolve
/// through the API server, and connects only when no address it resolved to is out of
/// its reach; the platform's own probes resolve by DNS.
pub(super) async fn connect(
    prober: &Prober,
    host: &str,
    port: u16,
    guard: Option<&AgencyGuard>,
    state: &mut RunState,
) -> Result<TcpStream, Failure> {
    let host = resolve::trim_host(host);
    state.phase = Phase::Resolving;
    let allowed =
        guard.map(|guard| guard.check_host(host).map(|allowed| (guard, allowed))).transpose().map_err(forbidden)?;
    if let Some(address) = resolve::find_override(&prober.resolve, host) {
        state.phase = Phase::Connecting;
        return connect_any(host, std::iter::once(address)).await;
    }
    let addresses: Vec<SocketAddr> = match allowed {
        Some((guard, AllowedHost::OwnService(service))) => {
            let ips = guard.service_addresses(host, &service).map_err(forbidden)?;
            ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
        }
        Some((guard, AllowedHost::AgencyHost)) => {
            let resolved: Vec<SocketAddr> = resolve::lookup(host, port).await?.collect();
            let ips = guard.check_resolved(host, resolved.iter().map(SocketAddr::ip).collect()).map_err(forbidden)?;
            ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
        }
        None => resolve::lookup(host, port).await?.collect(),
    };
    state.phase = Phase::Connecting;
    connect_any(host, addresses.into_iter()).await
}

/// A run refused before connecting.
fn forbidden(refusal: Refusal) -> Failure {
    Failure::new(FailureCategory::Forbidden, refusal.to_string())
}

/// The first address that accepts; else the last address's failure.
async fn connect_any(host: &str, addresses: impl Iterator<Item = SocketAddr>) -> Result<TcpStream, Failure> {
    let mut failure = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // Requests are single writes; a failure here changes nothing for a probe.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => failure = Some(connect_failure(address, &error)),
        }
    }
    Err(failure.unwrap_or_else(|| Failure::new(FailureCategory::Dns, format!("no address for {host}"))))
}

/// A connect failure in words.
fn connect_failure(address: SocketAddr, error: &io::Error) -> Failure {
    let cause = match error.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused by {address}"),
        io::ErrorKind::HostUnreachable => format!("host {address} unreachable"),
        io::ErrorKind::NetworkUnreachable => format!("network unreachable for {address}"),
        io::ErrorKind::TimedOut => format!("connecting to {address} timed out"),
        io::ErrorKind::ConnectionReset => format!("connection reset by {address}"),
        _ => format!("connecting to {address}: {error}"),
    };
    Failure::new(FailureCategory::Connect, cause)
}
