//! init → plan (variables) → show → apply → output → state in S3 → plan -destroy → destroy.

use std::collections::BTreeMap;
use std::sync::Mutex;

use grape_terraform::{
    Action, DestroyOptions, InitOptions, PlanOptions, RunIo, UiEvent, redact_sensitive_plan,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::common::{ACCESS_KEY, Lines, SECRET_KEY, config, files_containing, peers};

const MAIN_TF: &str = r#"
variable "name" {
  type = string
}
variable "password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "a" {
  input = var.name
}
resource "terraform_data" "b" {
  input = "fixed"
  provisioner "local-exec" {
    command = "echo hello-from-provisioner"
  }
}
output "name" {
  value = terraform_data.a.output
}
output "password" {
  value     = var.password
  sensitive = true
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn plan_show_apply_output_destroy_with_state_in_s3() {
    let p = peers().await;
    let dir = config(MAIN_TF);
    let backend = p.backend("vines/lifecycle/terraform.tfstate");
    assert!(!backend.init_args().join(" ").contains(SECRET_KEY));
    let wd = p.tf.working_dir(dir.path()).with_backend(backend);
    let cancel = CancellationToken::new();
    let lines = Lines::default();
    let events: Mutex<Vec<UiEvent>> = Mutex::default();
    let on_event = |e: &UiEvent| events.lock().unwrap().push(e.clone());
    let io = RunIo::new(&lines, &cancel).with_events(&on_event);

    wd.init(&InitOptions::default(), io).await.expect("init");
    assert!(dir.path().join(grape_terraform::BACKEND_FILE).is_file());

    let validated = wd.validate(&cancel).await.expect("validate");
    assert!(validated.valid, "{validated:?}");

    let variables: BTreeMap<_, _> = [
        ("name".to_owned(), json!("first")),
        ("password".to_owned(), json!("hunter2-password")),
    ]
    .into();
    let plan = wd
        .plan(
            &PlanOptions {
                variables: variables.clone(),
                ..PlanOptions::default()
            },
            io,
        )
        .await
        .expect("plan");
    assert!(plan.has_changes);
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.remove),
        (2, 0, 0)
    );
    let mut planned: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.resource.addr.clone(), c.action.clone()))
        .collect();
    planned.sort();
    assert_eq!(
        planned,
        [
            ("terraform_data.a".to_owned(), Action::Create),
            ("terraform_data.b".to_owned(), Action::Create)
        ]
    );
    assert!(plan.plan_file.is_file());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("_grape_vars"))
        .collect();
    assert!(leftovers.is_empty(), "var file removed after plan");
    {
        let ev = events.lock().unwrap();
        assert!(
            matches!(ev.first(), Some(UiEvent::Version { .. })),
            "{ev:?}"
        );
        assert!(ev.iter().any(|e| matches!(e, UiEvent::PlannedChange(_))));
        assert!(ev.iter().any(|e| matches!(e, UiEvent::ChangeSummary(_))));
        assert!(ev.iter().any(|e| matches!(e, UiEvent::Outputs(_))));
        assert!(
            !ev.iter().any(|e| matches!(e, UiEvent::Unknown { .. })),
            "{ev:?}"
        );
    }
    let text = lines.text();
    assert!(text.contains("terraform_data.a: Plan to create"), "{text}");
    assert!(
        text.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{text}"
    );

    let shown = wd.show_plan(&plan.plan_file, &cancel).await.expect("show");
    assert_eq!(shown.plan.format_version.split('.').next(), Some("1"));
    let mut rc: Vec<_> = shown
        .plan
        .resource_changes
        .iter()
        .map(|r| {
            (
                r.address.as_str(),
                r.type_.as_str(),
                r.name.as_str(),
                r.change.actions.clone(),
            )
        })
        .collect();
    rc.sort();
    assert_eq!(
        rc,
        [
            (
                "terraform_data.a",
                "terraform_data",
                "a",
                vec![Action::Create]
            ),
            (
                "terraform_data.b",
                "terraform_data",
                "b",
                vec![Action::Create]
            ),
        ]
    );
    assert_eq!(
        shown.plan.resource_changes[0].change.after["input"],
        json!(if shown.plan.resource_changes[0].name == "a" {
            "first"
        } else {
            "fixed"
        })
    );
    assert!(shown.plan.output_changes.contains_key("password"));
    assert_eq!(shown.plan.summary().add, 2);
    assert!(
        shown.raw.to_string().contains("hunter2-password"),
        "raw plan holds sensitive values"
    );
    assert!(
        !redact_sensitive_plan(&shown.raw)
            .to_string()
            .contains("hunter2-password")
    );

    events.lock().unwrap().clear();
    let applied = wd.apply_plan(&plan.plan_file, io).await.expect("apply");
    assert_eq!(applied.summary.add, 2);
    assert_eq!(applied.summary.operation, "apply");
    assert_eq!(applied.outputs["name"].value, Some(json!("first")));
    assert!(applied.outputs["password"].sensitive);
    assert_eq!(applied.outputs["password"].value, None);
    {
        let ev = events.lock().unwrap();
        assert!(
            ev.iter()
                .any(|e| matches!(e, UiEvent::ApplyStart(h) if h.action == Action::Create))
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, UiEvent::ApplyComplete(h) if h.id_value.is_some()))
        );
        assert!(ev.iter().any(|e| matches!(e, UiEvent::ProvisionProgress(p) if p.output.as_deref() == Some("hello-from-provisioner"))));
        assert!(
            !ev.iter().any(|e| matches!(e, UiEvent::Unknown { .. })),
            "{ev:?}"
        );
    }
    let text = lines.text();
    assert!(text.contains("terraform_data.a: Creating..."), "{text}");
    assert!(
        text.contains("terraform_data.a: Creation complete after 0s [id="),
        "{text}"
    );
    assert!(
        text.contains("terraform_data.b (local-exec): hello-from-provisioner"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete! Resources: 2 added, 0 changed, 0 destroyed."),
        "{text}"
    );
    assert!(text.contains("  password = <sensitive>"), "{text}");

    let outputs = wd.output(&cancel).await.expect("output");
    assert_eq!(outputs["name"].value, json!("first"));
    assert!(!outputs["name"].sensitive);
    assert!(outputs["password"].sensitive);
    assert_eq!(outputs["password"].type_, json!("string"));

    let keys = p.keys().await;
    assert_eq!(
        keys,
        ["vines/lifecycle/terraform.tfstate"],
        "state object in the bucket, no lock left"
    );
    let state =
        String::from_utf8(p.get("vines/lifecycle/terraform.tfstate").await.unwrap()).unwrap();
    assert!(state.contains("terraform_data"));

    let mut listed = wd.state_list(&cancel).await.expect("state list");
    listed.sort();
    assert_eq!(listed, ["terraform_data.a", "terraform_data.b"]);

    // plan -destroy
    let destroy_plan = wd
        .plan(
            &PlanOptions {
                variables: variables.clone(),
                destroy: true,
                out: "destroy.tfplan".into(),
                ..PlanOptions::default()
            },
            io,
        )
        .await
        .expect("plan -destroy");
    assert!(destroy_plan.has_changes);
    assert_eq!(destroy_plan.summary.remove, 2);
    assert!(
        destroy_plan
            .changes
            .iter()
            .all(|c| c.action == Action::Delete)
    );
    let shown = wd
        .show_plan(&destroy_plan.plan_file, &cancel)
        .await
        .expect("show destroy plan");
    assert!(
        shown
            .plan
            .resource_changes
            .iter()
            .all(|r| r.change.actions == [Action::Delete])
    );

    // Apply again nothing to do, then destroy.
    let noop = wd
        .plan(
            &PlanOptions {
                variables: variables.clone(),
                ..PlanOptions::default()
            },
            io,
        )
        .await
        .expect("no-op plan");
    assert!(!noop.has_changes);
    let destroyed = wd
        .destroy(
            &DestroyOptions {
                variables,
                ..DestroyOptions::default()
            },
            io,
        )
        .await
        .expect("destroy");
    assert_eq!(destroyed.summary.remove, 2);
    assert!(
        lines
            .text()
            .contains("Destroy complete! Resources: 2 destroyed.")
    );
    assert!(wd.state_list(&cancel).await.expect("state list").is_empty());

    // No secret anywhere: rendered lines, files in the working directory.
    let text = lines.text();
    assert!(
        !text.contains(SECRET_KEY) && !text.contains(ACCESS_KEY),
        "{text}"
    );
    assert!(files_containing(dir.path(), SECRET_KEY).is_empty());
    assert!(files_containing(dir.path(), ACCESS_KEY).is_empty());
}
