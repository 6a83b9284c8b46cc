//! A small parser of server-sent events (the log stream), over a byte stream.

use crate::error::{ApiError, Result};
use crate::types::LogLine;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;

/// A stream of log lines that ends when the job ends.
pub type LogLineStream = Pin<Box<dyn Stream<Item = Result<LogLine>> + Send>>;

/// Name of the SSE event carrying one [`LogLine`] as JSON.
pub const EVENT_LOG: &str = "log";
/// Name of the SSE event sent when the job has ended (data: `{"status": …}`); the stream closes.
pub const EVENT_END: &str = "end";

/// One parsed event.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    pub event: String,
    pub data: String,
}

/// Splits complete events off the front of `buf`; leaves a partial event in it. Linear in the
/// size of `buf` (a chunk may hold thousands of events).
pub(crate) fn take_events(buf: &mut String) -> Vec<Event> {
    let mut out = Vec::new();
    let mut start = 0;
    // Where the next blank line of each kind is, so the buffer is searched for each once
    // rather than once per event.
    let (mut lf, mut crlf) = (Search::new("\n\n"), Search::new("\r\n\r\n"));
    loop {
        let normalized_end = lf.next(buf, start).map(|i| (i, 2));
        let crlf_end = crlf.next(buf, start).map(|i| (i, 4));
        let end = match (normalized_end, crlf_end) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((i, sep)) = end else { break };
        let block = &buf[start..i + sep];
        start = i + sep;
        let mut ev = Event::default();
        let mut data_lines = Vec::new();
        for line in block.lines() {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut ev.event),
                "data" => data_lines.push(value),
                _ => {}
            }
        }
        if data_lines.is_empty() && ev.event.is_empty() {
            continue;
        }
        ev.data = data_lines.join("\n");
        if ev.event.is_empty() {
            "message".clone_into(&mut ev.event);
        }
        out.push(ev);
    }
    buf.drain(..start);
    out
}

/// The next occurrence of a pattern at or after a position, remembered between calls.
struct Search {
    pattern: &'static str,
    found: Found,
}

/// What a [`Search`] knows.
#[derive(Clone, Copy)]
enum Found {
    /// Nothing yet.
    Unknown,
    /// The next occurrence is at this position.
    At(usize),
    /// None at or after the last position searched.
    Nowhere,
}

impl Search {
    fn new(pattern: &'static str) -> Self {
        Self {
            pattern,
            found: Found::Unknown,
        }
    }

    fn next(&mut self, buf: &str, start: usize) -> Option<usize> {
        match self.found {
            Found::At(at) if at >= start => Some(at),
            Found::Nowhere => None,
            _ => {
                let at = buf[start..].find(self.pattern).map(|i| start + i);
                self.found = at.map_or(Found::Nowhere, Found::At);
                at
            }
        }
    }
}

struct State<S> {
    body: S,
    buf: String,
    raw: Vec<u8>,
    pending: VecDeque<Result<LogLine>>,
    done: bool,
}

/// Turns the body of `GET /api/jobs/{id}/logs/stream` into log lines.
pub(crate) fn log_stream<S>(call: &'static str, body: S) -> LogLineStream
where
    S: Stream<Item = reqwest::Result<Bytes>> + Send + Unpin + 'static,
{
    let state = State {
        body,
        buf: String::new(),
        raw: Vec::new(),
        pending: VecDeque::new(),
        done: false,
    };
    Box::pin(futures::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            match st.body.next().await {
                None => {
                    st.done = true;
                    if !st.buf.trim().is_empty() || !st.raw.is_empty() {
                        st.pending.push_back(Err(ApiError::Stream {
                            call,
                            reason: "the stream ended in the middle of an event".to_owned(),
                        }));
                    }
                }
                Some(Err(source)) => {
                    st.done = true;
                    st.pending.push_back(Err(ApiError::Transport {
                        call,
                        source: source.without_url(),
                    }));
                }
                Some(Ok(chunk)) => {
                    // Convert only up to the last line break, so a UTF-8 character split between
                    // chunks is never mangled.
                    st.raw.extend_from_slice(&chunk);
                    if let Some(nl) = st.raw.iter().rposition(|b| *b == b'\n') {
                        let complete: Vec<u8> = st.raw.drain(..=nl).collect();
                        st.buf.push_str(&String::from_utf8_lossy(&complete));
                    }
                    for ev in take_events(&mut st.buf) {
                        match ev.event.as_str() {
                            EVENT_LOG => st.pending.push_back(
                                serde_json::from_str(&ev.data)
                                    .map_err(|source| ApiError::Decode { call, source }),
                            ),
                            EVENT_END => {
                                st.done = true;
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_across_chunks() {
        let mut buf = String::from(": keep-alive\n\nevent: log\ndata: {\"a\":1}\n\nevent: en");
        let evs = take_events(&mut buf);
        assert_eq!(
            evs,
            vec![Event {
                event: "log".into(),
                data: "{\"a\":1}".into()
            }]
        );
        buf.push_str("d\ndata: {}\n\n");
        let evs = take_events(&mut buf);
        assert_eq!(
            evs,
            vec![Event {
                event: "end".into(),
                data: "{}".into()
            }]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn many_events_in_one_chunk_with_both_line_endings() {
        use std::fmt::Write as _;
        let mut buf = String::new();
        for i in 0..3000 {
            write!(buf, "event: log\nid: {i}\ndata: {{\"seq\":{i}}}\n\n").unwrap();
        }
        buf.push_str(":\r\n\r\nevent: end\r\ndata: {}\r\n\r\nevent: log\ndata: part");
        let evs = take_events(&mut buf);
        assert_eq!(evs.len(), 3001);
        assert!(
            evs[..3000]
                .iter()
                .enumerate()
                .all(|(i, e)| e.event == "log" && e.data == format!("{{\"seq\":{i}}}"))
        );
        assert_eq!(
            evs[3000],
            Event {
                event: "end".into(),
                data: "{}".into()
            }
        );
        assert_eq!(buf, "event: log\ndata: part");
    }
}
