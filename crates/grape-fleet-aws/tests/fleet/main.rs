//! grape-fleet-aws against a real moto server (one fresh server per test).

mod deploy;
mod roles;
// The set-up of grape-cloud-aws's own moto tests: the fleet builds on that crate's credentials.
#[allow(dead_code)]
#[path = "../../../grape-cloud-aws/tests/aws/support.rs"]
mod support;
