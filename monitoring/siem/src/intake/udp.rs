//! Syslog over UDP: one message per datagram.

use jiff::Timestamp;
use makonis_siem_core::framing::Frame;
use tokio::net::UdpSocket;

use super::{Batch, Intake, Peer, Refused, decode::decode};

/// Receives datagrams until the task is stopped. A datagram that finds the writer's
/// queue or byte budget full is dropped and counted: UDP cannot slow its sender.
pub async fn serve(socket: UdpSocket, intake: Intake) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let (n, peer) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                tracing::warn!(%error, "receiving a syslog datagram failed");
                continue;
            }
        };
        let mut datagram = &buffer[..n];
        while let [rest @ .., b'\n' | b'\r' | 0] = datagram {
            datagram = rest;
        }
        let claims = intake.claims.borrow().clone();
        let mut batch = Batch::default();
        decode(
            Frame::Message(datagram.to_vec()),
            &Peer::Address(peer.ip()),
            "udp",
            &claims,
            Timestamp::now(),
            &mut batch,
        );
        match intake.try_submit(batch) {
            Ok(()) => {}
            Err(Refused::Full) => intake.stats.udp_dropped(),
            Err(Refused::Closed) => return,
        }
    }
}
