//! The HTTPS listener of the webhook: rustls in front of an axum router, with the
//! certificate swapped in without a restart when the shared Secret changes.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use rustls::ServerConfig;
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;

/// Serves `app` over TLS on `listener` until the task is dropped. Every connection uses
/// the configuration `configs` holds when it is accepted, so a new certificate applies to
/// the next connection. A connection that fails its handshake is logged and dropped; it
/// never stops the listener.
pub async fn serve_tls(listener: TcpListener, configs: watch::Receiver<Arc<ServerConfig>>, app: Router) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "webhook: accepting a connection failed");
                continue;
            }
        };
        let acceptor = TlsAcceptor::from(configs.borrow().clone());
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(error) => {
                    tracing::debug!(%error, %peer, "webhook: TLS handshake failed");
                    return;
                }
            };
            if let Err(error) =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await
            {
                tracing::debug!(%error, %peer, "webhook: connection ended with an error");
            }
        });
    }
}

/// Binds the webhook's address, saying which address failed.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen for the webhook on {address}: {e}")))
}
