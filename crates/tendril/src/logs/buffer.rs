//! The bounded buffer between the sink and the delivery task.
//!
//! Accepted lines are numbered and appended to the job's journal. Pending (not yet taken for a
//! batch) lines form, in seq order: up to `memory_bytes` of lines in memory, then a *spilled*
//! range that lives in the journal and is read back by the delivery task, then (only once the
//! journal cannot be written) an in-memory overflow.
//!
//! Bytes are bounded, not lines. While the journal takes lines, memory holds `memory_bytes` of
//! pending lines and a copy of the spilled lines the journal has not handed to the OS yet (at
//! most its 64 KiB buffer). When a journal write fails (disk full, IO error), that copy moves
//! to the overflow — no accepted line is lost — and the journal is given up for the job. From
//! then on pending lines live in memory up to `max_memory_bytes`; a line arriving past that is
//! dropped before it is numbered (so seqs have no gap), and a `system` line saying how many
//! lines were dropped and why follows as soon as there is room again, or when the log closes.

use super::journal::{JOURNAL_BUFFER_BYTES, JournalWriter};
pub(crate) use super::take::Take;
use super::take::take_from;
use super::text::line_size;
use chrono::Utc;
use grape_api::{LogLine, LogStream};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::time::Instant;

/// Byte bounds of a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Pending bytes kept in memory while the journal takes the rest.
    pub(crate) memory_bytes: usize,
    /// Pending bytes kept in memory in all, once the journal cannot be written.
    pub(crate) max_memory_bytes: usize,
}

/// Lines dropped (or lost from an unreadable spool) and not reported yet.
#[derive(Debug, Default)]
struct Dropped {
    lines: u64,
    bytes: u64,
    why: String,
}

/// The shared state of one pipeline (behind a mutex).
#[derive(Debug)]
pub(crate) struct Buffer {
    next_seq: u64,
    bounds: Bounds,
    mem: VecDeque<LogLine>,
    mem_bytes: usize,
    /// First seq of the spilled range; equals `spill_end` when it is empty.
    spill_from: u64,
    /// One past the last seq of the spilled range.
    spill_end: u64,
    /// Journal offset of line `spill_from`.
    spill_offset: u64,
    spill_bytes: usize,
    /// Copies of the spilled lines the journal still buffers (seq `flushed_below..spill_end`).
    unflushed: VecDeque<LogLine>,
    overflow: VecDeque<LogLine>,
    overflow_bytes: usize,
    journal: Option<JournalWriter>,
    /// Why there is no journal (it could not be created, or a write failed).
    journal_error: Option<String>,
    /// Lines with seq below this were handed to the OS.
    flushed_below: u64,
    pending_lines: usize,
    /// When the oldest pending line was accepted.
    oldest: Option<Instant>,
    /// Lines that ever went to the spilled range.
    spilled_total: u64,
    dropped: Dropped,
    dropped_total: u64,
    /// No more lines are expected (finish was called).
    closed: bool,
}

impl Buffer {
    pub(crate) fn new(bounds: Bounds, journal: Result<JournalWriter, String>) -> Self {
        let (journal, journal_error) = match journal {
            Ok(j) => (Some(j), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            next_seq: 1,
            bounds,
            mem: VecDeque::new(),
            mem_bytes: 0,
            spill_from: 1,
            spill_end: 1,
            spill_offset: 0,
            spill_bytes: 0,
            unflushed: VecDeque::new(),
            overflow: VecDeque::new(),
            overflow_bytes: 0,
            journal,
            journal_error,
            flushed_below: 1,
            pending_lines: 0,
            oldest: None,
            spilled_total: 0,
            dropped: Dropped::default(),
            dropped_total: 0,
            closed: false,
        }
    }

    /// Numbers, journals and queues one (redacted, at most 64 KiB) line; returns its seq, or
    /// `None` when it was dropped (no journal and the memory bound reached).
    pub(crate) fn push(&mut self, stream: LogStream, text: String) -> Option<u64> {
        let size = line_size(&text);
        if self.journal.is_none()
            && self.pending_lines > 0
            && self.memory_used() + size > self.bounds.max_memory_bytes
        {
            if self.dropped.lines == 0 {
                tracing::error!(
                    bound = self.bounds.max_memory_bytes,
                    why = self.journal_error.as_deref(),
                    "log lines wait in memory up to their bound and the journal cannot take more: dropping lines"
                );
            }
            self.dropped.lines += 1;
            self.dropped.bytes += text.len() as u64;
            self.dropped.why = format!(
                "the log journal cannot be written ({}) and {} MiB of lines already wait in memory",
                self.journal_error.as_deref().unwrap_or("no journal"),
                self.bounds.max_memory_bytes / (1024 * 1024)
            );
            return None;
        }
        self.report_dropped();
        Some(self.accept(stream, text))
    }

    /// Pushes the `system` line that reports dropped lines, if any (over the bound: it is one
    /// short line).
    fn report_dropped(&mut self) {
        if self.dropped.lines > 0 {
            let d = std::mem::take(&mut self.dropped);
            self.dropped_total += d.lines;
            let text = format!(
                "tendril: {} log lines ({} bytes) were lost: {}",
                d.lines, d.bytes, d.why
            );
            self.accept(LogStream::System, text);
        }
    }

    fn accept(&mut self, stream: LogStream, text: String) -> u64 {
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
                self.journal_failed(&e);
                None
            }
            None => None,
        };
        self.pending_lines += 1;
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        let spill_empty = self.spill_from == self.spill_end;
        if spill_empty
            && self.overflow.is_empty()
            && (self.mem.is_empty() || self.mem_bytes + size <= self.bounds.memory_bytes)
        {
            self.mem.push_back(line);
            self.mem_bytes += size;
            self.spill_from = seq + 1;
            self.spill_end = seq + 1;
        } else if let (Some(offset), true) = (offset, self.overflow.is_empty()) {
            if spill_empty {
                self.spill_from = seq;
                self.spill_offset = offset;
            }
            self.spill_end = seq + 1;
            self.spill_bytes += size;
            self.spilled_total += 1;
            self.unflushed.push_back(line);
        } else {
            self.overflow.push_back(line);
            self.overflow_bytes += size;
        }
        if self
            .journal
            .as_ref()
            .is_some_and(|j| j.buffered() >= JOURNAL_BUFFER_BYTES)
        {
            self.write_journal();
        }
        seq
    }

    /// Bytes of pending lines held in memory.
    fn memory_used(&self) -> usize {
        self.mem_bytes + self.overflow_bytes
    }

    /// A journal write failed: the journal is given up; the spilled lines it had not handed to
    /// the OS go back to memory, ahead of the overflow.
    fn journal_failed(&mut self, e: &io::Error) {
        tracing::error!(error = %e, unwritten = self.unflushed.len(),
            "cannot write the log journal; keeping the job's pending lines in memory");
        self.journal = None;
        self.journal_error = Some(e.to_string());
        let moved: usize = self.unflushed.iter().map(|l| line_size(&l.text)).sum();
        self.spill_bytes = self.spill_bytes.saturating_sub(moved);
        self.overflow_bytes += moved;
        while let Some(line) = self.unflushed.pop_back() {
            self.overflow.push_front(line);
        }
        self.spill_end = self.spill_end.min(self.flushed_below).max(self.spill_from);
    }

    /// The journal's spooled lines cannot be read back: they are lost (reported by a `system`
    /// line); the journal is given up. Returns how many lines were lost.
    pub(crate) fn spool_lost(&mut self, e: &io::Error) -> u64 {
        if self.journal.is_some() {
            self.journal_failed(e);
        }
        let lost = self.spill_end - self.spill_from;
        self.pending_lines -= lost as usize;
        if self.pending_lines == 0 {
            self.oldest = None;
        }
        self.spill_bytes = 0;
        self.spill_from = self.spill_end;
        if lost > 0 {
            self.dropped_total += lost;
            let text = format!(
                "tendril: {lost} log lines (seq up to {}) were lost: the log spool cannot be read ({e})",
                self.spill_end - 1
            );
            self.accept(LogStream::System, text);
        }
        lost
    }

    /// Lines accepted so far.
    pub(crate) fn accepted(&self) -> u64 {
        self.next_seq - 1
    }

    /// Pending lines and their estimated bytes, and when the oldest was accepted.
    pub(crate) fn pending(&self) -> (usize, usize, Option<Instant>) {
        let bytes = self.mem_bytes + self.spill_bytes + self.overflow_bytes;
        (self.pending_lines, bytes, self.oldest)
    }

    /// Lines that went through the spill file.
    pub(crate) fn spilled_total(&self) -> u64 {
        self.spilled_total
    }

    /// Lines dropped or lost so far (each reported by a `system` line).
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_total + self.dropped.lines
    }

    /// Why the journal is not written, if it is not.
    pub(crate) fn journal_error(&self) -> Option<&str> {
        self.journal_error.as_deref()
    }

    /// No more lines are expected: dropped lines are reported now.
    pub(crate) fn close(&mut self) {
        self.report_dropped();
        self.closed = true;
    }

    /// Whether [`Buffer::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Hands every journaled line to the OS (they then survive the death of the process); a
    /// failure gives the journal up (see [`Buffer::journal_failed`]).
    pub(crate) fn write_journal(&mut self) {
        if let Some(j) = self.journal.as_mut()
            && self.flushed_below < self.next_seq
        {
            match j.flush() {
                Ok(()) => {
                    self.flushed_below = self.next_seq;
                    self.unflushed.clear();
                }
                Err(e) => self.journal_failed(&e),
            }
        }
    }

    /// [`Buffer::write_journal`], and a handle to fsync the journal with (None without one).
    /// Fails when the journal was given up: it does not hold every accepted line.
    pub(crate) fn flush_journal(&mut self) -> io::Result<Option<File>> {
        self.write_journal();
        match (&self.journal, &self.journal_error) {
            (Some(j), _) => j.sync_handle(),
            (None, Some(e)) => Err(io::Error::other(format!(
                "the log journal was given up: {e}"
            ))),
            (None, None) => Ok(None),
        }
    }

    /// Takes the next lines to send: up to `max_lines` / `max_bytes` (at least one line).
    pub(crate) fn take(&mut self, max_lines: usize, max_bytes: usize) -> Take {
        if self.dropped.lines > 0 && self.memory_used() < self.bounds.max_memory_bytes / 2 {
            self.report_dropped();
        }
        if !self.mem.is_empty() {
            let (out, bytes) = take_from(&mut self.mem, max_lines, max_bytes);
            self.mem_bytes = self.mem_bytes.saturating_sub(bytes);
            self.taken(out.len());
            return Take::Lines(out);
        }
        if self.spill_from < self.spill_end {
            self.write_journal();
            let count = self.spill_end.min(self.flushed_below) - self.spill_from;
            if count > 0 {
                return Take::Spilled {
                    from: self.spill_from,
                    offset: self.spill_offset,
                    count,
                };
            }
        }
        if !self.overflow.is_empty() {
            let (out, bytes) = take_from(&mut self.overflow, max_lines, max_bytes);
            self.overflow_bytes = self.overflow_bytes.saturating_sub(bytes);
            self.taken(out.len());
            return Take::Lines(out);
        }
        Take::Nothing
    }

    /// The delivery task read `lines` of the spilled range; the next one starts at `offset`.
    pub(crate) fn spilled_taken(&mut self, lines: &[LogLine], offset: u64) {
        let bytes: usize = lines.iter().map(|l| line_size(&l.text)).sum();
        self.spill_from += lines.len() as u64;
        self.spill_offset = offset;
        self.spill_bytes = self.spill_bytes.saturating_sub(bytes);
        self.taken(lines.len());
    }

    fn taken(&mut self, lines: usize) {
        self.pending_lines -= lines;
        // Lines left behind by a full batch are as old as the oldest line taken, or nearly:
        // keeping its time makes them due at once, so a backlog leaves back to back.
        if self.pending_lines == 0 {
            self.oldest = None;
        }
    }
}

#[cfg(test)]
#[path = "buffer_tests.rs"]
mod tests;
