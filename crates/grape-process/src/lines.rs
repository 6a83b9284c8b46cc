//! Turning the bytes of a pipe into redacted lines: lossy UTF-8, `\r\n` trimmed, whole lines
//! buffered before redaction, long lines split into [`MAX_LINE_BYTES`] pieces after redaction.

use std::collections::VecDeque;

use crate::{LineSink, OutputStream, Redactor};

/// Lines longer than this (in bytes, after redaction) reach the sink as several pieces, cut on
/// char boundaries.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How much of a line without a newline is buffered before a part of it is delivered anyway
/// (cut where no secret can straddle the cut).
pub(crate) const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// Assembles the bytes of one stream into lines and delivers them, redacted, to a sink.
pub(crate) struct LineAssembler<'a> {
    stream: OutputStream,
    sink: &'a dyn LineSink,
    redactor: Redactor,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last read.
    carry: Vec<u8>,
    /// Decoded text of the current (incomplete) line.
    pending: String,
    max_pending: usize,
    tail: VecDeque<String>,
    tail_cap: usize,
}

impl<'a> LineAssembler<'a> {
    pub(crate) fn new(
        stream: OutputStream,
        sink: &'a dyn LineSink,
        redactor: Redactor,
        tail_cap: usize,
    ) -> Self {
        Self {
            stream,
            sink,
            redactor,
            carry: Vec::new(),
            pending: String::new(),
            max_pending: MAX_PENDING_BYTES,
            tail: VecDeque::new(),
            tail_cap,
        }
    }

    #[cfg(test)]
    fn with_max_pending(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// Feeds the bytes of one read; delivers every line completed by them.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.decode(bytes);
        let pending = std::mem::take(&mut self.pending);
        let mut start = 0;
        while let Some(pos) = pending[start..].find('\n') {
            let end = start + pos;
            let line = &pending[start..end];
            self.deliver(line.strip_suffix('\r').unwrap_or(line));
            start = end + 1;
        }
        let mut rest = pending;
        rest.drain(..start);
        if rest.len() > self.max_pending {
            let cut = self.redactor.safe_cut(&rest);
            if cut > 0 {
                self.deliver(&rest[..cut]);
                rest.drain(..cut);
            }
        }
        self.pending = rest;
    }

    /// End of stream: delivers the last line even without a newline.
    pub(crate) fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.carry.clear();
            self.pending.push(char::REPLACEMENT_CHARACTER);
        }
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.deliver(pending.strip_suffix('\r').unwrap_or(&pending));
        }
    }

    /// The last lines delivered (redacted), oldest first.
    pub(crate) fn take_tail(&mut self) -> Vec<String> {
        std::mem::take(&mut self.tail).into()
    }

    /// Lossy incremental UTF-8 decoding into `pending`.
    fn decode(&mut self, bytes: &[u8]) {
        let joined;
        let mut rest: &[u8] = if self.carry.is_empty() {
            bytes
        } else {
            let mut v = std::mem::take(&mut self.carry);
            v.extend_from_slice(bytes);
            joined = v;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.pending.push_str(s);
                    return;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.pending
                        .push_str(std::str::from_utf8(valid).unwrap_or_default());
                    if let Some(n) = e.error_len() {
                        self.pending.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[n..];
                    } else {
                        self.carry = after.to_vec();
                        return;
                    }
                }
            }
        }
    }

    fn deliver(&mut self, raw: &str) {
        let redacted = self.redactor.redact(raw);
        for piece in split_pieces(&redacted, MAX_LINE_BYTES) {
            self.sink.line(self.stream, piece);
            if self.tail_cap > 0 {
                if self.tail.len() == self.tail_cap {
                    self.tail.pop_front();
                }
                self.tail.push_back(piece.to_owned());
            }
        }
    }
}

/// Splits `s` into pieces of at most `max` bytes on char boundaries; an empty `s` gives one empty
/// piece.
pub(crate) fn split_pieces(s: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = s;
    let mut first = true;
    std::iter::from_fn(move || {
        if rest.is_empty() && !first {
            return None;
        }
        first = false;
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, after) = rest.split_at(end);
        rest = after;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect(chunks: &[&[u8]], redactor: &Redactor, max_pending: usize) -> Vec<String> {
        let lines = Mutex::new(Vec::new());
        let sink = |_: OutputStream, t: &str| lines.lock().unwrap().push(t.to_owned());
        let mut a = LineAssembler::new(OutputStream::Stdout, &sink, redactor.clone(), 0)
            .with_max_pending(max_pending);
        for c in chunks {
            a.push(c);
        }
        a.finish();
        drop(a);
        lines.into_inner().unwrap()
    }

    #[test]
    fn lines_crlf_and_final_line() {
        let out = collect(&[b"a\r\nb", b"c\n\nlast"], &Redactor::new(), 1 << 20);
        assert_eq!(out, ["a", "bc", "", "last"]);
    }

    #[test]
    fn utf8_split_across_reads_and_invalid_bytes() {
        let e_acute = "é".as_bytes();
        let out = collect(
            &[
                &[b'x', e_acute[0]],
                &[e_acute[1], b'\n', 0xff, b'y', b'\n', 0xe2],
            ],
            &Redactor::new(),
            1 << 20,
        );
        assert_eq!(out, ["xé", "\u{fffd}y", "\u{fffd}"]);
    }

    #[test]
    fn overflow_without_newline_never_splits_a_secret() {
        let r = Redactor::new();
        r.add("SECRETVALUE");
        // A line far longer than the pending limit, with secrets everywhere.
        let line = "ab SECRETVALUE ".repeat(50);
        let chunks: Vec<&[u8]> = line.as_bytes().chunks(7).collect();
        let out = collect(&chunks, &r, 40);
        let joined = out.concat();
        assert_eq!(joined, line.replace("SECRETVALUE", "[REDACTED]"));
        assert!(out.len() > 1);
    }

    #[test]
    fn pieces_on_char_boundaries() {
        let s = "ééé";
        let pieces: Vec<&str> = split_pieces(s, 3).collect();
        assert_eq!(pieces, ["é", "é", "é"]);
        assert_eq!(split_pieces("", 3).collect::<Vec<_>>(), [""]);
    }
}
