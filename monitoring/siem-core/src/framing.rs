//! A syslog byte stream (TCP or TLS) cut into messages, as RFC 6587 describes.
//!
//! Each frame chooses its own framing: a frame that starts with a digit followed by more
//! digits and a space is octet-counted (`LEN SP MSG`), anything else ends at the next LF
//! (newline framing; a CR before the LF and NUL bytes between frames are dropped). A
//! line that starts with digits but no count (`2026-12-06 …`) is taken as a line, so
//! nothing a sender wrote is lost to a guess. Bad frames come out as
//! [`Frame::Malformed`] with what was received, for the quarantine: a reader never stops
//! on bad input, and the stream goes on at the next frame.

/// The largest message taken whole, in bytes (RFC 5425 requires receivers to take at
/// least 2 KiB and recommends 8 KiB; Windows events can be larger).
pub const MAX_FRAME: usize = 64 * 1024;

/// How many digits an octet count may have before the frame counts as a line.
const MAX_COUNT_DIGITS: usize = 9;

/// One frame cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A message, without its framing.
    Message(Vec<u8>),
    /// Bytes that could not be framed as a message, kept for the quarantine (at most
    /// [`MAX_FRAME`] of them).
    Malformed {
        /// What was received (its beginning, when it was too long).
        bytes: Vec<u8>,
        /// Why it is not a message.
        error: FrameError,
    },
}

/// Why bytes of a stream are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// An octet count larger than [`MAX_FRAME`]; the counted bytes are skipped.
    #[error("octet count {0} is larger than the largest message taken ({MAX_FRAME} bytes)")]
    CountTooLarge(usize),
    /// A line longer than [`MAX_FRAME`]; the rest of it, up to the next LF, is skipped.
    #[error("line is longer than the largest message taken ({MAX_FRAME} bytes)")]
    LineTooLong,
    /// The stream ended inside an octet-counted frame.
    #[error("the connection closed {missing} bytes before the end of an octet-counted message")]
    Truncated {
        /// Bytes the count promised that never came.
        missing: usize,
    },
}

impl FrameError {
    /// A bounded name for metric labels and the quarantine.
    pub fn category(&self) -> &'static str {
        match self {
            FrameError::CountTooLarge(_) => "count_too_large",
            FrameError::LineTooLong => "line_too_long",
            FrameError::Truncated { .. } => "truncated",
        }
    }
}

/// What the framer is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skipping {
    /// Nothing: the next byte starts a frame.
    No,
    /// The rest of an oversized octet-counted frame: this many bytes.
    Counted(usize),
    /// The rest of an overlong line, up to its LF.
    Line,
}

/// Cuts one connection's bytes into frames; feed it with [`Framer::push`], take frames
/// with [`Framer::next_frame`] and, when the connection closes, the rest with
/// [`Framer::finish`].
#[derive(Debug)]
pub struct Framer {
    buffer: Vec<u8>,
    start: usize,
    skipping: Skipping,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    /// A framer at the start of a connection.
    pub fn new() -> Self {
        Self { buffer: Vec::with_capacity(8 * 1024), start: 0, skipping: Skipping::No }
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The next whole frame, or `None` until more bytes are pushed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        match self.skipping {
            Skipping::Counted(left) => {
                let available = self.pending().min(left);
                self.start += available;
                if available < left {
                    self.skipping = Skipping::Counted(left - available);
                    return None;
                }
                self.skipping = Skipping::No;
            }
            Skipping::Line => match self.find_lf() {
                Some(lf) => {
                    self.start = lf + 1;
                    self.skipping = Skipping::No;
                }
                None => {
                    self.start = self.buffer.len();
                    return None;
                }
            },
            Skipping::No => {}
        }
        let rest = &self.buffer[self.start..];
        let separators = rest.iter().take_while(|&&b| matches!(b, b'\n' | b'\r' | 0)).count();
        self.start += separators;
        if self.pending() == 0 {
            return None;
        }
        match self.octet_count() {
            Count::Incomplete => None,
            Count::Counted { header, len } => self.counted(header, len),
            Count::NotCounted => self.line(),
        }
    }

    /// Whatever is left when the connection closes, once [`Framer::next_frame`] has
    /// returned `None`: the last line without its LF is a message, an octet-counted frame
    /// cut short is malformed.
    pub fn finish(self) -> Option<Frame> {
        if self.pending() == 0 || self.skipping != Skipping::No {
            return None;
        }
        let rest = self.buffer[self.start..].to_vec();
        match self.octet_count() {
            Count::Counted { header, len } => {
                let missing = header + len - rest.len();
                Some(Frame::Malformed { bytes: rest, error: FrameError::Truncated { missing } })
            }
            Count::Incomplete | Count::NotCounted => Some(Frame::Message(trim_cr(rest))),
        }
    }

    fn find_lf(&self) -> Option<usize> {
        self.buffer[self.start..].iter().position(|&b| b == b'\n').map(|at| self.start + at)
    }

    fn octet_count(&self) -> Count {
        let rest = &self.buffer[self.start..];
        let digits = rest.iter().take(MAX_COUNT_DIGITS + 1).take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > MAX_COUNT_DIGITS || rest[0] == b'0' {
            return Count::NotCounted;
        }
        match rest.get(digits) {
            None => Count::Incomplete,
            Some(b' ') => {
                let len = rest[..digits].iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                Count::Counted { header: digits + 1, len }
            }
            Some(_) => Count::NotCounted,
        }
    }

    fn counted(&mut self, header: usize, len: usize) -> Option<Frame> {
        let available = self.pending() - header;
        if len > MAX_FRAME {
            let kept = available.min(MAX_FRAME);
            let bytes = self.buffer[self.start..self.start + header + kept].to_vec();
            let skipped = available.min(len);
            self.start += header + skipped;
            if skipped < len {
                self.skipping = Skipping::Counted(len - skipped);
            }
            return Some(Frame::Malformed { bytes, error: FrameError::CountTooLarge(len) });
        }
        if available < len {
            return None;
        }
        let body = self.start + header;
        let message = self.buffer[body..body + len].to_vec();
        self.start = body + len;
        Some(Frame::Message(message))
    }

    fn line(&mut self) -> Option<Frame> {
        match self.find_lf() {
            Some(lf) if lf - self.start <= MAX_FRAME => {
                let line = self.buffer[self.start..lf].to_vec();
                self.start = lf + 1;
                Some(Frame::Message(trim_cr(line)))
            }
            Some(_) => {
                let bytes = self.buffer[self.start..self.start + MAX_FRAME].to_vec();
                self.skipping = Skipping::Line;
                Some(Frame::Malformed { bytes, error: FrameError::LineTooLong })
            }
            None if self.pending() > MAX_FRAME => {
                let bytes = self.buffer[self.start..self.start + MAX_FRAME].to_vec();
                self.start = self.buffer.len();
                self.skipping = Skipping::Line;
                Some(Frame::Malformed { bytes, error: FrameError::LineTooLong })
            }
            None => None,
        }
    }
}

/// How the frame at the start of the buffer is framed.
enum Count {
    /// Digits, then the space not yet received.
    Incomplete,
    /// `LEN SP`: a header of this many bytes, then `len` bytes of message.
    Counted { header: usize, len: usize },
    /// A line.
    NotCounted,
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            while let Some(frame) = framer.next_frame() {
                out.push(frame);
            }
        }
        out.extend(framer.finish());
        out
    }

    fn message(text: &str) -> Frame {
        Frame::Message(text.as_bytes().to_vec())
    }

    #[test]
    fn octet_counted_frames_may_hold_newlines() {
        let got = frames(&[b"11 <13>a\nb c d9 <13>x y z"]);
        assert_eq!(got, vec![message("<13>a\nb c d"), message("<13>x y z")]);
    }

    #[test]
    fn newline_framing_drops_cr_and_blank_lines() {
        let got = frames(&[b"<13>one\r\n\n\0<13>two\n"]);
        assert_eq!(got, vec![message("<13>one"), message("<13>two")]);
    }

    #[test]
    fn the_framing_may_change_from_frame_to_frame() {
        let got = frames(&[b"<13>line\n5 <13>x<13>next\n"]);
        assert_eq!(got, vec![message("<13>line"), message("<13>x"), message("<13>next")]);
    }

    #[test]
    fn digits_without_a_count_are_a_line() {
        let got = frames(&[b"2026-12-06 something happened\n007 x\n"]);
        assert_eq!(got, vec![message("2026-12-06 something happened"), message("007 x")]);
    }

    #[test]
    fn a_frame_split_anywhere_waits_for_its_rest() {
        let got = frames(&[b"1", b"2 <13>ab", b"cdefgh", b"<13>last"]);
        assert_eq!(got, vec![message("<13>abcdefgh"), message("<13>last")]);
    }

    #[test]
    fn an_oversized_count_is_reported_and_its_bytes_skipped() {
        let len = MAX_FRAME + 10;
        let mut stream = format!("{len} ").into_bytes();
        stream.extend(std::iter::repeat_n(b'x', len));
        stream.extend_from_slice(b"<13>after\n");
        let got = frames(&[&stream[..1000], &stream[1000..]]);
        assert_eq!(got.len(), 2, "{:?}", got.iter().map(frame_kind).collect::<Vec<_>>());
        assert!(matches!(&got[0], Frame::Malformed { error: FrameError::CountTooLarge(n), .. } if *n == len));
        assert_eq!(got[1], message("<13>after"));
    }

    #[test]
    fn an_overlong_line_is_reported_and_skipped_to_its_end() {
        let mut stream = vec![b'y'; MAX_FRAME + 5];
        stream.extend_from_slice(b"\n<13>after\n");
        let got = frames(&[&stream]);
        assert!(
            matches!(&got[0], Frame::Malformed { error: FrameError::LineTooLong, bytes } if bytes.len() == MAX_FRAME)
        );
        assert_eq!(got[1..], [message("<13>after")]);
    }

    #[test]
    fn an_overlong_line_without_lf_does_not_grow_the_buffer() {
        let mut framer = Framer::new();
        let mut malformed = 0;
        for _ in 0..100 {
            framer.push(&[b'z'; 4096]);
            while let Some(frame) = framer.next_frame() {
                assert!(matches!(frame, Frame::Malformed { error: FrameError::LineTooLong, .. }));
                malformed += 1;
            }
            assert!(framer.pending() <= MAX_FRAME + 4096);
        }
        assert_eq!(malformed, 1);
    }

    #[test]
    fn the_last_line_without_lf_is_a_message_and_a_cut_count_is_truncated() {
        assert_eq!(frames(&[b"<13>no newline"]), vec![message("<13>no newline")]);
        let got = frames(&[b"20 <13>short"]);
        assert_eq!(
            got,
            vec![Frame::Malformed { bytes: b"20 <13>short".to_vec(), error: FrameError::Truncated { missing: 11 } }]
        );
    }

    fn frame_kind(frame: &Frame) -> String {
        match frame {
            Frame::Message(m) => format!("message({})", m.len()),
            Frame::Malformed { error, .. } => error.category().to_owned(),
        }
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_never_panic_and_frame_the_same(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            cut in 0usize..2048,
        ) {
            let cut = cut.min(bytes.len());
            let whole = frames(&[&bytes]);
            let split = frames(&[&bytes[..cut], &bytes[cut..]]);
            prop_assert_eq!(whole, split);
        }

        #[test]
        fn octet_counted_messages_come_back_exactly(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..20),
            chunk in 1usize..64,
        ) {
            let mut stream = Vec::new();
            for m in &messages {
                stream.extend_from_slice(format!("{} ", m.len()).as_bytes());
                stream.extend_from_slice(m);
            }
            let chunks: Vec<&[u8]> = stream.chunks(chunk).collect();
            let got = frames(&chunks);
            let want: Vec<Frame> = messages.into_iter().map(Frame::Message).collect();
            prop_assert_eq!(got, want);
        }
    }
}
