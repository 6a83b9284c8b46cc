//! Property tests (proptest, bounded cases) over the wire types: any JSON a peer may send —
//! a job, a claim, a heartbeat or log answer, a status update, a submit request, identity settings, a cached discovery, job secrets — is
//! read into a value or a typed error, never a panic; the wire enums read back what they write.

use grape_api::{
    ClaimResponse, CloudProvider, Discovery, HeartbeatResponse, IdentitySettings, Job, JobSecrets,
    JobStatus, JobType, LogAck, LogPage, RegisterResponse, Secret, StatusUpdate, SubmitJobRequest,
    validate_secrets,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value, a few levels deep, with the keys the wire types use mixed into random ones
/// so that the decoders get past their first field now and then.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("job_type".to_owned()),
        Just("status".to_owned()),
        Just("payload".to_owned()),
        Just("secrets".to_owned()),
        Just("role_arn".to_owned()),
        Just("regions".to_owned()),
        Just("format_version".to_owned()),
        Just("networks".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("PLAN".into())),
        Just(Value::String("5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10".into())),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_json_is_read_or_refused_never_a_panic(value in json()) {
        let _ = serde_json::from_value::<Job>(value.clone());
        let _ = serde_json::from_value::<ClaimResponse>(value.clone());
        let _ = serde_json::from_value::<HeartbeatResponse>(value.clone());
        let _ = serde_json::from_value::<LogAck>(value.clone());
        let _ = serde_json::from_value::<LogPage>(value.clone());
        let _ = serde_json::from_value::<RegisterResponse>(value.clone());
        let _ = serde_json::from_value::<StatusUpdate>(value.clone());
        let _ = serde_json::from_value::<SubmitJobRequest>(value.clone());
        for provider in [CloudProvider::Aws, CloudProvider::Gcp, CloudProvider::Azure] {
            let _ = IdentitySettings::parse(&provider, &value);
        }
        let _ = Discovery::from_cached(Some(&value));
    }

    #[test]
    fn the_wire_enums_read_back_what_they_write(text in ".{0,24}") {
        let job_type = JobType::from_wire(&text);
        prop_assert_eq!(JobType::from_wire(job_type.as_str()), job_type.clone());
        let status = JobStatus::from_wire(&text);
        prop_assert_eq!(JobStatus::from_wire(status.as_str()), status);
    }

    #[test]
    fn any_secrets_map_is_accepted_or_refused_never_quoting_a_value(
        entries in prop::collection::btree_map(".{0,140}", ".{0,64}", 0..5)
    ) {
        let secrets: JobSecrets = entries
            .into_iter()
            .map(|(k, v)| (k, Secret::new(v)))
            .collect();
        if let Err(e) = validate_secrets(&secrets) {
            let reason = e.to_string();
            for value in secrets.values().filter(|v| v.expose().len() >= 6) {
                let named = secrets.keys().any(|k| k.contains(value.expose()));
                prop_assert!(named || !reason.contains(value.expose()), "{}", reason);
            }
        }
    }
}
