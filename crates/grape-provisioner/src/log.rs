//! Where a job's output goes.

use std::sync::Arc;

use grape_api::LogStream;
use grape_process::{LineSink, OutputStream};

/// A destination for the lines of one job. Implemented by the worker's log pipeline (which
/// numbers, batches and delivers them to Trellis) and by the CLI (which prints them).
///
/// `line` must not block for long: implementations buffer.
pub trait LogSink: Send + Sync {
    /// Takes one line of output. `text` has no trailing newline.
    fn line(&self, stream: LogStream, text: &str);
}

impl<F: Fn(LogStream, &str) + Send + Sync> LogSink for F {
    fn line(&self, stream: LogStream, text: &str) {
        self(stream, text);
    }
}

/// The log of one job: a cheap, clonable handle on a [`LogSink`].
///
/// It is also a [`LineSink`], so it can be handed to `grape_process::Command::run` directly.
#[derive(Clone)]
pub struct JobLog {
    sink: Arc<dyn LogSink>,
}

impl std::fmt::Debug for JobLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLog").finish_non_exhaustive()
    }
}

impl JobLog {
    /// A log writing to `sink`.
    pub fn new(sink: Arc<dyn LogSink>) -> Self {
        Self { sink }
    }

    /// A line from the worker itself (what it is doing), as opposed to a tool's output.
    pub fn system(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.sink.line(LogStream::System, line);
        }
    }

    /// A line of a tool's standard output.
    pub fn stdout(&self, text: impl AsRef<str>) {
        self.sink.line(LogStream::Stdout, text.as_ref());
    }

    /// A line of a tool's standard error.
    pub fn stderr(&self, text: impl AsRef<str>) {
        self.sink.line(LogStream::Stderr, text.as_ref());
    }
}

impl LineSink for JobLog {
    fn line(&self, stream: OutputStream, text: &str) {
        let stream = match stream {
            OutputStream::Stdout => LogStream::Stdout,
            OutputStream::Stderr => LogStream::Stderr,
        };
        self.sink.line(stream, text);
    }
}
