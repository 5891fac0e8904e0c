//! TCP: the connect every probe starts with, and the TCP check itself.

use std::{io, net::SocketAddr};

use tokio::net::TcpStream;

use super::{Failure, FailureCategory, Phase, Prober, RunState, resolve};

/// The TCP check: resolve and connect, then close.
pub(super) async fn run(prober: &Prober, host: &str, port: u16, state: &mut RunState) -> Result<(), Failure> {
    let stream = connect(prober, host, port, state).await?;
    state.finish();
    drop(stream);
    Ok(())
}

/// A fresh connection to `host:port` (or to its override), trying each address in turn.
pub(super) async fn connect(
    prober: &Prober,
    host: &str,
    port: u16,
    state: &mut RunState,
) -> Result<TcpStream, Failure> {
    let host = resolve::trim_host(host);
    state.phase = Phase::Resolving;
    match resolve::find_override(&prober.resolve, host) {
        Some(address) => {
            state.phase = Phase::Connecting;
            connect_any(host, std::iter::once(address)).await
        }
        None => {
            let addresses = resolve::lookup(host, port).await?;
            state.phase = Phase::Connecting;
            connect_any(host, addresses).await
        }
    }
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
