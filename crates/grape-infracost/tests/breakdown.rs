//! `infracost breakdown` against a stand-in CLI (grape-testkit writes it: the real one is in no
//! registry reachable here) that checks its arguments, its plan file and its API key.

use std::sync::{Arc, Mutex};

use grape_api::Secret;
use grape_infracost::{CostEstimate, Decimal, Infracost, InfracostError, PLAN_JSON_FILE};
use grape_process::{CancellationToken, OutputStream, Redactor};
use grape_testkit::{
    BREAKDOWN_JSON, FakeInfracostOutput, fake_infracost_calls, write_fake_infracost,
};
use serde_json::json;

const KEY: &str = "ico-test-key-0123456789abcdef";

fn plan_json() -> serde_json::Value {
    json!({"format_version": "1.2", "resource_changes": [
        {"address": "aws_instance.web", "type": "aws_instance", "name": "web", "change": {"actions": ["create"]}}
    ]})
}

struct Run {
    dir: tempfile::TempDir,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Run {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            lines: Arc::default(),
        }
    }

    async fn breakdown(
        &self,
        output: FakeInfracostOutput,
        key: &str,
    ) -> Result<CostEstimate, InfracostError> {
        let bin = write_fake_infracost(self.dir.path(), KEY, output).expect("fake infracost");
        let work = self.dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let lines = self.lines.clone();
        let sink = move |_: OutputStream, text: &str| lines.lock().unwrap().push(text.to_owned());
        let redactor = Redactor::new();
        let found = Infracost::locate(Some(&bin)).expect("explicit binary");
        let result = Infracost::new(found, Secret::new(key))
            .redactor(redactor)
            .breakdown_plan(&plan_json(), &work, &sink, &CancellationToken::new())
            .await;
        assert!(
            !work.join(PLAN_JSON_FILE).exists(),
            "the plan JSON was left behind"
        );
        result
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

#[tokio::test]
async fn a_breakdown_is_typed_into_totals_and_resource_costs() {
    let run = Run::new();
    let estimate = run
        .breakdown(FakeInfracostOutput::Breakdown, KEY)
        .await
        .expect("estimate");
    assert_eq!(estimate.currency, "USD");
    assert_eq!(estimate.total.monthly, Some(Decimal::new(30368, 3)));
    assert_eq!(estimate.total.hourly, Some(Decimal::new(416, 4)));
    assert_eq!(estimate.past.monthly, Some(Decimal::ZERO));
    assert_eq!(estimate.diff.monthly, Some(Decimal::new(30368, 3)));
    assert_eq!(estimate.resources.len(), 2);
    assert_eq!(estimate.resources[0].address, "aws_instance.web");
    assert_eq!(estimate.resources[0].resource_type, "aws_instance");
    assert_eq!(
        estimate.resources[1].cost.monthly, None,
        "usage-based is unknown"
    );
    assert_eq!(estimate.counts.detected, 3);
    assert_eq!(estimate.counts.unsupported, 1);

    let calls = fake_infracost_calls(run.dir.path());
    assert_eq!(calls, vec!["breakdown --path plan.json --format json"]);
    assert!(
        run.log().contains("Evaluating Terraform plan JSON file"),
        "stderr goes to the sink: {}",
        run.log()
    );

    let table = estimate.summary_table().join("\n");
    assert!(table.contains("aws_instance.web"), "{table}");
    assert!(table.contains("30.37"), "{table}");
    assert!(table.contains("usage-based"), "{table}");
    assert!(
        table.contains("change against the current state: +30.37 per month"),
        "{table}"
    );
    assert!(table.contains("1 resource(s) are not priced"), "{table}");
}

#[tokio::test]
async fn the_estimate_serialises_amounts_as_exact_decimal_strings() {
    let estimate = CostEstimate::parse(BREAKDOWN_JSON).expect("parse");
    let v = serde_json::to_value(&estimate).unwrap();
    assert_eq!(v["total"]["monthly"], "30.368", "{v}");
    assert_eq!(
        v["resources"][1]["cost"]["monthly"],
        serde_json::Value::Null
    );
    let back: CostEstimate = serde_json::from_value(v).unwrap();
    assert_eq!(back, estimate);
}

#[tokio::test]
async fn a_wrong_key_fails_with_the_clis_reason_and_the_key_never_shows() {
    let run = Run::new();
    let wrong = "ico-wrong-key-9876543210fedcba";
    let err = run
        .breakdown(FakeInfracostOutput::Breakdown, wrong)
        .await
        .expect_err("the stand-in refuses a wrong key");
    let text = err.to_string();
    assert!(matches!(err, InfracostError::Failed { .. }), "{err:?}");
    assert!(text.contains("exited with code 65"), "{text}");
    assert!(
        text.contains("INFRACOST_API_KEY is missing or wrong"),
        "{text}"
    );
    assert!(
        !text.contains(wrong) && !run.log().contains(wrong),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_cli_and_unreadable_output_are_clear_errors() {
    let run = Run::new();
    let err = run
        .breakdown(FakeInfracostOutput::Fail, KEY)
        .await
        .expect_err("non-zero exit");
    let text = err.to_string();
    assert!(
        text.starts_with("infracost breakdown exited with code 1: "),
        "{text}"
    );
    assert!(
        text.ends_with("Error: Invalid API key: the pricing API refused it"),
        "{text}"
    );

    let run = Run::new();
    let err = run
        .breakdown(FakeInfracostOutput::BadJson, KEY)
        .await
        .expect_err("bad JSON");
    assert!(matches!(err, InfracostError::Json(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("infracost breakdown printed unreadable JSON"),
        "{err}"
    );
}

#[test]
fn another_output_version_is_refused() {
    let other = BREAKDOWN_JSON.replacen(r#""version":"0.2""#, r#""version":"0.3""#, 1);
    let err = CostEstimate::parse(&other).expect_err("version 0.3");
    assert!(
        err.to_string()
            .contains("output version \"0.3\"; only version \"0.2\" is understood"),
        "{err}"
    );
}

#[test]
fn a_missing_cli_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = Infracost::locate(Some(&dir.path().join("infracost"))).unwrap_err();
    assert!(matches!(err, InfracostError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("not an executable file"), "{err}");
}
