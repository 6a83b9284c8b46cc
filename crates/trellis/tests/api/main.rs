//! Integration tests of the real trellis server (the binary), over HTTP through grape-api, on
//! SQLite and PostgreSQL. Needs the binary built (`cargo nextest run --workspace` does it, or
//! `cargo build -p trellis`) and PostgreSQL at 127.0.0.1:5432 (or `DATABASE_URL`).

mod admin_jobs;
mod claims;
mod common;
mod concurrency;
mod errors;
mod fuzz;
mod history;
mod idempotency;
mod lifecycle;
mod limits;
mod liveness;
mod operator_access;
mod queue_ttl;
mod secrets;
mod teams;
