//! Turning the bytes of a pipe into redacted lines: lossy UTF-8, `\r\n` trimmed, whole lines
//! buffered before redaction, lines longer than [`MAX_LINE_BYTES`] cut after redaction and
//! marked ([`truncate_line`]); the rest of such a line is read and thrown away, never buffered.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::{LineSink, OutputStream, Redactor};

/// Lines longer than this (in bytes, after redaction) are truncated: the sink gets their
/// beginning and a marker saying how long the line was, at most this many bytes in all.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Room kept for the marker at the end of a truncated line.
const MARKER_ROOM: usize = 96;

/// How much of a line without a newline is buffered before it is truncated (its redacted head
/// kept, the rest counted and discarded as it comes): a line plus room for a secret straddling
/// the cut.
pub(crate) const MAX_PENDING_BYTES: usize = 2 * MAX_LINE_BYTES;

/// The marker ending a truncated line of `total` bytes.
fn marker(total: u64) -> String {
    format!(
        " [line truncated: {total} bytes, only the first {} kept]",
        MAX_LINE_BYTES - MARKER_ROOM
    )
}

/// The part of `text` a truncated line keeps.
fn cut_head(text: &str) -> &str {
    let mut cut = text.len().min(MAX_LINE_BYTES - MARKER_ROOM);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// The head of `text` and the marker of a line of `total` bytes.
fn truncated(text: &str, total: u64) -> String {
    let head = cut_head(text);
    let mut out = String::with_capacity(head.len() + MARKER_ROOM);
    out.push_str(head);
    out.push_str(&marker(total));
    out
}

/// `text` when it is at most [`MAX_LINE_BYTES`] long; otherwise its beginning and a marker
/// (`… [line truncated: N bytes, only the first M kept]`), at most [`MAX_LINE_BYTES`] in all.
/// Redact first: the cut must not split a secret.
pub fn truncate_line(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_LINE_BYTES {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(truncated(text, text.len() as u64))
    }
}

/// A line being truncated: its redacted head, and its length so far.
struct Truncating {
    head: String,
    total: u64,
}

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
    /// The current line is too long: its head is kept, the rest thrown away.
    truncating: Option<Truncating>,
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
            truncating: None,
            tail: VecDeque::new(),
            tail_cap,
        }
    }

    /// Feeds the bytes of one read; delivers every line completed by them.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.decode(bytes);
        let pending = std::mem::take(&mut self.pending);
        let mut start = 0;
        while let Some(pos) = pending[start..].find('\n') {
            let end = start + pos;
            let line = &pending[start..end];
            self.end_line(line.strip_suffix('\r').unwrap_or(line));
            start = end + 1;
        }
        let mut rest = pending;
        rest.drain(..start);
        if let Some(t) = &mut self.truncating {
            // More of a line that is too long: counted, never kept.
            t.total += rest.len() as u64;
            rest.clear();
        } else if rest.len() > self.max_pending {
            // Redact the part no secret straddles out of, keep its head, drop the rest.
            let cut = self.redactor.safe_cut(&rest);
            let head = self.redactor.redact(&rest[..cut]);
            self.truncating = Some(Truncating {
                head: cut_head(&head).to_owned(),
                total: rest.len() as u64,
            });
            rest.clear();
        }
        self.pending = rest;
    }

    /// The end of a line (at its newline, or at the end of the stream).
    fn end_line(&mut self, last_part: &str) {
        if let Some(t) = self.truncating.take() {
            let total = t.total + last_part.len() as u64;
            self.emit(truncated(&t.head, total));
        } else {
            let redacted = self.redactor.redact(last_part);
            let line = truncate_line(&redacted).into_owned();
            self.emit(line);
        }
    }

    /// End of stream: delivers the last line even without a newline.
    pub(crate) fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.carry.clear();
            self.pending.push(char::REPLACEMENT_CHARACTER);
        }
        if !self.pending.is_empty() || self.truncating.is_some() {
            let pending = std::mem::take(&mut self.pending);
            self.end_line(pending.strip_suffix('\r').unwrap_or(&pending));
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

    fn emit(&mut self, line: String) {
        self.sink.line(self.stream, &line);
        if self.tail_cap > 0 {
            if self.tail.len() == self.tail_cap {
                self.tail.pop_front();
            }
            self.tail.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect(chunks: &[&[u8]], redactor: &Redactor) -> Vec<String> {
        let lines = Mutex::new(Vec::new());
        let sink = |_: OutputStream, t: &str| lines.lock().unwrap().push(t.to_owned());
        let mut a = LineAssembler::new(OutputStream::Stdout, &sink, redactor.clone(), 0);
        for c in chunks {
            a.push(c);
        }
        a.finish();
        drop(a);
        lines.into_inner().unwrap()
    }

    #[test]
    fn lines_crlf_and_final_line() {
        let out = collect(&[b"a\r\nb", b"c\n\nlast"], &Redactor::new());
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
        );
        assert_eq!(out, ["xé", "\u{fffd}y", "\u{fffd}"]);
    }

    #[test]
    fn a_line_of_a_megabyte_is_truncated_with_a_marker_and_the_next_line_is_whole() {
        let r = Redactor::new();
        r.add("SECRETVALUE");
        // 1 MiB without a newline, secrets everywhere, read in odd chunks.
        let mut input = "ab SECRETVALUE é ".repeat(1024 * 1024 / 18).into_bytes();
        let total = input.len();
        input.extend_from_slice(b"\nnext line\n");
        let chunks: Vec<&[u8]> = input.chunks(7_777).collect();
        let out = collect(&chunks, &r);
        assert_eq!(out.len(), 2, "one truncated line, then the next");
        let first = &out[0];
        assert!(first.len() <= MAX_LINE_BYTES, "{} bytes", first.len());
        assert!(
            first.ends_with(&marker(total as u64)),
            "marker: {}",
            &first[first.len() - 100..]
        );
        assert!(first.starts_with("ab [REDACTED] é ab [REDACTED]"));
        assert!(
            !first.contains("SECRET"),
            "no secret, not even a part of one"
        );
        assert_eq!(out[1], "next line");
    }

    #[test]
    fn a_long_line_with_a_newline_in_the_same_read_and_at_the_end_of_the_stream() {
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        let input = format!("{long}\nshort\n{long}");
        let out = collect(&[input.as_bytes()], &Redactor::new());
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], truncated(&long, long.len() as u64));
        assert!(out[0].len() <= MAX_LINE_BYTES);
        assert_eq!(out[1], "short");
        assert_eq!(out[2], out[0]);
        // Exactly at the limit: kept as is.
        let exact = "y".repeat(MAX_LINE_BYTES);
        assert_eq!(collect(&[exact.as_bytes()], &Redactor::new()), [exact]);
    }

    #[test]
    fn truncate_line_cuts_on_a_char_boundary() {
        let text = "€".repeat(MAX_LINE_BYTES);
        let cut = truncate_line(&text);
        assert!(cut.len() <= MAX_LINE_BYTES);
        assert!(cut.ends_with(&marker(text.len() as u64)));
        assert!(matches!(truncate_line("short"), Cow::Borrowed("short")));
    }
}
