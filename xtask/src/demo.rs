//! `cargo xtask demo`: the main job of Vintner end to end on the embedded default — a vine.
//!
//! Starts moto (the AWS API and S3 for Terraform state), the reference Trellis on SQLite, and a
//! Tendril that registers itself; then, with the grape CLI: an AWS cloud identity (assumed on
//! moto) and its connection test, `grape vine init` of a vine on it, `grape vine plan` (live
//! logs, the resource changes) and `grape vine apply` of that plan (live logs, the outputs);
//! then stops everything. With the hashicorp/aws provider mirror (`cargo xtask peers` finds it)
//! the vine is Vintner's real AWS template set — VPC, subnets, NAT, EKS, node group, OIDC, IRSA
//! roles — planned and applied on moto; without it the provider-free stand-in set
//! (`terraform_data`, same variables and outputs), and the demo says which. No cloud account and
//! no external server: only what `cargo xtask peers` installs.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::peers;
use crate::util::{self, Workspace};

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Use the stand-in templates even when the provider mirror is there (faster).
    #[arg(long)]
    pub standin: bool,
    /// Keep the demo's directory (database, worker state, logs) instead of removing it.
    #[arg(long)]
    pub keep: bool,
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Service {
    name: &'static str,
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // SIGTERM lets trellis and tendril shut down cleanly (tendril drains, goes OFFLINE).
        let _ = util::command("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                eprintln!("demo: stopped {}", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("demo: killed {} (it did not stop within 15 s)", self.name);
    }
}

/// Runs the demo.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    peers::run(ws, &peers::Args::default())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("demo: building trellis, tendril and grape");
    // The whole workspace with its tests: the same feature set as `cargo xtask ci`'s test build,
    // so one build serves both (a `-p` selection would rebuild the AWS SDK with other features).
    util::run(util::command(&cargo).current_dir(&ws.root).args([
        "build",
        "--quiet",
        "--workspace",
        "--all-targets",
    ]))?;
    let bin = target_dir(ws).join("debug");
    let dir = tempfile::Builder::new().prefix("vintner-demo-").tempdir()?;
    let env = ws.test_env()?;

    // 1. S3 for Terraform state.
    let s3_port = free_port()?;
    let mut moto = util::command(ws.peers_bin().join("moto_server"));
    moto.args(["-H", "127.0.0.1", "-p", &s3_port.to_string()])
        // The EKS roles attach AWS managed policies; ACM certificates are issued at once.
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .env("MOTO_ACM_VALIDATION_WAIT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(
            dir.path().join("moto.log"),
        )?));
    let _moto = Service {
        name: "moto (S3)",
        child: moto.spawn().context("starting moto_server")?,
    };
    let s3 = format!("http://127.0.0.1:{s3_port}");
    wait_for_port(s3_port, Duration::from_secs(30)).context("moto did not start")?;
    let python = ws.peers.join("venv/bin/python");
    util::output(util::command(python).args([
        "-c",
        "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='demo-key-id', aws_secret_access_key='demo-secret-key').create_bucket(Bucket='terraform-state')",
        &s3,
    ]))
    .context("creating the state bucket")?;
    eprintln!("demo: moto (AWS API, S3 state bucket) on {s3}");
    let mirror = if args.standin {
        None
    } else {
        peers::tf_mirror::locate(ws)?.map(|m| m.dir)
    };

    // 2. Trellis on SQLite.
    let admin_token = random_token();
    let api_token = random_token();
    let mut trellis = util::command(bin.join("trellis"));
    trellis
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("trellis.db").display()
        ))
        .env("TRELLIS_ADMIN_TOKEN", &admin_token)
        .env("TRELLIS_API_TOKEN", &api_token)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(
            dir.path().join("trellis.log"),
        )?));
    let mut trellis = Service {
        name: "trellis",
        child: trellis.spawn().context("starting trellis")?,
    };
    let url = listen_url(&mut trellis.child)?;
    eprintln!(
        "demo: trellis on {url} (SQLite in {})",
        dir.path().display()
    );

    // 3. A Tendril that registers itself; it assumes identities on moto.
    let mut tendril = util::command(bin.join("tendril"));
    tendril
        .args([
            "start",
            "--register",
            "demo-tendril",
            "--claim-wait",
            "5s",
            "--heartbeat-interval",
            "5s",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("tendril"))
        .arg("--terraform-bin")
        .arg(ws.peers_bin().join("terraform"))
        .envs(env.iter().cloned())
        .env("TRELLIS_URL", &url)
        .env("TRELLIS_ADMIN_TOKEN", &admin_token)
        .env("SUPABASE_S3_ENDPOINT", &s3)
        .env("SUPABASE_S3_REGION", "us-east-1")
        .env("SUPABASE_STORAGE_KEY_ID", "demo-key-id")
        .env("SUPABASE_STORAGE_SECRET_KEY", "demo-secret-key")
        .env("AWS_ACCESS_KEY_ID", "demo-worker-key-id")
        .env("AWS_SECRET_ACCESS_KEY", "demo-worker-secret-key")
        .env("AWS_REGION", "us-east-1")
        .env("TENDRIL_AWS_ENDPOINT_URL", &s3)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(
            dir.path().join("tendril.log"),
        )?));
    if let Some(mirror) = &mirror {
        let rc = dir.path().join("terraformrc");
        std::fs::write(&rc, mirror_rc(mirror))?;
        tendril.env("TF_CLI_CONFIG_FILE", rc);
        eprintln!(
            "demo: templates: Vintner's AWS set with hashicorp/aws from the mirror {} \
             (planned and applied on moto)",
            mirror.display()
        );
    } else {
        tendril.env("TENDRIL_VINE_TEMPLATES", "standin");
        eprintln!(
            "demo: templates: the stand-in set (terraform_data, same variables and outputs): {}",
            if args.standin {
                "--standin"
            } else {
                "no hashicorp/aws provider mirror on this machine"
            }
        );
    }
    let _tendril = Service {
        name: "tendril",
        child: tendril.spawn().context("starting tendril")?,
    };

    // 4. An identity, a vine on it, its plan and the apply of that plan, with the grape CLI.
    let grape = |args: &[&str]| {
        let mut cmd = util::command(bin.join("grape"));
        cmd.current_dir(dir.path())
            .args(args)
            .env("TRELLIS_URL", &url)
            .env("GRAPE_TOKEN", &api_token)
            .env("XDG_CONFIG_HOME", dir.path().join("config"));
        cmd
    };
    let step = |args: &[&str]| eprintln!("\ndemo: $ grape {}\n", args.join(" "));
    let add = [
        "identities",
        "add",
        "aws",
        "--name",
        "demo",
        "--role-arn",
        DEMO_ROLE,
        "--region",
        "us-east-1",
    ];
    step(&add);
    let added = util::output(&mut grape(&[&add[..], &["-o", "json"]].concat()))?;
    let identity = first_id(&added).context("reading the new identity's id")?;
    eprintln!("{identity}");
    let test = ["identities", "test", identity.as_str()];
    step(&test);
    util::run(&mut grape(&test))?;
    let init = [
        "vine",
        "init",
        "--no-input",
        "--project",
        "demo",
        "--environment",
        "dev",
        "--provider",
        "aws",
        "--region",
        "us-east-1",
        "--identity",
        &identity,
        "--instance-type",
        "t3.medium",
    ];
    step(&init);
    util::run(&mut grape(&init))?;
    eprintln!("{}", std::fs::read_to_string(dir.path().join("vine.yaml"))?);
    let plan = ["vine", "plan", "vine.yaml"];
    step(&plan);
    util::run(&mut grape(&plan))?;
    let listed = util::output(&mut grape(&[
        "jobs", "list", "--limit", "1", "--output", "json",
    ]))?;
    let plan_id = first_id(&listed).context("finding the PLAN job")?;
    let apply = ["vine", "apply", plan_id.as_str()];
    step(&apply);
    util::run(&mut grape(&apply))?;

    eprintln!("\ndemo: done; stopping the tendril, trellis and S3");
    if args.keep {
        let kept = dir.keep();
        eprintln!("demo: kept {}", kept.display());
    }
    Ok(())
}

fn target_dir(ws: &Workspace) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.root.join("target"), Into::into)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listens on port {port} after {timeout:?}")
}

/// Reads trellis' `… listening on http://ADDR` line from its stdout.
fn listen_url(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().context("trellis has no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(at) = line.find("http://") {
            let url = line[at..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            // Keep draining its stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    bail!("trellis exited before it printed its address")
}

/// The role the demo identity assumes (moto lets any role be assumed).
const DEMO_ROLE: &str = "arn:aws:iam::123456789012:role/vintner-demo";

/// A Terraform CLI configuration installing `registry.terraform.io/hashicorp/*` from `mirror`.
fn mirror_rc(mirror: &std::path::Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
        mirror.display()
    )
}

/// The first `"id"` of a JSON document.
fn first_id(json: &str) -> Option<String> {
    let at = json.find("\"id\"")?;
    let rest = &json[at + 4..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_owned())
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}
