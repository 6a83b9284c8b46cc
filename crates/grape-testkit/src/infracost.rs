//! A stand-in `infracost` CLI: the real one is in no package registry reachable here and needs
//! the hosted pricing API. The script checks what the real CLI needs — the arguments
//! `breakdown --path FILE --format json`, a readable plan JSON at FILE and the API key in
//! `INFRACOST_API_KEY` — records each call, and prints a breakdown in the documented JSON
//! shape (output version "0.2").

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// A breakdown in the documented shape (hand-made, version "0.2"): one `aws_instance.web` at
/// 30.368 USD a month, nothing priced before the plan.
pub const BREAKDOWN_JSON: &str = r#"{"version":"0.2","metadata":{"infracostCommand":"breakdown"},"currency":"USD",
 "projects":[{"name":"plan.json","displayName":"","metadata":{"path":"plan.json","type":"terraform_plan_json"},
   "pastBreakdown":{"resources":[],"totalHourlyCost":"0","totalMonthlyCost":"0","totalMonthlyUsageCost":"0"},
   "breakdown":{"resources":[
      {"name":"aws_instance.web","resourceType":"aws_instance","metadata":{},
       "hourlyCost":"0.0416","monthlyCost":"30.368","costComponents":[{"name":"Instance usage (Linux/UNIX, on-demand, t3.medium)",
       "unit":"hours","hourlyQuantity":"1","monthlyQuantity":"730","price":"0.0416","hourlyCost":"0.0416","monthlyCost":"30.368",
       "priceNotFound":false}]},
      {"name":"aws_s3_bucket.logs","resourceType":"aws_s3_bucket","metadata":{},"hourlyCost":null,"monthlyCost":null,
       "costComponents":[{"name":"Storage","unit":"GB","hourlyQuantity":null,"monthlyQuantity":null,"price":"0.023",
       "hourlyCost":null,"monthlyCost":null,"usageBased":true,"priceNotFound":false}]}],
     "totalHourlyCost":"0.0416","totalMonthlyCost":"30.368","totalMonthlyUsageCost":"0"},
   "diff":{"resources":[],"totalHourlyCost":"0.0416","totalMonthlyCost":"30.368","totalMonthlyUsageCost":"0"},
   "summary":{"totalDetectedResources":3,"totalSupportedResources":2,"totalUnsupportedResources":1,
              "totalUsageBasedResources":1,"totalNoPriceResources":0,"unsupportedResourceCounts":{"terraform_data":1},"noPriceResourceCounts":{}}}],
 "totalHourlyCost":"0.0416","totalMonthlyCost":"30.368","totalMonthlyUsageCost":"0",
 "pastTotalHourlyCost":"0","pastTotalMonthlyCost":"0","pastTotalMonthlyUsageCost":"0",
 "diffTotalHourlyCost":"0.0416","diffTotalMonthlyCost":"30.368","diffTotalMonthlyUsageCost":"0",
 "timeGenerated":"2026-12-01T13:00:00Z",
 "summary":{"totalDetectedResources":3,"totalSupportedResources":2,"totalUnsupportedResources":1,
            "totalUsageBasedResources":1,"totalNoPriceResources":0}}"#;

/// What the stand-in prints once its checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeInfracostOutput {
    /// [`BREAKDOWN_JSON`], exit 0.
    Breakdown,
    /// Text that is not JSON, exit 0.
    BadJson,
    /// An error on stderr, exit 1 (as when the pricing API refuses the key).
    Fail,
}

/// Writes an executable `infracost` into `dir` that expects `api_key`; returns its path. Each
/// call appends its arguments to `dir/infracost.calls` (see [`fake_infracost_calls`]).
pub fn write_fake_infracost(
    dir: &Path,
    api_key: &str,
    output: FakeInfracostOutput,
) -> io::Result<PathBuf> {
    let calls = dir.join("infracost.calls");
    let print = match output {
        FakeInfracostOutput::Breakdown => format!("cat <<'JSON'\n{BREAKDOWN_JSON}\nJSON\n"),
        FakeInfracostOutput::BadJson => "echo 'this is not json'\n".to_owned(),
        FakeInfracostOutput::Fail => {
            "echo 'Error: Invalid API key: the pricing API refused it' >&2\nexit 1\n".to_owned()
        }
    };
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> '{calls}'
if [ "$#" -ne 5 ] || [ "$1" != breakdown ] || [ "$2" != --path ] || [ "$4" != --format ] || [ "$5" != json ]; then
  echo "fake infracost: unexpected arguments: $*" >&2; exit 64
fi
if [ "${{INFRACOST_API_KEY:-}}" != '{api_key}' ]; then
  echo "fake infracost: INFRACOST_API_KEY is missing or wrong" >&2; exit 65
fi
if ! grep -q '"format_version"' "$3"; then
  echo "fake infracost: $3 is not a Terraform plan JSON" >&2; exit 66
fi
echo "Evaluating Terraform plan JSON file $3" >&2
{print}"#,
        calls = calls.display(),
    );
    let path = dir.join("infracost");
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// The argument lines of every call of the stand-in in `dir`, oldest first.
pub fn fake_infracost_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("infracost.calls"))
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}
