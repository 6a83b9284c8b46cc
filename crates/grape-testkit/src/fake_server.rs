//! [`FakeServer`]: an axum router served on a free 127.0.0.1 port, on its own thread and
//! runtime (so it works under `#[test]` and `#[tokio::test]` alike), stopped when dropped — the
//! base of the cloud fakes.

use std::net::SocketAddr;

use axum::Router;

/// A running router.
#[derive(Debug)]
pub struct FakeServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeServer {
    /// Serves `app`; `what` names it in panics.
    pub fn start(app: Router, what: &'static str) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready) = std::sync::mpsc::channel::<SocketAddr>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{what} runtime: {e}"));
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind {what}: {e}"));
                ready_tx
                    .send(listener.local_addr().expect("address"))
                    .expect("report address");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let addr = ready
            .recv()
            .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
        Self {
            url: format!("http://{addr}"),
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
