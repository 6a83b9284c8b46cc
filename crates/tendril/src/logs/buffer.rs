//! The bounded buffer between the sink and the delivery task.
//!
//! Accepted lines are numbered and appended to the job's journal. Pending (not yet taken for a
//! batch) lines form, in seq order: up to `memory_lines` lines in memory, then a *spilled* range
//! that lives only in the journal and is read back by the delivery task, then (only when the
//! journal cannot be written) an unbounded in-memory overflow, so that no line is ever dropped.

use super::journal::JournalWriter;
use chrono::Utc;
use grape_api::{LogLine, LogStream};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::time::Instant;

/// JSON overhead of one line besides its text (`seq`, `ts`, `stream`, braces, quotes).
pub(crate) const LINE_OVERHEAD: usize = 96;

/// Bytes of `text` once JSON-escaped (the quotes excluded), as serde_json writes it.
pub(crate) fn json_text_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// Estimated size of a line in a batch body.
pub(crate) fn line_size(text: &str) -> usize {
    json_text_len(text) + LINE_OVERHEAD
}

/// Cuts `text` into pieces of at most `max` bytes, at char boundaries.
pub(crate) fn split_line(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let max = max.max(4);
    let mut rest = text;
    let mut first = true;
    std::iter::from_fn(move || {
        if rest.is_empty() && !first {
            return None;
        }
        first = false;
        let mut cut = rest.len().min(max);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

/// What the delivery task should take next.
#[derive(Debug)]
pub(crate) enum Take {
    /// Nothing pending.
    Nothing,
    /// These lines, from memory.
    Lines(Vec<LogLine>),
    /// Read up to `count` lines from the journal, starting at `offset` (seq `from`).
    Spilled {
        /// First seq of the range.
        from: u64,
        /// Journal offset of that line.
        offset: u64,
        /// Lines available (flushed to the file).
        count: u64,
    },
}

/// The shared state of one pipeline (behind a mutex).
#[derive(Debug)]
pub(crate) struct Buffer {
    next_seq: u64,
    memory_lines: usize,
    mem: VecDeque<LogLine>,
    /// First seq of the spilled range; equals `spill_end` when it is empty.
    spill_from: u64,
    /// One past the last seq of the spilled range.
    spill_end: u64,
    /// Journal offset of line `spill_from`.
    spill_offset: u64,
    overflow: VecDeque<LogLine>,
    journal: Option<JournalWriter>,
    /// Lines with seq below this were handed to the OS.
    flushed_below: u64,
    pending_lines: usize,
    pending_bytes: usize,
    /// When the oldest pending line was accepted.
    oldest: Option<Instant>,
    /// Lines that ever went to the spilled range.
    spilled_total: u64,
    /// No more lines are expected (finish was called).
    pub(crate) closed: bool,
}

impl Buffer {
    pub(crate) fn new(memory_lines: usize, journal: Option<JournalWriter>) -> Self {
        Self {
            next_seq: 1,
            memory_lines: memory_lines.max(1),
            mem: VecDeque::new(),
            spill_from: 1,
            spill_end: 1,
            spill_offset: 0,
            overflow: VecDeque::new(),
            journal,
            flushed_below: 1,
            pending_lines: 0,
            pending_bytes: 0,
            oldest: None,
            spilled_total: 0,
            closed: false,
        }
    }

    /// Numbers, journals and queues one (redacted, at most 64 KiB) line; returns its seq.
    pub(crate) fn push(&mut self, stream: LogStream, text: String) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let line = LogLine {
            seq,
            ts: Utc::now(),
            stream,
            text,
        };
        let size = line_size(&line.text);
        let offset = match self.journal.as_mut().map(|j| j.append(&line)) {
            Some(Ok(offset)) => Some(offset),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot write the log journal; keeping lines in memory");
                self.journal = None;
                None
            }
            None => None,
        };
        self.pending_lines += 1;
        self.pending_bytes += size;
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        let spill_empty = self.spill_from == self.spill_end;
        if spill_empty && self.overflow.is_empty() && self.mem.len() < self.memory_lines {
            self.mem.push_back(line);
            self.spill_from = seq + 1;
            self.spill_end = seq + 1;
        } else if let (Some(offset), true) = (offset, self.overflow.is_empty()) {
            if spill_empty {
                self.spill_from = seq;
                self.spill_offset = offset;
            }
            self.spill_end = seq + 1;
            self.spilled_total += 1;
        } else {
            self.overflow.push_back(line);
        }
        seq
    }

    /// Lines accepted so far.
    pub(crate) fn accepted(&self) -> u64 {
        self.next_seq - 1
    }

    /// Pending lines and their estimated bytes, and when the oldest was accepted.
    pub(crate) fn pending(&self) -> (usize, usize, Option<Instant>) {
        (self.pending_lines, self.pending_bytes, self.oldest)
    }

    /// Lines that went through the spill file.
    pub(crate) fn spilled_total(&self) -> u64 {
        self.spilled_total
    }

    /// Hands every journaled line to the OS (they then survive the death of the process).
    pub(crate) fn write_journal(&mut self) -> io::Result<()> {
        if let Some(j) = self.journal.as_mut()
            && self.flushed_below < self.next_seq
        {
            j.flush()?;
            self.flushed_below = self.next_seq;
        }
        Ok(())
    }

    /// [`Buffer::write_journal`], and a handle to fsync the journal with (None without one).
    pub(crate) fn flush_journal(&mut self) -> io::Result<Option<File>> {
        self.write_journal()?;
        self.journal
            .as_ref()
            .map(JournalWriter::sync_handle)
            .transpose()
    }

    /// Takes the next lines to send: up to `max_lines` / `max_bytes` (at least one line).
    pub(crate) fn take(&mut self, max_lines: usize, max_bytes: usize) -> io::Result<Take> {
        if !self.mem.is_empty() {
            let mut out = Vec::new();
            let mut bytes = 0;
            while let Some(front) = self.mem.front() {
                let size = line_size(&front.text);
                if !out.is_empty() && (out.len() >= max_lines || bytes + size > max_bytes) {
                    break;
                }
                bytes += size;
                out.extend(self.mem.pop_front());
            }
            self.taken(out.len(), bytes);
            return Ok(Take::Lines(out));
        }
        if self.spill_from < self.spill_end {
            self.write_journal()?;
            let count = self.spill_end.min(self.flushed_below) - self.spill_from;
            return Ok(Take::Spilled {
                from: self.spill_from,
                offset: self.spill_offset,
                count,
            });
        }
        if !self.overflow.is_empty() {
            let mut out = Vec::new();
            let mut bytes = 0;
            while let Some(front) = self.overflow.front() {
                let size = line_size(&front.text);
                if !out.is_empty() && (out.len() >= max_lines || bytes + size > max_bytes) {
                    break;
                }
                bytes += size;
                out.extend(self.overflow.pop_front());
            }
            self.taken(out.len(), bytes);
            return Ok(Take::Lines(out));
        }
        Ok(Take::Nothing)
    }

    /// The delivery task read `lines` of the spilled range; the next one starts at `offset`.
    pub(crate) fn spilled_taken(&mut self, lines: &[LogLine], offset: u64) {
        let bytes = lines.iter().map(|l| line_size(&l.text)).sum();
        self.spill_from += lines.len() as u64;
        self.spill_offset = offset;
        self.taken(lines.len(), bytes);
    }

    fn taken(&mut self, lines: usize, bytes: usize) {
        self.pending_lines -= lines;
        self.pending_bytes = self.pending_bytes.saturating_sub(bytes);
        // Lines left behind by a full batch are as old as the oldest line taken, or nearly:
        // keeping its time makes them due at once, so a backlog leaves back to back.
        if self.pending_lines == 0 {
            self.oldest = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_text_and_char_boundaries() {
        let text = "é".repeat(10); // 20 bytes
        let pieces: Vec<&str> = split_line(&text, 5).collect();
        assert!(pieces.iter().all(|p| p.len() <= 5));
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_line("", 5).collect::<Vec<_>>(), vec![""]);
        assert_eq!(split_line("abc", 5).collect::<Vec<_>>(), vec!["abc"]);
    }

    #[test]
    fn json_len_matches_serde() {
        let text = "a\"b\\c\nd\te\u{1}f\u{7f}é";
        let encoded = serde_json::to_string(text).unwrap();
        assert_eq!(json_text_len(text), encoded.len() - 2);
    }

    #[test]
    fn memory_then_spill_then_memory_again_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let journal = JournalWriter::create(dir.path()).unwrap();
        let path = journal.path().to_owned();
        let mut b = Buffer::new(3, Some(journal));
        for i in 1..=10 {
            b.push(LogStream::Stdout, format!("line {i}"));
        }
        assert_eq!(b.spilled_total(), 7);
        let mut got = Vec::new();
        loop {
            match b.take(4, 1 << 20).unwrap() {
                Take::Nothing => break,
                Take::Lines(lines) => got.extend(lines.into_iter().map(|l| l.seq)),
                Take::Spilled {
                    from,
                    offset,
                    count,
                } => {
                    let mut r = super::super::journal::JournalReader::open(&path, offset).unwrap();
                    let mut lines = Vec::new();
                    for _ in 0..count.min(4) {
                        lines.push(r.next_line().unwrap().unwrap());
                    }
                    assert_eq!(lines[0].seq, from);
                    got.extend(lines.iter().map(|l| l.seq));
                    b.spilled_taken(&lines, r.position());
                    if got.len() == 7 {
                        // New lines while the spilled range is not drained yet go to it too.
                        b.push(LogStream::Stderr, "late".into());
                    }
                }
            }
        }
        assert_eq!(got, (1..=11).collect::<Vec<_>>());
        b.push(LogStream::Stdout, "back in memory".into());
        assert!(matches!(b.take(4, 1 << 20).unwrap(), Take::Lines(l) if l[0].seq == 12));
    }
}
