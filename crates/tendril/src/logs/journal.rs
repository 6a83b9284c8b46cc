//! The on-disk log of one job, `log.jsonl`: every accepted line, appended in seq order (one
//! [`LogLine`] as JSON per line), plus `acked`, the highest seq Trellis acknowledged.
//!
//! The same file is the spool of the memory buffer (lines beyond `memory_bytes` are read back
//! from it) and the journal of the outbox (its tail after `acked` is what a restarted worker
//! delivers). Durability: lines reach the OS (survive `kill -9`) at every batch boundary and when
//! the final status is journaled; they are fsync'ed (survive a host crash) before each batch is
//! sent. A torn last line (the worker died in the middle of a write) is ignored when read back.

use grape_api::LogLine;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the log journal in a job's outbox directory.
pub const LOG_FILE: &str = "log.jsonl";
/// Name of the file holding the highest acknowledged seq.
pub const ACKED_FILE: &str = "acked";

/// Bytes the journal buffers before it hands them to the OS.
pub(crate) const JOURNAL_BUFFER_BYTES: usize = 64 * 1024;

/// The file IO under a [`JournalWriter`] — a seam, so tests can inject a failing disk.
pub(crate) trait JournalIo: Send + std::fmt::Debug {
    /// Appends all of `bytes`, or fails (a part may have been written: the writer is then given
    /// up, and what follows the last complete line is ignored by every reader).
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// A handle to fsync the file with, outside the lock guarding the writer (None: nothing to
    /// sync).
    fn sync_handle(&self) -> io::Result<Option<File>>;
}

/// The real journal file.
#[derive(Debug)]
struct FileIo(File);

impl JournalIo for FileIo {
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync_handle(&self) -> io::Result<Option<File>> {
        self.0.try_clone().map(Some)
    }
}

/// Appends lines to `log.jsonl`. Appending only encodes into a buffer; [`JournalWriter::flush`]
/// hands it to the OS, so the caller knows exactly which lines reached the file.
#[derive(Debug)]
pub(crate) struct JournalWriter {
    io: Box<dyn JournalIo>,
    buf: Vec<u8>,
    /// Logical end of the file (bytes appended, buffered ones included).
    end: u64,
    path: PathBuf,
}

impl JournalWriter {
    /// Creates (truncates) `dir/log.jsonl`, creating `dir` if needed.
    pub(crate) fn create(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        Ok(Self::with_io(path, Box::new(FileIo(file))))
    }

    /// A writer over `io`, a journal at `path` (tests inject failing IO here).
    pub(crate) fn with_io(path: PathBuf, io: Box<dyn JournalIo>) -> Self {
        Self {
            io,
            buf: Vec::with_capacity(JOURNAL_BUFFER_BYTES),
            end: 0,
            path,
        }
    }

    /// Path of the journal.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line to the buffer; returns the offset where it starts.
    pub(crate) fn append(&mut self, line: &LogLine) -> io::Result<u64> {
        let start = self.buf.len();
        serde_json::to_writer(&mut self.buf, line).map_err(io::Error::other)?;
        self.buf.push(b'\n');
        let offset = self.end;
        self.end += (self.buf.len() - start) as u64;
        Ok(offset)
    }

    /// Bytes appended but not handed to the OS yet.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Hands the buffered bytes to the OS (they then survive the death of the process). After
    /// an error the writer must not be used any more.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self.io.append_all(&self.buf);
        self.buf.clear();
        res
    }

    /// A handle to fsync the file with, outside the lock guarding this writer.
    pub(crate) fn sync_handle(&self) -> io::Result<Option<File>> {
        self.io.sync_handle()
    }
}

/// Reads lines back from `log.jsonl` from a known offset (the spill reader of a live pipeline,
/// and the tail reader of recovery).
#[derive(Debug)]
pub(crate) struct JournalReader {
    input: BufReader<File>,
    buf: String,
    /// Offset of the next line to read.
    pos: u64,
}

impl JournalReader {
    /// Opens `path` positioned at `offset`.
    pub(crate) fn open(path: &Path, offset: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            input: BufReader::with_capacity(64 * 1024, file),
            buf: String::new(),
            pos: offset,
        })
    }

    /// Offset of the next line.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to `offset` (no-op when already there).
    pub(crate) fn seek(&mut self, offset: u64) -> io::Result<()> {
        if offset != self.pos {
            self.input.seek(SeekFrom::Start(offset))?;
            self.pos = offset;
        }
        Ok(())
    }

    /// The next complete line, `None` at the end of the file or at a torn (incomplete or
    /// unparsable) last line; the position stays before a torn line.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<LogLine>> {
        self.buf.clear();
        let n = self.input.read_line(&mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        if !self.buf.ends_with('\n') {
            // Torn: rewind so that a later call sees it whole (live reader) or stops (recovery).
            self.input.seek(SeekFrom::Start(self.pos))?;
            return Ok(None);
        }
        match serde_json::from_str::<LogLine>(self.buf.trim_end_matches('\n')) {
            Ok(line) => {
                self.pos += n as u64;
                Ok(Some(line))
            }
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

/// Reads the highest acknowledged seq of a job directory (0 when unknown).
pub(crate) fn read_acked(dir: &Path) -> u64 {
    fs::read_to_string(dir.join(ACKED_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Records the highest acknowledged seq (write tmp + rename; not fsync'ed: losing it only
/// makes a restarted worker resend lines the server ignores).
pub(crate) fn write_acked(dir: &Path, seq: u64) -> io::Result<()> {
    let tmp = dir.join(format!("{ACKED_FILE}.tmp"));
    fs::write(&tmp, seq.to_string())?;
    fs::rename(&tmp, dir.join(ACKED_FILE))
}

/// Writes `bytes` to `path` atomically and durably: tmp file, fsync, rename, fsync of the dir.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// fsyncs a directory (makes a rename or a new file in it durable).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use grape_api::LogStream;

    fn line(seq: u64, text: &str) -> LogLine {
        LogLine {
            seq,
            ts: Utc::now(),
            stream: LogStream::Stdout,
            text: text.to_owned(),
        }
    }

    #[test]
    fn append_then_read_back_from_an_offset_and_stop_at_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path()).unwrap();
        w.append(&line(1, "one")).unwrap();
        let off2 = w.append(&line(2, "two \"quoted\"\nnewline")).unwrap();
        w.append(&line(3, "three")).unwrap();
        w.flush().unwrap();
        // A torn last line, as left by a worker killed in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(w.path()).unwrap();
        f.write_all(b"{\"seq\":4,\"ts\":").unwrap();

        let mut r = JournalReader::open(w.path(), off2).unwrap();
        assert_eq!(
            r.next_line().unwrap().unwrap().text,
            "two \"quoted\"\nnewline"
        );
        assert_eq!(r.next_line().unwrap().unwrap().seq, 3);
        let before = r.position();
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.position(), before);
    }

    #[test]
    fn acked_and_atomic_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_acked(dir.path()), 0);
        write_acked(dir.path(), 42).unwrap();
        assert_eq!(read_acked(dir.path()), 42);
        let p = dir.path().join("status.json");
        write_atomic(&p, b"{}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
    }
}
