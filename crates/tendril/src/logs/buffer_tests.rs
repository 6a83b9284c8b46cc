use super::*;
use crate::logs::journal::{JournalIo, JournalReader};
use std::sync::{Arc, Mutex};

const MIB: usize = 1024 * 1024;

fn bounds(memory_bytes: usize, max_memory_bytes: usize) -> Bounds {
    Bounds {
        memory_bytes,
        max_memory_bytes,
    }
}

/// A journal file that takes `room` bytes, then fails like a full disk (after writing a part
/// of the failing chunk, as write(2) does).
#[derive(Debug)]
struct FullDisk {
    file: File,
    room: Arc<Mutex<usize>>,
}

impl JournalIo for FullDisk {
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let mut room = self.room.lock().unwrap();
        let n = bytes.len().min(*room);
        self.file.write_all(&bytes[..n])?;
        *room -= n;
        if n < bytes.len() {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        Ok(())
    }

    fn sync_handle(&self) -> io::Result<Option<File>> {
        self.file.try_clone().map(Some)
    }
}

fn full_disk(dir: &std::path::Path, room: usize) -> JournalWriter {
    let path = dir.join("log.jsonl");
    let file = File::create(&path).unwrap();
    JournalWriter::with_io(
        path,
        Box::new(FullDisk {
            file,
            room: Arc::new(Mutex::new(room)),
        }),
    )
}

/// Drains `b` as the delivery task would; returns every line taken, in order.
fn drain(b: &mut Buffer, path: &std::path::Path) -> Vec<LogLine> {
    let mut got = Vec::new();
    loop {
        match b.take(100, 1 << 20) {
            Take::Nothing => return got,
            Take::Lines(lines) => got.extend(lines),
            Take::Spilled {
                from,
                offset,
                count,
            } => {
                let mut r = JournalReader::open(path, offset).unwrap();
                let mut lines = Vec::new();
                for _ in 0..count.min(100) {
                    lines.push(r.next_line().unwrap().unwrap());
                }
                assert_eq!(lines[0].seq, from);
                b.spilled_taken(&lines, r.position());
                got.extend(lines);
            }
        }
    }
}

fn seqs(lines: &[LogLine]) -> Vec<u64> {
    lines.iter().map(|l| l.seq).collect()
}

#[test]
fn memory_then_spill_then_memory_again_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalWriter::create(dir.path()).unwrap();
    let path = journal.path().to_owned();
    // Room for three short lines in memory.
    let mut b = Buffer::new(bounds(3 * line_size("line 10"), MIB), Ok(journal));
    for i in 1..=10 {
        b.push(LogStream::Stdout, format!("line {i}"));
    }
    assert_eq!(b.spilled_total(), 7);
    let mut got = Vec::new();
    loop {
        match b.take(4, 1 << 20) {
            Take::Nothing => break,
            Take::Lines(lines) => got.extend(lines.into_iter().map(|l| l.seq)),
            Take::Spilled {
                from,
                offset,
                count,
            } => {
                let mut r = JournalReader::open(&path, offset).unwrap();
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
    assert!(matches!(b.take(4, 1 << 20), Take::Lines(l) if l[0].seq == 12));
}

#[test]
fn a_full_disk_loses_no_line_that_fits_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 100 KiB of journal (one flush of 64 KiB goes through), then ENOSPC; lines of ~1 KiB;
    // 4 KiB in memory before spilling.
    let journal = full_disk(dir.path(), 100 * 1024);
    let path = journal.path().to_owned();
    let mut b = Buffer::new(bounds(4 * 1024, 8 * MIB), Ok(journal));
    let texts: Vec<String> = (1..=500)
        .map(|i| format!("{i:04} {}", "x".repeat(1000)))
        .collect();
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(b.push(LogStream::Stdout, t.clone()), Some(i as u64 + 1));
    }
    assert!(
        b.journal_error()
            .is_some_and(|e| e.contains("No space left")),
        "{:?}",
        b.journal_error()
    );
    assert!(
        b.flush_journal().is_err(),
        "a given-up journal is no journal to sync"
    );
    let got = drain(&mut b, &path);
    assert_eq!(seqs(&got), (1..=500).collect::<Vec<_>>());
    let got_texts: Vec<&String> = got.iter().map(|l| &l.text).collect();
    assert_eq!(got_texts, texts.iter().collect::<Vec<_>>());
    assert_eq!(b.dropped_total(), 0);
}

#[test]
fn past_the_memory_bound_lines_are_dropped_and_a_system_line_says_how_many_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let journal = full_disk(dir.path(), 0);
    let path = journal.path().to_owned();
    let line = "y".repeat(1000);
    let size = line_size(&line);
    // Memory for 50 lines once the journal failed.
    let mut b = Buffer::new(bounds(10 * size, 50 * size), Ok(journal));
    let mut accepted = 0;
    for _ in 0..200 {
        if b.push(LogStream::Stdout, line.clone()).is_some() {
            accepted += 1;
        }
    }
    // The bound, plus the spilled lines the journal buffered when it failed (kept, not lost).
    let most = 51 + (JOURNAL_BUFFER_BYTES / size + 1) as u64;
    assert!(accepted <= most, "{accepted} accepted");
    assert_eq!(b.dropped_total(), 200 - accepted);
    b.close();
    let got = drain(&mut b, &path);
    assert_eq!(
        seqs(&got),
        (1..=accepted + 1).collect::<Vec<_>>(),
        "no seq gap"
    );
    let last = got.last().unwrap();
    assert_eq!(last.stream, LogStream::System);
    assert!(
        last.text.starts_with(&format!("tendril: {} log lines ({} bytes) were lost: the log journal cannot be written (No space left on device", 200 - accepted, (200 - accepted) * 1000)),
        "{}",
        last.text
    );
    assert!(
        last.text.contains("MiB of lines already wait in memory"),
        "{}",
        last.text
    );
}

#[test]
fn without_any_journal_memory_is_bounded_by_bytes() {
    let mut b = Buffer::new(bounds(1000, 10_000), Err("cannot create it".into()));
    for _ in 0..1_000 {
        b.push(LogStream::Stdout, "z".repeat(500));
    }
    let (lines, bytes, _) = b.pending();
    assert!(
        bytes <= 10_000 + line_size(&"z".repeat(500)),
        "{bytes} bytes pending"
    );
    assert!(lines < 20, "{lines}");
    // Room again after the delivery task took a line: the report comes first.
    let Take::Lines(mut all) = b.take(1, 1 << 20) else {
        panic!("lines expected")
    };
    b.push(LogStream::Stdout, "after".into());
    loop {
        match b.take(100, 1 << 20) {
            Take::Lines(lines) => all.extend(lines),
            Take::Nothing => break,
            Take::Spilled { .. } => panic!("no journal, no spill"),
        }
    }
    let n = all.len();
    assert_eq!(seqs(&all), (1..=n as u64).collect::<Vec<_>>());
    assert!(
        all[n - 2]
            .text
            .contains("were lost: the log journal cannot be written (cannot create it)"),
        "{}",
        all[n - 2].text
    );
    assert_eq!(all[n - 1].text, "after");
}

#[test]
fn an_unreadable_spool_is_reported_lost_not_retried_for_ever() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalWriter::create(dir.path()).unwrap();
    let mut b = Buffer::new(bounds(line_size("l 1"), MIB), Ok(journal));
    for i in 1..=5 {
        b.push(LogStream::Stdout, format!("l {i}"));
    }
    assert!(matches!(b.take(10, 1 << 20), Take::Lines(l) if l.len() == 1));
    assert!(matches!(
        b.take(10, 1 << 20),
        Take::Spilled {
            from: 2,
            count: 4,
            ..
        }
    ));
    let lost = b.spool_lost(&io::Error::other("EIO"));
    assert_eq!(lost, 4);
    let Take::Lines(rest) = b.take(10, 1 << 20) else {
        panic!("the report expected")
    };
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, 6);
    assert!(
        rest[0]
            .text
            .contains("4 log lines (seq up to 5) were lost: the log spool cannot be read (EIO)"),
        "{}",
        rest[0].text
    );
    assert!(matches!(b.take(10, 1 << 20), Take::Nothing));
}
