//! Wrapper overhead and UI-event parse throughput. Prints figures; asserts nothing.
//!
//! `cargo bench -p grape-terraform --bench overhead` (release) or, cheaper, in the dev profile:
//! `cargo test -p grape-terraform --bench overhead` (figures then overstate the wrapper's cost).
//! Needs the test peers (`cargo xtask peers`).
//!
//! 1. Overhead: `terraform plan -json -out` and `terraform apply -json PLAN` of a configuration
//!    with 50 `terraform_data` resources (local state), run directly (the baseline: a plain
//!    child process whose output is read and dropped) and through [`WorkingDir`] (parsing every
//!    line into events, rendering them to a sink, collecting them). Target ratio ≤ 1.05.
//! 2. Parse throughput: 100k synthetic `-json` UI lines through parse + render.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use grape_process::OutputStream;
use grape_terraform::{InitOptions, PlanOptions, RunIo, Terraform, UiEvent, render};
use tokio_util::sync::CancellationToken;

const ITERATIONS: usize = 5;
const RESOURCES: usize = 50;

fn config(dir: &Path) {
    let mut tf = String::new();
    for i in 0..RESOURCES {
        let _ = writeln!(
            tf,
            "resource \"terraform_data\" \"r{i}\" {{\n  input = \"value-{i}\"\n}}"
        );
    }
    tf.push_str("output \"first\" {\n  value = terraform_data.r0.output\n}\n");
    std::fs::write(dir.join("main.tf"), tf).expect("write config");
}

/// The baseline: terraform run as a plain child process, output read and dropped.
fn direct(bin: &Path, env: &[(String, String)], dir: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out =
        grape_testkit::peers::terraform_by_hand(bin, env, grape_terraform::FIXED_ENV, dir, args);
    let elapsed = start.elapsed();
    assert!(
        out.status.success() || out.status.code() == Some(2),
        "terraform {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn overhead() {
    let bin = grape_testkit::terraform_bin();
    let env = grape_testkit::terraform_env();
    let tf = Terraform::builder()
        .binary(&bin)
        .envs(env.clone())
        .build(&CancellationToken::new())
        .await
        .expect("terraform");
    let cancel = CancellationToken::new();
    let lines = AtomicUsize::new(0);
    let sink = |_: OutputStream, _: &str| {
        lines.fetch_add(1, Ordering::Relaxed);
    };
    let events = AtomicUsize::new(0);
    let on_event = |_: &UiEvent| {
        events.fetch_add(1, Ordering::Relaxed);
    };
    let io = RunIo::new(&sink, &cancel).with_events(&on_event);

    let (mut dp, mut da, mut wp, mut wa) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..ITERATIONS {
        // Alternate which goes first, so caches favour neither.
        for wrapper_first in [i % 2 == 0, i % 2 != 0] {
            let dir = tempfile::tempdir().expect("tempdir");
            config(dir.path());
            if wrapper_first {
                let wd = tf.working_dir(dir.path());
                wd.init(&InitOptions::default(), io).await.expect("init");
                let t = Instant::now();
                let plan = wd.plan(&PlanOptions::default(), io).await.expect("plan");
                wp.push(t.elapsed());
                let t = Instant::now();
                wd.apply_plan(&plan.plan_file, io).await.expect("apply");
                wa.push(t.elapsed());
            } else {
                direct(
                    &bin,
                    &env,
                    dir.path(),
                    &["init", "-no-color", "-input=false"],
                );
                dp.push(direct(
                    &bin,
                    &env,
                    dir.path(),
                    &[
                        "plan",
                        "-no-color",
                        "-json",
                        "-input=false",
                        "-out=tfplan",
                        "-detailed-exitcode",
                    ],
                ));
                da.push(direct(
                    &bin,
                    &env,
                    dir.path(),
                    &["apply", "-no-color", "-json", "-input=false", "tfplan"],
                ));
            }
        }
    }
    let (dp, da, wp, wa) = (median(dp), median(da), median(wp), median(wa));
    println!("overhead: {RESOURCES} terraform_data resources, {ITERATIONS} iterations, medians");
    println!(
        "  plan   direct {:>8.1} ms   wrapper {:>8.1} ms   ratio {:.3}",
        ms(dp),
        ms(wp),
        ratio(wp, dp)
    );
    println!(
        "  apply  direct {:>8.1} ms   wrapper {:>8.1} ms   ratio {:.3}",
        ms(da),
        ms(wa),
        ratio(wa, da)
    );
    println!(
        "  plan+apply ratio {:.3} (target <= 1.05); {} lines rendered, {} events",
        ratio(wp + wa, dp + da),
        lines.load(Ordering::Relaxed),
        events.load(Ordering::Relaxed)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn parse_throughput() {
    let res = |i: usize| {
        format!(
            r#"{{"addr":"terraform_data.r{i}","module":"","resource":"terraform_data.r{i}","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"r{i}","resource_key":null}}"#
        )
    };
    let templates = [
        |r: &str| {
            format!(
                r#"{{"@level":"info","@message":"x: Plan to create","@module":"terraform.ui","@timestamp":"2026-11-26T09:52:16.673520Z","change":{{"resource":{r},"action":"create"}},"type":"planned_change"}}"#
            )
        },
        |r: &str| {
            format!(
                r#"{{"@level":"info","@message":"x: Creating...","@module":"terraform.ui","@timestamp":"2026-11-26T09:52:16.780554Z","hook":{{"resource":{r},"action":"create"}},"type":"apply_start"}}"#
            )
        },
        |r: &str| {
            format!(
                r#"{{"@level":"info","@message":"x: Creation complete after 0s [id=2c6338ee-ffe5-b9fb-547d-2df788efb651]","@module":"terraform.ui","@timestamp":"2026-11-26T09:52:16.781503Z","hook":{{"resource":{r},"action":"create","id_key":"id","id_value":"2c6338ee-ffe5-b9fb-547d-2df788efb651","elapsed_seconds":0}},"type":"apply_complete"}}"#
            )
        },
        |r: &str| {
            format!(
                r#"{{"@level":"info","@message":"x: (local-exec): hello","@module":"terraform.ui","@timestamp":"2026-11-26T09:52:16.782808Z","hook":{{"resource":{r},"provisioner":"local-exec","output":"hello-from-provisioner"}},"type":"provision_progress"}}"#
            )
        },
        |_: &str| {
            r#"{"@level":"info","@message":"Plan: 2 to add, 0 to change, 0 to destroy.","@module":"terraform.ui","@timestamp":"2026-11-26T09:52:16.673583Z","changes":{"add":2,"change":0,"import":0,"remove":0,"action_invocation":0,"operation":"plan"},"type":"change_summary"}"#.to_owned()
        },
    ];
    let lines: Vec<String> = (0..100_000)
        .map(|i| templates[i % templates.len()](&res(i)))
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let start = Instant::now();
    let mut rendered = 0usize;
    for line in &lines {
        let (event, message) = UiEvent::parse(line).expect("parses");
        rendered += render(&event, &message).len();
    }
    let elapsed = start.elapsed();
    println!(
        "parse+render: {} lines ({:.1} MB) in {:.1} ms = {:.0} lines/s ({} rendered lines)",
        lines.len(),
        bytes as f64 / 1e6,
        ms(elapsed),
        lines.len() as f64 / elapsed.as_secs_f64(),
        rendered
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    parse_throughput();
    runtime.block_on(overhead());
}
