//! A TCP proxy on 127.0.0.1 in front of a server (the API server), that a test can
//! freeze: while frozen, no byte moves in either direction on any connection, old or new,
//! and the connections stay open. What a process behind it sees is a stalled network
//! path, the case timeouts exist for.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use kube::config::Kubeconfig;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::JoinHandle,
};

/// A running proxy; stops when dropped.
pub struct FreezableProxy {
    /// Where clients connect.
    pub address: SocketAddr,
    frozen: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FreezableProxy {
    /// Starts forwarding a free local port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a local port for the proxy");
        let address = listener.local_addr().unwrap();
        let (frozen, _) = watch::channel(false);
        let task = tokio::spawn(accept(listener, upstream, frozen.clone()));
        Self { address, frozen, task }
    }

    /// Stops every byte until [`Self::thaw`].
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Lets bytes move again.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, frozen: watch::Sender<bool>) {
    while let Ok((client, _)) = listener.accept().await {
        let frozen = frozen.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(pipe(client_read, server_write, frozen.clone()), pipe(server_read, client_write, frozen));
        });
    }
}

/// Copies `from` to `to`, holding each chunk while the proxy is frozen.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// The address of the API server that the kubeconfig at `path` talks to.
pub fn api_server_address(path: &Path) -> SocketAddr {
    let kubeconfig = Kubeconfig::read_from(path).expect("kubeconfig");
    let server = kubeconfig.clusters[0].cluster.as_ref().and_then(|c| c.server.clone()).expect("a server URL");
    let authority = server.trim_start_matches("https://").trim_end_matches('/');
    authority.parse().unwrap_or_else(|e| panic!("the API server address {authority}: {e}"))
}

/// A copy of the kubeconfig at `path` that reaches the API server through `proxy`
/// (same credentials; the server certificate is for 127.0.0.1, whatever the port).
pub fn kubeconfig_through(path: &Path, proxy: SocketAddr) -> PathBuf {
    let mut kubeconfig = Kubeconfig::read_from(path).expect("kubeconfig");
    for cluster in kubeconfig.clusters.iter_mut().filter_map(|c| c.cluster.as_mut()) {
        cluster.server = Some(format!("https://{proxy}"));
    }
    let copy = path.with_file_name(format!("{}-via-{}", path.file_name().unwrap().to_string_lossy(), proxy.port()));
    let text = serde_yaml_ng::to_string(&kubeconfig).expect("kubeconfig serialises");
    // It holds a token: readable by this user only.
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&copy)
        .expect("kubeconfig");
    file.write_all(text.as_bytes()).expect("kubeconfig written");
    copy
}
