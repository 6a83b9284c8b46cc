//! What the delivery task takes from the buffer.

use super::text::line_size;
use grape_api::LogLine;
use std::collections::VecDeque;

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
        /// Lines available (handed to the OS).
        count: u64,
    },
}

/// Pops up to `max_lines` / `max_bytes` (at least one line) from the front of `queue`.
pub(super) fn take_from(
    queue: &mut VecDeque<LogLine>,
    max_lines: usize,
    max_bytes: usize,
) -> (Vec<LogLine>, usize) {
    let mut out = Vec::new();
    let mut bytes = 0;
    while let Some(front) = queue.front() {
        let size = line_size(&front.text);
        if !out.is_empty() && (out.len() >= max_lines || bytes + size > max_bytes) {
            break;
        }
        bytes += size;
        out.extend(queue.pop_front());
    }
    (out, bytes)
}
