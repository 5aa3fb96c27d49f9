//! Decision tests: Create, Update and Delete against mocked STS and ECS.

use std::sync::Mutex;

use aws_sdk_ecs::Client as Ecs;
use aws_sdk_ecs::operation::delete_account_setting::DeleteAccountSettingOutput;
use aws_sdk_ecs::operation::list_account_settings::ListAccountSettingsOutput;
use aws_sdk_ecs::operation::put_account_setting::PutAccountSettingOutput;
use aws_sdk_ecs::operation::put_account_setting_default::PutAccountSettingDefaultOutput;
use aws_sdk_ecs::types::{Setting, SettingName};
use aws_sdk_sts::Client as Sts;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;

use super::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/demo-InstanceRole-1A2B3C4D5E6F";
const NEW_ROLE: &str = "arn:aws:iam::123456789012:role/demo-InstanceRole-NEWNEWNEWNEW";
const ROOT: &str = "arn:aws:iam::123456789012:root";
const ROLE_ID: &str = "enitrunk|Role|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:role/demo-InstanceRole-1A2B3C4D5E6F";
const CREATE: &str = include_str!("../../fixtures/example-create-request.json");
const UPDATE: &str = include_str!("../../fixtures/example-update-request.json");
const DELETE: &str = include_str!("../../fixtures/example-delete-request.json");

/// Who an ECS client was built for: the assumed access key (or the function itself) and region.
type EcsCalls = Arc<Mutex<Vec<(Option<String>, String)>>>;

struct Harness {
    function: Function,
    ecs_calls: EcsCalls,
}

fn harness(sts_rules: &[&Rule], ecs_rules: &[&Rule]) -> Harness {
    let sts: Sts = mock_client!(aws_sdk_sts, RuleMode::Sequential, sts_rules);
    let ecs: Ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, ecs_rules);
    let ecs_calls = EcsCalls::default();
    let calls = ecs_calls.clone();
    let factory = move |creds: Option<aws_credential_types::Credentials>, region: &str| {
        let key = creds.map(|c| c.access_key_id().to_owned());
        calls.lock().unwrap().push((key, region.to_owned()));
        ecs.clone()
    };
    let tuning = Tuning {
        assume_role_budget: Duration::from_millis(50),
        assume_role_first_backoff: Duration::from_millis(5),
        guard_margin: Duration::from_millis(300),
        put_first_backoff: Duration::from_millis(5),
    };
    Harness {
        function: Function {
            clients: Clients::new(sts, "eu-west-1", Arc::new(factory)),
            http: reqwest::Client::new(),
            tuning,
        },
        ecs_calls,
    }
}

impl Harness {
    async fn run(&self, event: Value) -> Outcome {
        let meta = Meta::from_json(&event).unwrap();
        self.function
            .decide(event, &meta, &Progress::default())
            .await
    }
}

/// A fixture with some fields replaced.
fn event(fixture: &str, patch: Value) -> Value {
    let mut v: Value = serde_json::from_str(fixture).unwrap();
    for (k, val) in patch.as_object().unwrap() {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v
}

fn props(extra: Value) -> Value {
    let mut p = json!({"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn assume_ok(role: &'static str) -> Rule {
    mock!(Sts::assume_role)
        .match_requests(move |r| r.role_arn() == Some(role))
        .then_output(|| {
            AssumeRoleOutput::builder()
                .credentials(
                    aws_sdk_sts::types::Credentials::builder()
                        .access_key_id("ASIAASSUMEDROLEKEY01")
                        .secret_access_key("assumed-secret")
                        .session_token("assumed-token")
                        .expiration(aws_smithy_types::DateTime::from_secs(4_102_444_800))
                        .build()
                        .unwrap(),
                )
                .build()
        })
}

/// IAM's answer, as the wire carries it, for a role not (or no longer) assumable.
fn assume_denied() -> HttpResponse {
    let xml = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/fn-role/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/demo-InstanceRole-1A2B3C4D5E6F</Message></Error><RequestId>r</RequestId></ErrorResponse>"#;
    HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::from(xml))
}

/// An ECS error, as the wire carries it.
fn ecs_error(code: &'static str, message: &'static str) -> impl Fn() -> HttpResponse + Send + Sync {
    move || {
        let body = json!({"__type": code, "message": message}).to_string();
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
    }
}

fn put_ok(value: &'static str) -> Rule {
    mock!(Ecs::put_account_setting)
        .match_requests(move |r| {
            r.name() == Some(&SettingName::AwsvpcTrunking)
                && r.value() == Some(value)
                // Only root may name a principal; the role sets its own.
                && r.principal_arn().is_none()
        })
        .then_output(|| PutAccountSettingOutput::builder().build())
}

/// The caller's effective setting, as ECS reports it for `principal`. The request names no
/// principal: only root or the principal itself may, so the function reads as the caller.
fn effective(principal: &'static str, value: &'static str) -> Rule {
    mock!(Ecs::list_account_settings)
        .match_requests(move |r| {
            r.principal_arn().is_none()
                && r.effective_settings() == Some(true)
                && r.name() == Some(&SettingName::AwsvpcTrunking)
        })
        .then_output(move || {
            ListAccountSettingsOutput::builder()
                .settings(
                    Setting::builder()
                        .name(SettingName::AwsvpcTrunking)
                        .value(value)
                        .principal_arn(principal)
                        .build(),
                )
                .build()
        })
}

fn assert_success(o: &Outcome) {
    assert_eq!(o.status, Status::Success, "{o:?}");
}

fn assert_failed(o: &Outcome, needles: &[&str]) {
    assert_eq!(o.status, Status::Failed, "{o:?}");
    let reason = o.reason.as_deref().unwrap();
    for n in needles {
        assert!(reason.contains(n), "reason {reason:?} lacks {n:?}");
    }
}

fn data(o: &Outcome) -> Vec<(&str, &str)> {
    o.data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn create_role_scope_sets_the_roles_own_setting_as_the_role() {
    let (sts, put, read) = (
        assume_ok(ROLE),
        put_ok("enabled"),
        effective(ROLE, "enabled"),
    );
    let h = harness(&[&sts], &[&put, &read]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, ROLE_ID);
    assert_eq!(
        data(&o),
        [
            ("PrincipalArn", ROLE),
            ("SettingName", "awsvpcTrunking"),
            ("Value", "enabled")
        ]
    );
    assert_eq!(
        (sts.num_calls(), put.num_calls(), read.num_calls()),
        (1, 1, 1)
    );
    let calls = h.ecs_calls.lock().unwrap();
    assert_eq!(
        *calls,
        [(
            Some("ASIAASSUMEDROLEKEY01".to_owned()),
            "eu-west-1".to_owned()
        )]
    );
}

#[tokio::test]
async fn create_honours_the_region_property() {
    let (sts, put, read) = (
        assume_ok(ROLE),
        put_ok("enabled"),
        effective(ROLE, "enabled"),
    );
    let h = harness(&[&sts], &[&put, &read]);
    let p = props(json!({"RoleArn": ROLE, "Region": "us-east-2"}));
    let o = h.run(event(CREATE, json!({"ResourceProperties": p}))).await;
    assert_success(&o);
    assert!(
        o.physical_resource_id
            .starts_with("enitrunk|Role|us-east-2|"),
        "{o:?}"
    );
    assert_eq!(h.ecs_calls.lock().unwrap()[0].1, "us-east-2");
}

#[tokio::test]
async fn create_account_default_records_the_previous_default() {
    let before = effective(ROOT, "disabled");
    let put = mock!(Ecs::put_account_setting_default)
        .match_requests(|r| {
            r.name() == Some(&SettingName::AwsvpcTrunking) && r.value() == Some("enabled")
        })
        .then_output(|| PutAccountSettingDefaultOutput::builder().build());
    let after = effective(ROOT, "enabled");
    let h = harness(&[], &[&before, &put, &after]);
    let p = props(json!({"Scope": "AccountDefault", "OnDelete": "Reset"}));
    let o = h.run(event(CREATE, json!({"ResourceProperties": p}))).await;
    assert_success(&o);
    assert_eq!(
        o.physical_resource_id,
        "enitrunk|AccountDefault|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:root|previous=disabled"
    );
    assert_eq!(data(&o)[0], ("PrincipalArn", ROOT));
    // The function's own identity, not an assumed one.
    assert_eq!(h.ecs_calls.lock().unwrap()[0].0, None);
    assert_eq!(
        (before.num_calls(), put.num_calls(), after.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn update_of_on_delete_keeps_the_physical_id() {
    let (sts, put, read) = (
        assume_ok(ROLE),
        put_ok("enabled"),
        effective(ROLE, "enabled"),
    );
    let h = harness(&[&sts], &[&put, &read]);
    let o = h.run(event(UPDATE, json!({}))).await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, ROLE_ID);
}

#[tokio::test]
async fn update_in_place_of_account_default_keeps_the_recorded_previous_value() {
    let put = mock!(Ecs::put_account_setting_default)
        .then_output(|| PutAccountSettingDefaultOutput::builder().build());
    let after = effective(ROOT, "enabled");
    // No read of the "previous" default: it is ours now, the old id has the real one.
    let h = harness(&[], &[&put, &after]);
    let old_id = "enitrunk|AccountDefault|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:root|previous=disabled";
    let p = props(json!({"Scope": "AccountDefault", "OnDelete": "Reset"}));
    let o = h
        .run(event(
            UPDATE,
            json!({"PhysicalResourceId": old_id, "ResourceProperties": p}),
        ))
        .await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, old_id);
}

#[tokio::test]
async fn update_to_another_role_is_a_replacement_acting_on_the_new_role() {
    let (sts, put, read) = (
        assume_ok(NEW_ROLE),
        put_ok("enabled"),
        effective(NEW_ROLE, "enabled"),
    );
    let h = harness(&[&sts], &[&put, &read]);
    let p = props(json!({"RoleArn": NEW_ROLE, "OnDelete": "Reset"}));
    let o = h.run(event(UPDATE, json!({"ResourceProperties": p}))).await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, ROLE_ID.replace(ROLE, NEW_ROLE));
    assert_eq!(sts.num_calls(), 1);
}

#[tokio::test]
async fn delete_of_the_old_id_after_replacement_acts_on_the_old_role_only() {
    let sts = assume_ok(ROLE);
    let del = mock!(Ecs::delete_account_setting)
        .match_requests(|r| {
            r.name() == Some(&SettingName::AwsvpcTrunking) && r.principal_arn().is_none()
        })
        .then_output(|| DeleteAccountSettingOutput::builder().build());
    let h = harness(&[&sts], &[&del]);
    // CloudFormation's cleanup Delete carries the old id and the old properties.
    let o = h.run(event(DELETE, json!({}))).await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, ROLE_ID);
    assert_eq!((sts.num_calls(), del.num_calls()), (1, 1));
}

#[tokio::test]
async fn delete_with_retain_makes_no_aws_call() {
    let h = harness(&[], &[]);
    let p = props(json!({"RoleArn": ROLE}));
    let o = h.run(event(DELETE, json!({"ResourceProperties": p}))).await;
    assert_success(&o);
    assert!(o.reason.as_deref().unwrap().contains("Retain"), "{o:?}");
    assert!(h.ecs_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn access_denied_twice_then_success_is_retried() {
    let sts = mock!(Sts::assume_role)
        .sequence()
        .http_response(assume_denied)
        .times(2)
        .build();
    let (ok, put, read) = (
        assume_ok(ROLE),
        put_ok("enabled"),
        effective(ROLE, "enabled"),
    );
    let h = harness(&[&sts, &ok], &[&put, &read]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_success(&o);
    assert_eq!((sts.num_calls(), ok.num_calls()), (2, 1));
}

#[tokio::test]
async fn permanent_access_denied_fails_naming_the_role_and_trust_policy() {
    let sts = mock!(Sts::assume_role)
        .sequence()
        .http_response(assume_denied)
        .repeatedly()
        .build();
    let h = harness(&[&sts], &[]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_failed(
        &o,
        &["cannot assume role", ROLE, "trust policy", "AccessDenied"],
    );
    assert_eq!(
        o.physical_resource_id,
        "enitrunk|CreateFailed|7bfb7a2a-3d5e-4c8a-9e59-0f1e2d3c4b5a"
    );
    // 5, 10, 20 ms fit the 50 ms budget: four attempts.
    assert_eq!(sts.num_calls(), 4);
}

#[tokio::test]
async fn ecs_invalid_parameter_fails_with_ecs_message() {
    let sts = assume_ok(ROLE);
    let put = mock!(Ecs::put_account_setting).then_http_response(ecs_error(
        "InvalidParameterException",
        "Invalid account setting name.",
    ));
    let h = harness(&[&sts], &[&put]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_failed(
        &o,
        &[
            "ecs:PutAccountSetting on",
            ROLE,
            "InvalidParameterException: Invalid account setting name.",
        ],
    );
}

#[tokio::test]
async fn a_put_the_roles_policy_denies_names_the_setting_and_the_permission() {
    let sts = assume_ok(ROLE);
    let put = mock!(Ecs::put_account_setting).then_http_response(ecs_error(
        "AccessDeniedException",
        "User: x is not authorized to perform: ecs:PutAccountSetting on resource: *",
    ));
    let h = harness(&[&sts], &[&put]);
    let p = props(json!({"RoleArn": ROLE, "SettingName": "containerInsights"}));
    let o = h.run(event(CREATE, json!({"ResourceProperties": p}))).await;
    assert_failed(
        &o,
        &[
            "ecs:PutAccountSetting of containerInsights as",
            ROLE,
            "was denied (AccessDeniedException",
            "ecs:account-setting = containerInsights",
        ],
    );
}

#[tokio::test]
async fn setting_not_effective_after_put_fails() {
    let (sts, put, read) = (
        assume_ok(ROLE),
        put_ok("enabled"),
        effective(ROLE, "disabled"),
    );
    let h = harness(&[&sts], &[&put, &read]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_failed(
        &o,
        &["effective awsvpcTrunking", "is `disabled`, not `enabled`"],
    );
}

#[tokio::test]
async fn delete_when_the_role_is_gone_succeeds() {
    let sts = mock!(Sts::assume_role).then_http_response(assume_denied);
    let h = harness(&[&sts], &[]);
    let o = h.run(event(DELETE, json!({}))).await;
    assert_success(&o);
    assert!(
        o.reason.as_deref().unwrap().contains("cannot be assumed"),
        "{o:?}"
    );
    // No waiting for IAM on Delete: a missing role does not come back.
    assert_eq!(sts.num_calls(), 1);
}

#[tokio::test]
async fn delete_when_the_setting_is_already_at_default_succeeds() {
    let sts = assume_ok(ROLE);
    let del = mock!(Ecs::delete_account_setting).then_http_response(ecs_error(
        "InvalidParameterException",
        "The specified setting was not found.",
    ));
    let h = harness(&[&sts], &[&del]);
    let o = h.run(event(DELETE, json!({}))).await;
    assert_success(&o);
}

#[tokio::test]
async fn delete_fails_on_a_real_ecs_error() {
    let sts = assume_ok(ROLE);
    let del = mock!(Ecs::delete_account_setting)
        .then_http_response(ecs_error("AccessDeniedException", "not authorized"));
    let h = harness(&[&sts], &[&del]);
    let o = h.run(event(DELETE, json!({}))).await;
    assert_failed(&o, &["ecs:DeleteAccountSetting", "AccessDeniedException"]);
    assert_eq!(o.physical_resource_id, ROLE_ID);
}

#[tokio::test]
async fn delete_after_a_failed_create_succeeds_without_aws_calls() {
    // No rules: any AWS call would panic the mock.
    let h = harness(&[], &[]);
    let p = props(json!({"OnDelete": "Reset"}));
    let o = h
        .run(event(
            DELETE,
            json!({"PhysicalResourceId": "enitrunk|CreateFailed|abc", "ResourceProperties": p}),
        ))
        .await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, "enitrunk|CreateFailed|abc");
    assert!(h.ecs_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn delete_of_a_foreign_id_succeeds_without_aws_calls() {
    let h = harness(&[], &[]);
    let id = "2024/05/01/[$LATEST]0123456789abcdef0123456789abcdef";
    let o = h
        .run(event(DELETE, json!({"PhysicalResourceId": id})))
        .await;
    assert_success(&o);
    assert_eq!(o.physical_resource_id, id);
}

#[tokio::test]
async fn delete_of_account_default_with_reset_restores_the_previous_value() {
    let put = mock!(Ecs::put_account_setting_default)
        .match_requests(|r| r.value() == Some("disabled"))
        .then_output(|| PutAccountSettingDefaultOutput::builder().build());
    let h = harness(&[], &[&put]);
    let id = "enitrunk|AccountDefault|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:root|previous=disabled";
    let p = props(json!({"Scope": "AccountDefault", "OnDelete": "Reset"}));
    let o = h
        .run(event(
            DELETE,
            json!({"PhysicalResourceId": id, "ResourceProperties": p}),
        ))
        .await;
    assert_success(&o);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn bad_properties_fail_create_with_a_clear_reason_and_no_aws_call() {
    let cases = [
        (json!({}), "RoleArn is required"),
        (
            json!({"RoleArn": ROLE, "Scope": "Everyone"}),
            "Scope is `Everyone`",
        ),
        (
            json!({"RoleArn": ROLE, "OnDelete": "Destroy"}),
            "OnDelete is `Destroy`",
        ),
    ];
    for (p, needle) in cases {
        let h = harness(&[], &[]);
        let o = h
            .run(event(CREATE, json!({"ResourceProperties": props(p)})))
            .await;
        assert_failed(&o, &[needle]);
        assert!(
            o.physical_resource_id.starts_with("enitrunk|CreateFailed|"),
            "{o:?}"
        );
    }
}

#[tokio::test]
async fn bad_properties_on_update_keep_the_old_id() {
    let h = harness(&[], &[]);
    let p = props(json!({"RoleArn": ROLE, "Scope": "Everyone"}));
    let o = h.run(event(UPDATE, json!({"ResourceProperties": p}))).await;
    assert_failed(&o, &["Scope is `Everyone`"]);
    assert_eq!(o.physical_resource_id, ROLE_ID);
}

#[tokio::test]
async fn unknown_request_type_is_answered_failed() {
    let h = harness(&[], &[]);
    let o = h.run(event(CREATE, json!({"RequestType": "Upsert"}))).await;
    assert_failed(&o, &["malformed request"]);
}

#[tokio::test]
async fn a_panic_is_answered_failed() {
    let sts = mock!(Sts::assume_role).then_compute_output(|_| panic!("boom in the SDK"));
    let h = harness(&[&sts], &[]);
    let e = event(CREATE, json!({}));
    let meta = Meta::from_json(&e).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let o = h.function.decide_within(e, &meta, deadline).await;
    assert_failed(&o, &["crashed while assuming role", "boom in the SDK"]);
}

#[tokio::test]
async fn a_stalled_aws_call_is_answered_failed_before_the_deadline() {
    // STS that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let sts = Sts::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_sts::config::Region::new("eu-west-1"))
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .build(),
    );
    let mut h = harness(&[], &[]);
    h.function.clients = Clients::new(sts, "eu-west-1", Arc::new(|_, _| unreachable!()));
    let e = event(CREATE, json!({}));
    let meta = Meta::from_json(&e).unwrap();
    let start = Instant::now();
    let deadline = start + Duration::from_millis(1500);
    let o = h.function.decide_within(e, &meta, deadline).await;
    let took = start.elapsed();
    assert_failed(&o, &["timed out while assuming role", ROLE]);
    assert!(
        took < Duration::from_millis(1500),
        "answered after the deadline: {took:?}"
    );
    assert!(
        took >= Duration::from_millis(1100),
        "answered too early: {took:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn a_repeated_create_of_account_default_does_not_record_its_own_value_to_restore() {
    // The default is already what this Create sets (e.g. an earlier Create of this resource).
    let before = effective(ROOT, "enabled");
    let put = mock!(Ecs::put_account_setting_default)
        .then_output(|| PutAccountSettingDefaultOutput::builder().build());
    let after = effective(ROOT, "enabled");
    let h = harness(&[], &[&before, &put, &after]);
    let p = props(json!({"Scope": "AccountDefault", "OnDelete": "Reset"}));
    let o = h.run(event(CREATE, json!({"ResourceProperties": p}))).await;
    assert_success(&o);
    assert!(
        o.physical_resource_id.ends_with("|previous="),
        "{}",
        o.physical_resource_id
    );
}

#[tokio::test]
async fn a_read_back_failure_after_the_change_answers_with_the_real_id() {
    let (sts, put) = (assume_ok(ROLE), put_ok("enabled"));
    let read = mock!(Ecs::list_account_settings)
        .then_http_response(ecs_error("ServerException", "internal error"));
    let h = harness(&[&sts], &[&put, &read]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_failed(&o, &["ecs:ListAccountSettings", "ServerException"]);
    // The rollback's Delete then names the role, and can undo the change.
    assert_eq!(o.physical_resource_id, ROLE_ID);
}

// Two workers: the mock's stall blocks one, the deadline guard runs on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_after_the_change_answers_with_the_real_id() {
    let (sts, put) = (assume_ok(ROLE), put_ok("enabled"));
    let read = mock!(Ecs::list_account_settings).then_compute_output(|_| {
        std::thread::sleep(Duration::from_millis(3000));
        ListAccountSettingsOutput::builder().build()
    });
    let h = harness(&[&sts], &[&put, &read]);
    let e = event(CREATE, json!({}));
    let meta = Meta::from_json(&e).unwrap();
    let deadline = Instant::now() + Duration::from_millis(1000);
    let o = h.function.decide_within(e, &meta, deadline).await;
    assert_failed(&o, &["timed out while reading back"]);
    assert_eq!(o.physical_resource_id, ROLE_ID);
}

/// Regression: an unparseable 200 from STS carries credentials; the SDK's debug rendering of
/// the error includes the raw body.
#[tokio::test]
async fn a_malformed_assume_role_answer_is_reported_without_its_body() {
    const SECRET: &str = "wJalrXUtnFEMI-FAKE-SECRET-IN-BODY";
    let sts = mock!(Sts::assume_role).then_http_response(|| {
        let xml = format!(
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><SecretAccessKey>{SECRET}</SecretAccessKey><Expiration>not a date"
        );
        HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(xml))
    });
    let h = harness(&[&sts], &[]);
    let o = h.run(event(CREATE, json!({}))).await;
    assert_failed(&o, &["sts:AssumeRole on", ROLE]);
    let reason = o.reason.as_deref().unwrap();
    assert!(!reason.contains(SECRET), "the body leaked: {reason}");
}

mod read {
    use super::*;
    use crate::read::{ReadRequest, ReadResponse};

    fn all_settings(principal: &'static str) -> Rule {
        mock!(Ecs::list_account_settings)
            .match_requests(|r| {
                r.principal_arn().is_none()
                    && r.name().is_none()
                    && r.effective_settings() == Some(true)
            })
            .then_output(move || {
                let s = |name: SettingName, value: &str| {
                    Setting::builder()
                        .name(name)
                        .value(value)
                        .principal_arn(principal)
                        .build()
                };
                ListAccountSettingsOutput::builder()
                    .settings(s(SettingName::AwsvpcTrunking, "enabled"))
                    .settings(s(SettingName::ContainerInsights, "disabled"))
                    .build()
            })
    }

    #[tokio::test]
    async fn reads_the_roles_settings_as_the_role() {
        let (sts, list) = (assume_ok(ROLE), all_settings(ROLE));
        let h = harness(&[&sts], &[&list]);
        let r = h
            .function
            .read(&ReadRequest::for_role(Some(ROLE.into())))
            .await
            .unwrap();
        assert_eq!(
            r,
            ReadResponse {
                role_arn: Some(ROLE.into()),
                region: "eu-west-1".into(),
                settings: [
                    ("awsvpcTrunking".to_owned(), "enabled".to_owned()),
                    ("containerInsights".to_owned(), "disabled".to_owned())
                ]
                .into()
            }
        );
        assert_eq!(
            h.ecs_calls.lock().unwrap()[0].0.as_deref(),
            Some("ASIAASSUMEDROLEKEY01")
        );
    }

    #[tokio::test]
    async fn without_a_role_it_reads_as_itself() {
        let list = all_settings(ROOT);
        let h = harness(&[], &[&list]);
        let r = h.function.read(&ReadRequest::for_role(None)).await.unwrap();
        assert_eq!(r.settings["awsvpcTrunking"], "enabled");
        assert_eq!(h.ecs_calls.lock().unwrap()[0].0, None);
    }

    #[tokio::test]
    async fn a_role_it_cannot_assume_is_an_error_naming_it() {
        let sts = mock!(Sts::assume_role).then_http_response(assume_denied);
        let h = harness(&[&sts], &[]);
        let e = h
            .function
            .read(&ReadRequest::for_role(Some(ROLE.into())))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("cannot assume role {ROLE}")),
            "{e}"
        );
        // No waiting for IAM: the role was assumable when the stack was deployed.
        assert_eq!(sts.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_role_name_instead_of_an_arn_is_refused_before_any_call() {
        let h = harness(&[], &[]);
        let e = h
            .function
            .read(&ReadRequest::for_role(Some("ecs-instance".into())))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("RoleArn is `ecs-instance`"), "{e}");
    }
}

mod snapshots {
    use super::*;
    use crate::response;

    fn body_of(event: &Value, o: &Outcome) -> Value {
        serde_json::from_str(&response::body(&Meta::from_json(event).unwrap(), o)).unwrap()
    }

    fn snapshot(name: &str, body: Value) {
        insta::with_settings!({ snapshot_suffix => name, sort_maps => true }, {
            insta::assert_json_snapshot!("response", body, {
                ".StackId" => "[stack-id]",
                ".RequestId" => "[request-id]",
            });
        });
    }

    #[tokio::test]
    async fn response_bodies() {
        let (sts, put, read) = (
            assume_ok(ROLE),
            put_ok("enabled"),
            effective(ROLE, "enabled"),
        );
        let h = harness(&[&sts], &[&put, &read]);
        let e = event(CREATE, json!({}));
        snapshot("create-success", body_of(&e, &h.run(e.clone()).await));

        let h = harness(&[], &[]);
        let e = event(
            CREATE,
            json!({"ResourceProperties": props(json!({"Scope": "Account"}))}),
        );
        snapshot(
            "create-failed-properties",
            body_of(&e, &h.run(e.clone()).await),
        );

        let sts = mock!(Sts::assume_role)
            .sequence()
            .http_response(assume_denied)
            .repeatedly()
            .build();
        let h = harness(&[&sts], &[]);
        let e = event(CREATE, json!({}));
        snapshot(
            "create-failed-assume-role",
            body_of(&e, &h.run(e.clone()).await),
        );

        let (sts, del) = (
            assume_ok(ROLE),
            mock!(Ecs::delete_account_setting)
                .then_output(|| DeleteAccountSettingOutput::builder().build()),
        );
        let h = harness(&[&sts], &[&del]);
        let e = event(DELETE, json!({}));
        snapshot("delete-reset", body_of(&e, &h.run(e.clone()).await));
    }
}
