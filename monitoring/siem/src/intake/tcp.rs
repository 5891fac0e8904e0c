//! Syslog over TCP (RFC 6587: octet counting or newline framing, per frame).

use jiff::Timestamp;
use makonis_siem_core::framing::Framer;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
};

use super::{Batch, Intake, Peer, decode::decode};

/// Accepts connections until the task is stopped; each connection is read by a task of
/// its own.
pub async fn serve(listener: TcpListener, intake: Intake) {
    super::accept(listener, intake, "syslog-tcp", |stream, peer, intake| async move {
        read(stream, Peer::Address(peer.ip()), "tcp", &intake).await
    })
    .await;
}

/// Reads one connection (plain, or TLS once its handshake is done) to its end, then
/// closes it (over TLS with a `close_notify`). Each read's frames go to the writer as
/// one batch; a full queue stops the reading, and so the sender.
pub(super) async fn read(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    peer: Peer,
    transport: &'static str,
    intake: &Intake,
) -> std::io::Result<()> {
    let mut framer = Framer::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buffer).await?;
        let received = Timestamp::now();
        let claims = intake.claims.borrow().clone();
        let mut batch = Batch::default();
        if n == 0 {
            if let Some(frame) = framer.finish() {
                decode(frame, &peer, transport, &claims, received, &mut batch);
            }
            send(intake, batch).await;
            let _ = stream.shutdown().await;
            return Ok(());
        }
        framer.push(&buffer[..n]);
        while let Some(frame) = framer.next_frame() {
            decode(frame, &peer, transport, &claims, received, &mut batch);
        }
        if !send(intake, batch).await {
            return Ok(());
        }
    }
}

/// Hands a batch to the writer, waiting while the queue is full; false once the writer
/// is gone.
async fn send(intake: &Intake, batch: Batch) -> bool {
    if batch.is_empty() {
        return true;
    }
    intake.submit(batch).await.is_ok()
}
