//! The built `bootstrap` binary, run the way Lambda runs it: it polls a Lambda Runtime API served
//! here, reaches STS and ECS through `AWS_ENDPOINT_URL` (a fake on a local port), and PUTs its
//! answer to the `ResponseURL`. This proves the binary, not just the library.

mod support;

use std::time::Duration;

use serde_json::json;
use support::lambda::*;
use support::{Request, Server};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn the_bootstrap_binary_answers_cloudformation_through_the_runtime_api() {
    let aws = Server::start(fake_aws()).await;
    let leaky = format!("arn:aws:iam::123456789012:role/{LEAKY_ROLE_NAME}");
    let events = vec![
        create_event(&aws, 1, None),
        create_event(&aws, 2, Some("notASetting")),
        create_event_for(&aws, 3, None, &leaky),
        json!({"Action": "ReadSettings", "RoleArn": ROLE}),
    ];
    let runtime = Server::start(runtime_api(events)).await;

    // Debug level: secrets must stay out of the logs even then.
    let mut child = spawn_bootstrap(env!("CARGO_BIN_EXE_bootstrap"), &runtime, &aws, "debug");

    let answers = aws
        .wait_for(3, Duration::from_secs(20), |r| r.method == "PUT")
        .await;
    let results = runtime
        .wait_for(4, Duration::from_secs(10), |r| r.method == "POST")
        .await;
    child.start_kill().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    let logs = format!("{out}{err}");

    // The success: PUT to the exact URL with an empty Content-Type.
    let ok = &answers[0];
    assert_eq!(
        ok.target,
        format!("/cfn-response/1?X-Amz-Expires=7200&{SIGNATURE}")
    );
    assert_eq!(ok.header("content-type"), Some(""));
    let body = ok.json();
    assert_eq!(body["Status"], "SUCCESS", "{body}\nlogs:\n{logs}");
    assert_eq!(body["RequestId"], "cfn-request-1");
    assert_eq!(body["LogicalResourceId"], "Trunking");
    assert_eq!(
        body["PhysicalResourceId"],
        format!("enitrunk|Role|eu-west-1|awsvpcTrunking|{ROLE}")
    );
    assert_eq!(
        body["Data"],
        json!({"SettingName": "awsvpcTrunking", "Value": "enabled", "PrincipalArn": ROLE})
    );

    // ECS was called as the assumed role, never with a principalArn on the put.
    let ecs: Vec<Request> = aws
        .requests()
        .into_iter()
        .filter(|r| r.header("x-amz-target").is_some())
        .collect();
    let put = ecs
        .iter()
        .find(|r| {
            r.header("x-amz-target")
                .unwrap()
                .ends_with(".PutAccountSetting")
        })
        .expect("a PutAccountSetting call");
    assert_eq!(
        put.json(),
        json!({"name": "awsvpcTrunking", "value": "enabled"})
    );
    for r in &ecs {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth.contains(&format!("Credential={ASSUMED_KEY}/")),
            "ECS not called as the role: {auth}"
        );
    }
    let sts = aws
        .requests()
        .into_iter()
        .find(|r| r.text().contains("Action=AssumeRole"))
        .unwrap();
    assert!(
        sts.text().contains(&format!(
            "RoleArn={}",
            ROLE.replace(':', "%3A").replace('/', "%2F")
        )),
        "{}",
        sts.text()
    );
    assert!(
        sts.header("authorization")
            .unwrap()
            .contains("Credential=ASIAFUNCTIONROLEKEY1/")
    );

    // The failure: ECS's reason reaches CloudFormation.
    let failed = answers[1].json();
    assert_eq!(failed["Status"], "FAILED", "{failed}");
    assert_eq!(
        failed["PhysicalResourceId"],
        "enitrunk|CreateFailed|cfn-request-2"
    );
    let reason = failed["Reason"].as_str().unwrap();
    assert!(
        reason.contains("InvalidParameterException: Invalid account setting name: notASetting"),
        "{reason}"
    );

    // A malformed STS answer fails the resource without repeating the body it came in.
    let leaked = answers[2].json();
    assert_eq!(leaked["Status"], "FAILED", "{leaked}");
    let reason = leaked["Reason"].as_str().unwrap();
    assert!(reason.contains("sts:AssumeRole on"), "{reason}");
    for secret in [ASSUMED_SECRET, ASSUMED_TOKEN] {
        assert!(!reason.contains(secret), "`{secret}` leaked: {reason}");
    }

    // The read action answers the invoker, as the role, after the Create turned it on.
    assert_eq!(
        results[3].target,
        "/2018-06-01/runtime/invocation/invoke-3/response"
    );
    assert_eq!(
        results[3].json(),
        json!({"RoleArn": ROLE, "Region": "eu-west-1", "Settings": {"awsvpcTrunking": "enabled", "containerInsights": "disabled"}})
    );

    // Every invocation returned Ok to the runtime, so Lambda does not retry them.
    assert_eq!(
        results[0].target,
        "/2018-06-01/runtime/invocation/invoke-0/response"
    );
    assert_eq!(
        results[1].target,
        "/2018-06-01/runtime/invocation/invoke-1/response"
    );

    // Structured logs that name the request, and nothing secret.
    assert!(
        logs.contains("\"logical_resource_id\":\"Trunking\""),
        "{logs}"
    );
    assert!(logs.contains("answered CloudFormation"), "{logs}");
    for secret in [
        FUNCTION_SECRET,
        FUNCTION_TOKEN,
        ASSUMED_SECRET,
        ASSUMED_TOKEN,
        "X-Amz-Signature",
        "/cfn-response/",
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` leaked into the logs:\n{logs}"
        );
    }
}
