//! Random JSON bodies (proptest, a bounded number of cases) against every write endpoint of a
//! real trellis, with valid credentials so the extractors and handlers are reached: every
//! answer is a 2xx or a 4xx with a JSON `{error}`, never a 500, and the server stays up. (The
//! claim is left out: a random `wait_seconds` is a long-poll, and its body is two fields.)

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::common::{Backend, start, worker};

/// Any JSON value with the field names of the API's bodies mixed into random ones.
fn body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("job_type".to_owned()),
        Just("payload".to_owned()),
        Just("status".to_owned()),
        Just("secrets".to_owned()),
        Just("labels".to_owned()),
        Just("name".to_owned()),
        Just("provider".to_owned()),
        Just("settings".to_owned()),
        Just("lines".to_owned()),
        Just("wait_seconds".to_owned()),
        Just("job_types".to_owned()),
        "[a-z_]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        Just(Value::String("EXEC".into())),
        Just(Value::String("aws".into())),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[tokio::test]
async fn random_bodies_get_a_2xx_or_a_4xx_never_a_500() {
    let env = start(Backend::Sqlite).await;
    let url = env.server.url().to_owned();
    let user = env.server.api_token().expose().to_owned();
    let admin = env.server.admin_token().expose().to_owned();
    let w = worker(&env, "fuzz", None).await;
    let (wid, wtok) = (w.id.to_string(), w.token.expose().to_owned());
    let http = reqwest::Client::new();
    let job = uuid::Uuid::new_v4();

    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let strategy = body();
    for case in 0..64 {
        let value = strategy.new_tree(&mut runner).expect("a value").current();
        let text = value.to_string();
        let requests = [
            http.post(format!("{url}/api/jobs")).bearer_auth(&user),
            http.post(format!("{url}/api/cloud-identities"))
                .bearer_auth(&user),
            http.post(format!("{url}/api/tokens")).bearer_auth(&admin),
            http.post(format!("{url}/api/tendrils/register"))
                .bearer_auth(&admin),
            http.post(format!("{url}/api/jobs/{job}/retry"))
                .bearer_auth(&user),
            http.post(format!("{url}/api/workers/heartbeat")),
            http.put(format!("{url}/api/jobs/{job}/status")),
            http.post(format!("{url}/api/jobs/{job}/logs")),
            http.post(format!("{url}/api/jobs/{job}/plan-artifact")),
        ];
        for request in requests {
            let answer = request
                .header("x-worker-id", &wid)
                .header("x-worker-token", &wtok)
                .header("content-type", "application/json")
                .body(text.clone())
                .send()
                .await
                .expect("trellis answers");
            let status = answer.status();
            let path = answer.url().path().to_owned();
            assert!(
                !status.is_server_error(),
                "case {case}: {path} answered {status} to {text}"
            );
            if status.is_client_error() {
                let error: Value = answer.json().await.unwrap_or(Value::Null);
                assert!(
                    error["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "case {case}: {path} {status} without a JSON error for {text}"
                );
            }
        }
    }
}
