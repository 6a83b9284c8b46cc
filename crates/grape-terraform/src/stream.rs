//! Streaming of a Terraform run: rendered log lines to a [`LineSink`], typed events to a
//! [`UiEventSink`], and the events and error output collected for the outcome.

use std::fmt;
use std::sync::Mutex;

use grape_process::{LineSink, OutputStream};
use tokio_util::sync::CancellationToken;

use crate::render::render;
use crate::ui::UiEvent;

/// Receives each typed UI event of a `-json` run as it happens (e.g. to drive a progress
/// display). Implemented for every `Fn(&UiEvent) + Send + Sync`.
pub trait UiEventSink: Send + Sync {
    /// Called once per parsed UI message, in order.
    fn event(&self, event: &UiEvent);
}

impl<F: Fn(&UiEvent) + Send + Sync> UiEventSink for F {
    fn event(&self, event: &UiEvent) {
        self(event);
    }
}

/// Where a run's output goes and how it is cancelled.
///
/// Rendered human lines (and any non-JSON output) go to `sink`; typed events go to the
/// optional event sink; cancelling `cancel` interrupts Terraform (SIGINT, then a hard kill after
/// the grace period of the [`Terraform`](crate::Terraform) handle).
#[derive(Clone, Copy)]
pub struct RunIo<'a> {
    pub(crate) sink: &'a dyn LineSink,
    pub(crate) events: Option<&'a dyn UiEventSink>,
    pub(crate) cancel: &'a CancellationToken,
}

impl fmt::Debug for RunIo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunIo")
            .field("events", &self.events.is_some())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl<'a> RunIo<'a> {
    /// Lines to `sink`, cancellation by `cancel`, no event callback.
    pub fn new(sink: &'a dyn LineSink, cancel: &'a CancellationToken) -> Self {
        Self {
            sink,
            events: None,
            cancel,
        }
    }

    /// Also deliver each typed UI event to `events`.
    #[must_use]
    pub fn with_events(mut self, events: &'a dyn UiEventSink) -> Self {
        self.events = Some(events);
        self
    }
}

/// Lines kept from stderr (and from non-JSON stdout) to explain a failure.
const KEPT_TEXT_LINES: usize = 2000;

#[derive(Default)]
pub(crate) struct Collected {
    pub events: Vec<UiEvent>,
    pub text: Vec<String>,
}

/// The [`LineSink`] given to grape-process: parses `-json` lines (when `json`), renders them,
/// forwards them and collects what the outcome needs.
pub(crate) struct UiSink<'a> {
    io: RunIo<'a>,
    json: bool,
    collected: Mutex<Collected>,
}

impl<'a> UiSink<'a> {
    pub(crate) fn new(io: RunIo<'a>, json: bool) -> Self {
        Self {
            io,
            json,
            collected: Mutex::new(Collected::default()),
        }
    }

    pub(crate) fn into_collected(self) -> Collected {
        self.collected
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn keep_text(&self, text: &str) {
        let mut c = self
            .collected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.text.len() < KEPT_TEXT_LINES {
            c.text.push(text.to_owned());
        }
    }
}

impl LineSink for UiSink<'_> {
    fn line(&self, stream: OutputStream, text: &str) {
        if self.json
            && matches!(stream, OutputStream::Stdout)
            && let Some((event, message)) = UiEvent::parse(text)
        {
            for line in render(&event, &message) {
                self.io.sink.line(OutputStream::Stdout, &line);
            }
            if let Some(events) = self.io.events {
                events.event(&event);
            }
            self.collected
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .events
                .push(event);
            return;
        }
        self.io.sink.line(stream, text);
        self.keep_text(text);
    }
}
