//! [`StaticFiles`]: a tiny HTTP server on a free 127.0.0.1 port serving the files of one
//! directory (GET only, no listing) — a loopback Helm chart repository, say. It runs on its own
//! thread and stops when dropped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::TestkitError;

/// A running file server.
#[derive(Debug)]
pub struct StaticFiles {
    addr: SocketAddr,
    url: String,
    stop: Arc<AtomicBool>,
}

impl StaticFiles {
    /// Serves `dir` on a free loopback port.
    pub fn serve(dir: &Path) -> Result<Self, TestkitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| TestkitError::io("binding the file server", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| TestkitError::io("reading the file server's address", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let root = dir.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let root = root.clone();
                    std::thread::spawn(move || answer(&root, stream));
                }
            }
        });
        Ok(Self {
            addr,
            url: format!("http://{addr}"),
            stop,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for StaticFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn answer(root: &Path, stream: std::net::TcpStream) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target
        .split('?')
        .next()
        .unwrap_or("/")
        .trim_start_matches('/');
    let file = safe_join(root, path);
    let mut stream = stream;
    match (method, file.and_then(|f| std::fs::read(f).ok())) {
        ("GET", Some(body)) => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
        _ => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
}

fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
        .filter(|p| p.is_file())
}
