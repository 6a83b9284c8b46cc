//! Discovery time on a real moto server: 6 regions × 200 subnets, regions in parallel versus
//! one after the other. Prints figures; asserts nothing about time.
//!
//! Run (debug build, no release build of the AWS SDK needed):
//! `cargo test -p grape-cloud-aws --bench discovery` — or `cargo bench -p grape-cloud-aws
//! --bench discovery` for an optimised build. Sizes: `BENCH_REGIONS` (≤ 6), `BENCH_SUBNETS`
//! (≤ 250), `BENCH_ITERATIONS`.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use grape_cloud_aws::{BaseCredentials, DiscoveryOptions, assume, discover};
use grape_testkit::Moto;

const ALL_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "sa-east-1",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn populate(moto: &Moto, region: &str, subnets: usize) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIABENCH",
            "bench",
            None,
            None,
            "bench",
        ))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("create vpc");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    for i in 0..subnets {
        ec2.create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.0.{i}.0/24"))
            .send()
            .await
            .expect("create subnet");
    }
}

fn summary(samples: &[Duration]) -> (Duration, Duration) {
    let min = samples.iter().min().copied().unwrap_or_default();
    let total: Duration = samples.iter().sum();
    let mean = total / u32::try_from(samples.len().max(1)).unwrap_or(1);
    (min, mean)
}

#[tokio::main]
async fn main() {
    let regions = &ALL_REGIONS[..env_number("BENCH_REGIONS", 6).clamp(1, ALL_REGIONS.len())];
    let subnets = env_number("BENCH_SUBNETS", 200).clamp(1, 250);
    let iterations = env_number("BENCH_ITERATIONS", 3).max(1);

    let moto = Moto::builder()
        .startup_timeout(Duration::from_secs(90))
        .start()
        .await
        .expect("start moto");
    let started = Instant::now();
    futures::future::join_all(regions.iter().map(|r| populate(&moto, r, subnets))).await;
    println!(
        "discovery bench: {} regions × {subnets} subnets created in {:.1?} (moto {})",
        regions.len(),
        started.elapsed(),
        moto.endpoint_url()
    );

    let base = BaseCredentials::from_static("AKIABENCH", "bench", None)
        .with_endpoint_url(moto.endpoint_url());
    let identity = grape_cloud_aws::AwsIdentity {
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        ..grape_cloud_aws::AwsIdentity::new("arn:aws:iam::123456789012:role/bench")
    };
    let creds = assume(&identity, &base).await.expect("assume");

    let mut results = Vec::new();
    for (label, concurrency) in [("sequential", 1), ("parallel", regions.len())] {
        let options = DiscoveryOptions::new(regions.iter().copied()).concurrency(concurrency);
        let warm = discover(&creds, &options).await;
        assert!(
            warm.errors.is_empty(),
            "discovery failed: {:?}",
            warm.errors
        );
        let found = warm.subnets.iter().filter(|s| !s.public).count();
        assert_eq!(
            found,
            regions.len() * subnets,
            "every created subnet is found"
        );
        let mut samples = Vec::new();
        for _ in 0..iterations {
            let t = Instant::now();
            let doc = discover(&creds, &options).await;
            samples.push(t.elapsed());
            assert!(doc.errors.is_empty());
        }
        let (min, mean) = summary(&samples);
        println!(
            "{label:>10} (concurrency {concurrency}): mean {mean:.3?}, min {min:.3?} over {iterations} runs; {} subnets, {} networks, {} security groups",
            warm.subnets.len(),
            warm.networks.len(),
            warm.aws.as_ref().map_or(0, |a| a.security_groups.len())
        );
        results.push(mean);
    }
    let ratio = results[0].as_secs_f64() / results[1].as_secs_f64().max(f64::EPSILON);
    println!("speed-up parallel vs sequential (mean): {ratio:.2}×");
}
