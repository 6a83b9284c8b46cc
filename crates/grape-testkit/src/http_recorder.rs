//! [`HttpRecorder`]: a small HTTP server on a free 127.0.0.1 port that records the head of
//! every request it gets (method, target, headers) and answers 404 or a redirect. Attack tests
//! use it as "the attacker's host" to see which headers (tokens) reached it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::TestkitError;

/// How the recorder answers every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `404 Not Found`.
    NotFound,
    /// `301 Moved Permanently` to this base URL followed by the request's target (so
    /// `GET /r.git/info/refs` goes to `BASE/r.git/info/refs`).
    RedirectTo(String),
}

/// The head of one recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running recorder; stops on drop.
#[derive(Debug)]
pub struct HttpRecorder {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpRecorder {
    /// Starts a recorder answering every request with `answer`.
    pub async fn start(answer: Answer) -> Result<Self, TestkitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| TestkitError::io("cannot bind 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| TestkitError::io("cannot read the bound address", e))?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut stream = stream;
                    let Some(request) = read_head(&mut stream).await else {
                        return;
                    };
                    // Recorded before the answer: whoever got the answer sees the record.
                    seen.lock().expect("recorder lock").push(request.clone());
                    respond(stream, &answer, &request.target).await;
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("recorder lock").clone()
    }

    /// The `Authorization` headers of the requests recorded so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_owned))
            .collect()
    }
}

impl Drop for HttpRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head; `None` when no complete head arrived.
async fn read_head(stream: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_owned();
    let target = start.next()?.to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(RecordedRequest {
        method,
        target,
        headers,
    })
}

/// Answers and closes the connection.
async fn respond(mut stream: TcpStream, answer: &Answer, target: &str) {
    let status = match answer {
        Answer::NotFound => "HTTP/1.1 404 Not Found\r\n".to_owned(),
        Answer::RedirectTo(base) => {
            format!("HTTP/1.1 301 Moved Permanently\r\nLocation: {base}{target}\r\n")
        }
    };
    let response = format!("{status}Content-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
