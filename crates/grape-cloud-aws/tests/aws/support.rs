//! Shared set-up: a moto server, base credentials, identities, an admin SDK config for fixtures.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use grape_cloud_aws::{AwsIdentity, BaseCredentials};
use grape_testkit::Moto;

/// moto's account.
pub const ACCOUNT: &str = "123456789012";
/// The worker's static base keys in tests. moto accepts any keys unless auth is enabled.
pub const BASE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const BASE_SECRET: &str = "base/Secret+Key/For/Tests/0123456789abcd";

pub async fn moto() -> Moto {
    Moto::builder()
        .startup_timeout(Duration::from_secs(90))
        .start()
        .await
        .expect("start moto_server")
}

pub fn role_arn(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role}")
}

pub fn base(moto: &Moto) -> BaseCredentials {
    BaseCredentials::from_static(BASE_KEY_ID, BASE_SECRET, None)
        .with_endpoint_url(moto.endpoint_url())
}

/// The identity to assume in moto; the endpoint is the worker's ([`base`]), never the identity's.
pub fn identity(_moto: &Moto, role: &str, regions: &[&str]) -> AwsIdentity {
    AwsIdentity {
        external_id: Some("ext-vintner-1".into()),
        session_name: Some("job-42".into()),
        duration_seconds: Some(900),
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        ..AwsIdentity::new(role_arn(role))
    }
}

/// A config for creating fixtures, signed with the base keys (not the code under test).
pub async fn admin_config(moto: &Moto, region: &str) -> SdkConfig {
    let creds =
        aws_credential_types::Credentials::new(BASE_KEY_ID, BASE_SECRET, None, None, "tests");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(creds)
        .load()
        .await
}

/// From now on moto checks every request's keys and IAM policies.
pub async fn enable_moto_auth(moto: &Moto) {
    moto.enforce_auth()
        .await
        .expect("POST /moto-api/reset-auth");
}

/// IAM returns policy documents URL-encoded (used by grape-fleet-aws's tests, which include
/// this file).
#[allow(dead_code)]
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
