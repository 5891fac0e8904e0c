//! Syslog over RELP: each message acknowledged only once it is stored, so that rsyslog
//! resends whatever a crash or a lost connection left unacknowledged.

use std::net::SocketAddr;

use jiff::Timestamp;
use makonis_siem_core::{
    framing::Frame,
    relp::{RelpFramer, open_response, refusal, response},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{Batch, Intake, Peer, decode::decode, next_delivery};

/// How many messages at the start of a session may be resends: rsyslog resends at most
/// its window (`windowSize`, 128 by default) after reconnecting.
const RESEND_WINDOW: usize = 4096;

/// Accepts RELP sessions until the task is stopped, each read by a task of its own.
pub async fn serve(listener: TcpListener, intake: Intake) {
    super::accept(listener, intake, "relp", |stream, peer, intake| async move { session(stream, peer, &intake).await })
        .await;
}

/// One session: the frames of each read are decoded into one batch, stored, and only
/// then acknowledged, in order.
async fn session(mut stream: TcpStream, peer: SocketAddr, intake: &Intake) -> std::io::Result<()> {
    let mut framer = RelpFramer::default();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut messages = 0usize;
    let delivery = next_delivery();
    let sender = Peer::Address(peer.ip());
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        framer.push(&buffer[..n]);
        let received = Timestamp::now();
        let claims = intake.claims.borrow().clone();
        let mut batch = Batch::default();
        let mut answers: Vec<Vec<u8>> = Vec::new();
        let mut closing = false;
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%peer, %error, category = error.category(), "a RELP frame cannot be read; ending the session");
                    answers.push(b"0 serverclose 0\n".to_vec());
                    closing = true;
                    break;
                }
            };
            match frame.command.as_str() {
                "open" => answers.push(open_response(frame.txnr)),
                "syslog" => {
                    let before = batch.events.len();
                    decode(Frame::Message(frame.data), &sender, "relp", &claims, received, &mut batch);
                    if messages < RESEND_WINDOW {
                        batch.resend_candidates += batch.events.len() - before;
                    }
                    messages += 1;
                    answers.push(response(frame.txnr, "200 OK"));
                }
                "close" => {
                    answers.push(response(frame.txnr, ""));
                    closing = true;
                    break;
                }
                other => answers.push(refusal(frame.txnr, &format!("command {other:?} is not supported"))),
            }
        }
        if !batch.is_empty() {
            batch.resendable = Some(delivery);
            if intake.store(batch).await.is_err() {
                // The writer is gone: nothing is acknowledged, the sender will resend.
                return Ok(());
            }
        }
        stream.write_all(&answers.concat()).await?;
        if closing {
            stream.shutdown().await?;
            return Ok(());
        }
    }
}
