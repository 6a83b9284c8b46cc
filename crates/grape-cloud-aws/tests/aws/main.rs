//! grape-cloud-aws against a real moto server (one fresh server per test: moto's state is
//! global per server, and the discovery tests assert exact contents).

mod assume;
mod discover;
mod eks_token;
mod failures;
mod refresh;
mod support;
