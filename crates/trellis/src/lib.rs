//! Trellis, the reference control plane of Vintner: the HTTP API of `grape-api`, the job queue
//! (atomic claim, long-poll), the worker registry, the sweeper, on SQLite or PostgreSQL.
//!
//! - [`server::Server`]: bind, then [`server::Server::run`] until a shutdown future resolves.
//! - [`routes::router`]: the axum router; [`routes::ApiDoc`]: the OpenAPI document.
//! - [`store::Store`]: storage, with versioned migrations per backend under `migrations/`.
//!
//! Worker liveness: a worker is ONLINE (or the DRAINING it reported) while its last heartbeat is
//! newer than `worker_offline_after`, else OFFLINE; a worker that never sent a heartbeat is
//! OFFLINE and gets no job. A worker whose heartbeat never carried `info` is offered every job
//! type; once it sent `info.job_types`, only those.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod queue_ttl;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod sweeper;
pub mod teams;
pub mod vines;
pub mod waiters;

pub use config::ServerConfig;
pub use server::{ServeError, Server, shutdown_signal};
