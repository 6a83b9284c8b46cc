//! Shared set-up: a moto server with the state bucket, a Terraform handle, sinks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use grape_process::{LineSink, OutputStream};
use grape_terraform::{S3Backend, Terraform};
use grape_testkit::Moto;
use tokio_util::sync::CancellationToken;

/// The backend secret key: must never show up in lines, arguments or files.
pub const SECRET_KEY: &str = "sEcReT-s3-key-0123456789";
pub const ACCESS_KEY: &str = "AKIDTESTACCESSKEY01";
pub const BUCKET: &str = "terraform-state";

pub struct Peers {
    pub moto: Moto,
    pub tf: Terraform,
    pub s3: aws_sdk_s3::Client,
}

pub async fn peers() -> Peers {
    let moto = Moto::start().await.expect("moto starts");
    let creds = Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket");
    let tf = Terraform::builder()
        .binary(grape_testkit::terraform_bin())
        .envs(grape_testkit::terraform_env())
        .grace(Duration::from_secs(15))
        .build(&CancellationToken::new())
        .await
        .expect("terraform found and recent enough");
    Peers { moto, tf, s3 }
}

impl Peers {
    pub fn backend(&self, key: &str) -> S3Backend {
        let env: HashMap<String, String> = [
            ("SUPABASE_S3_ENDPOINT", self.moto.endpoint_url()),
            ("SUPABASE_S3_REGION", "us-east-1"),
            ("SUPABASE_STORAGE_KEY_ID", ACCESS_KEY),
            ("SUPABASE_STORAGE_SECRET_KEY", SECRET_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        S3Backend::from_env_map(&env, key).expect("backend")
    }

    pub async fn keys(&self) -> Vec<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(
            out.body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec(),
        )
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("put");
    }
}

/// Collects every line it is given.
#[derive(Default)]
pub struct Lines(Mutex<Vec<String>>);

impl LineSink for Lines {
    fn line(&self, _stream: OutputStream, text: &str) {
        self.0.lock().unwrap().push(text.to_owned());
    }
}

impl Lines {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.all().join("\n")
    }
}

/// A configuration directory with `main.tf`.
pub fn config(main_tf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.tf"), main_tf).expect("write main.tf");
    dir
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let ft = entry.file_type().expect("file type");
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

pub const SLOW_TF: &str = r#"
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30"
  }
}
"#;
