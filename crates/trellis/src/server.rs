//! Running the server: connect, migrate, listen, sweep, stop on a signal.

use crate::config::ServerConfig;
use crate::routes::{metrics_router, router};
use crate::state::AppState;
use crate::store::{Store, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A start-up or run failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Timings that contradict each other.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
    /// The `--metrics-listen` listener and its address.
    metrics: Option<(TcpListener, SocketAddr)>,
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let bind_error = |source| ServeError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

impl Server {
    /// Opens (and migrates) the database and binds the address (and the metrics address).
    pub async fn bind(config: ServerConfig) -> Result<Self, ServeError> {
        config.validate().map_err(ServeError::Config)?;
        let store = Store::connect(&config.database_url).await?;
        let (listener, addr) = bind(config.listen).await?;
        let metrics = match config.metrics_listen {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        Ok(Self {
            state: AppState::new(store, config),
            listener,
            addr,
            metrics,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the `--metrics-listen` listener, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, a)| *a)
    }

    /// The shared state (tests, benchmarks).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and closes the
    /// database — for at most [`ServerConfig::shutdown_timeout`]: then the connections still
    /// open are dropped and this returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state.clone();
        let timeout = state.config.shutdown_timeout;
        let sweeper = tokio::spawn(crate::sweeper::run(state.clone()));
        let token = state.shutdown.clone();
        let app = router(state.clone());
        let metrics = self.metrics.map(|(listener, _)| {
            let app = metrics_router(state.clone());
            let stop = state.shutdown.clone();
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            })
        });
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            // End long-polls and log streams so the drain is quick.
            token.cancel();
        });
        let deadline = async {
            state.shutdown.cancelled().await;
            tokio::time::sleep(timeout).await;
        };
        let drain = async {
            let result = serve.await.map_err(ServeError::Serve);
            state.shutdown.cancel();
            if let Some(task) = metrics
                && let Ok(Err(e)) = task.await
            {
                tracing::warn!(error = %e, "the metrics listener failed");
            }
            let _ = sweeper.await;
            state.store.close().await;
            result
        };
        tokio::select! {
            result = drain => result,
            () = deadline => {
                tracing::warn!(timeout = %humantime::format_duration(timeout),
                    "shutdown deadline reached: dropping the connections still open");
                Ok(())
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
