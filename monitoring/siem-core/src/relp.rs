//! RELP, the Reliable Event Logging Protocol rsyslog uses to deliver without loss: frames
//! and the server's answers.
//!
//! A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. The client opens a session
//! (`open`, with its offers), sends `syslog` frames, each acknowledged by the server's
//! `rsp` with the same transaction number once the message is safe, and ends with
//! `close`. A message the server did not acknowledge is sent again after a reconnect,
//! so acknowledging only what is stored is what makes delivery lossless. A framing
//! error leaves no way to find the next frame: the session is ended.

/// The largest DATA taken (rsyslog's default maximum message size is 8 KiB; Windows
/// events can be larger).
pub const MAX_DATA: usize = 256 * 1024;

/// One RELP frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelpFrame {
    /// The transaction number, echoed in the answer.
    pub txnr: u64,
    /// The command: `open`, `syslog`, `close`, …
    pub command: String,
    /// The data.
    pub data: Vec<u8>,
}

/// Why a RELP stream cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelpError {
    /// A header field is not what RELP allows.
    #[error("RELP frame header: {0}")]
    Header(&'static str),
    /// DATALEN beyond [`MAX_DATA`].
    #[error("RELP frame of {0} bytes is larger than the largest taken ({MAX_DATA} bytes)")]
    TooLarge(usize),
    /// The frame does not end with LF.
    #[error("RELP frame does not end with a line feed")]
    Trailer,
}

impl RelpError {
    /// A bounded name for metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            RelpError::Header(_) => "relp_header",
            RelpError::TooLarge(_) => "relp_too_large",
            RelpError::Trailer => "relp_trailer",
        }
    }
}

/// Cuts a RELP connection's bytes into frames.
#[derive(Debug, Default)]
pub struct RelpFramer {
    buffer: Vec<u8>,
    /// Where the next frame starts: consumed bytes are dropped once per push, not once
    /// per frame (a read of many small frames would move the buffer for each).
    start: usize,
}

impl RelpFramer {
    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame, `None` until more bytes come, or the error that ends the
    /// session.
    pub fn next_frame(&mut self) -> Result<Option<RelpFrame>, RelpError> {
        let buffer = &self.buffer[self.start..];
        let Some((txnr, rest)) = number(buffer, "transaction number")? else { return Ok(None) };
        let Some((command, rest)) = word(&rest[1..])? else { return Ok(None) };
        let Some((len, rest)) = number(rest, "data length")? else { return Ok(None) };
        let len = usize::try_from(len).map_err(|_| RelpError::TooLarge(usize::MAX))?;
        if len > MAX_DATA {
            return Err(RelpError::TooLarge(len));
        }
        // After DATALEN: LF when there is no data, SP DATA LF otherwise.
        let data_start = match rest.first() {
            None => return Ok(None),
            Some(b'\n') if len == 0 => 0,
            Some(b' ') => 1,
            Some(_) => return Err(RelpError::Header("the data length is not followed by a space or a line feed")),
        };
        let Some(data) = rest.get(data_start..data_start + len) else { return Ok(None) };
        match rest.get(data_start + len) {
            None => return Ok(None),
            Some(b'\n') => {}
            Some(_) => return Err(RelpError::Trailer),
        }
        let frame = RelpFrame { txnr, command: command.to_owned(), data: data.to_vec() };
        self.start += buffer.len() - rest.len() + data_start + len + 1;
        Ok(Some(frame))
    }
}

/// Up to nine digits, and the rest from the separator after them (a space; for the data
/// length also a line feed); `None` while incomplete.
fn number<'a>(bytes: &'a [u8], what: &'static str) -> Result<Option<(u64, &'a [u8])>, RelpError> {
    let digits = bytes.iter().take(10).take_while(|b| b.is_ascii_digit()).count();
    if digits == bytes.len() {
        return if digits > 9 { Err(RelpError::Header(too_long(what))) } else { Ok(None) };
    }
    if digits == 0 || digits > 9 {
        return Err(RelpError::Header(if digits == 0 { not_a_number(what) } else { too_long(what) }));
    }
    let value = bytes[..digits].iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    match bytes[digits] {
        b' ' => Ok(Some((value, &bytes[digits..]))),
        // DATALEN may be followed directly by the trailer.
        b'\n' if what == "data length" => Ok(Some((value, &bytes[digits..]))),
        _ => Err(RelpError::Header(not_a_number(what))),
    }
}

fn too_long(what: &str) -> &'static str {
    if what == "data length" {
        "the data length has more than nine digits"
    } else {
        "the transaction number has more than nine digits"
    }
}

fn not_a_number(what: &str) -> &'static str {
    if what == "data length" { "the data length is not a number" } else { "the transaction number is not a number" }
}

/// A command of 1–32 letters and the space after it; `None` while incomplete.
fn word(bytes: &[u8]) -> Result<Option<(&str, &[u8])>, RelpError> {
    let len = bytes.iter().take(33).take_while(|b| b.is_ascii_alphabetic()).count();
    if len == bytes.len() {
        return if len > 32 { Err(RelpError::Header("the command is longer than 32 letters")) } else { Ok(None) };
    }
    if len == 0 || len > 32 || bytes[len] != b' ' {
        return Err(RelpError::Header("the command is not 1 to 32 letters followed by a space"));
    }
    Ok(Some((std::str::from_utf8(&bytes[..len]).unwrap_or_default(), &bytes[len + 1..])))
}

/// The answer to a frame: `TXNR rsp DATALEN DATA LF`.
pub fn response(txnr: u64, data: &str) -> Vec<u8> {
    if data.is_empty() {
        format!("{txnr} rsp 0\n").into_bytes()
    } else {
        format!("{txnr} rsp {} {data}\n", data.len()).into_bytes()
    }
}

/// The answer to `open`: accepted, with the server's offers (RELP version 0, the
/// `syslog` command only).
pub fn open_response(txnr: u64) -> Vec<u8> {
    response(txnr, "200 OK\nrelp_version=0\nrelp_software=makonis\ncommands=syslog")
}

/// A refusal of a frame (`500` and why).
pub fn refusal(txnr: u64, why: &str) -> Vec<u8> {
    response(txnr, &format!("500 {why}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frames(chunks: &[&[u8]]) -> Result<Vec<RelpFrame>, RelpError> {
        let mut framer = RelpFramer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            while let Some(frame) = framer.next_frame()? {
                out.push(frame);
            }
        }
        Ok(out)
    }

    #[test]
    fn a_session_as_rsyslog_sends_it() {
        let open =
            b"1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";
        let stream = [&open[..], b"2 syslog 13 <13>hello\nyou\n3 close 0\n"].concat();
        let got = frames(&[&stream[..10], &stream[10..50], &stream[50..]]).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].txnr, got[0].command.as_str()), (1, "open"));
        assert!(got[0].data.ends_with(b"commands=syslog"));
        assert_eq!(
            (got[1].txnr, got[1].command.as_str(), got[1].data.as_slice()),
            (2, "syslog", &b"<13>hello\nyou"[..])
        );
        assert_eq!((got[2].txnr, got[2].command.as_str(), got[2].data.len()), (3, "close", 0));
    }

    #[test]
    fn answers_are_framed() {
        assert_eq!(response(2, "200 OK"), b"2 rsp 6 200 OK\n");
        assert_eq!(response(3, ""), b"3 rsp 0\n");
        let offers = "200 OK\nrelp_version=0\nrelp_software=makonis\ncommands=syslog";
        assert_eq!(open_response(1), format!("1 rsp {} {offers}\n", offers.len()).into_bytes());
    }

    #[test]
    fn broken_frames_end_the_session_with_the_reason() {
        assert_eq!(frames(&[b"x open 0\n"]), Err(RelpError::Header("the transaction number is not a number")));
        assert_eq!(
            frames(&[b"1 op3n 0\n"]),
            Err(RelpError::Header("the command is not 1 to 32 letters followed by a space"))
        );
        assert_eq!(frames(&[b"1 syslog 3 abcX"]), Err(RelpError::Trailer));
        assert_eq!(frames(&[b"1 syslog 999999999 "]), Err(RelpError::TooLarge(999_999_999)));
        assert_eq!(frames(&[b"1234567890 syslog"]).unwrap_err().category(), "relp_header");
        assert_eq!(frames(&[b"1 syslog 3"]), Ok(vec![]), "incomplete is not an error");
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = frames(&[&bytes]);
        }

        #[test]
        fn frames_come_back_whatever_the_chunks(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..10),
            chunk in 1usize..40,
        ) {
            let mut stream = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                stream.extend_from_slice(format!("{} syslog {}", i + 1, m.len()).as_bytes());
                if !m.is_empty() {
                    stream.push(b' ');
                    stream.extend_from_slice(m);
                }
                stream.push(b'\n');
            }
            let chunks: Vec<&[u8]> = stream.chunks(chunk).collect();
            let got = frames(&chunks).unwrap();
            prop_assert_eq!(got.into_iter().map(|f| f.data).collect::<Vec<_>>(), messages);
        }
    }
}
