//! Lambda's side of the wire for the `bootstrap` binary: the Runtime API, STS and ECS fakes, and
//! a way to start the binary with the environment Lambda gives it.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{Reply, Request, Server};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/demo-InstanceRole-1A2B3C4D5E6F";
pub const FUNCTION_SECRET: &str = "function-secret-key-MUST-NOT-BE-LOGGED";
pub const FUNCTION_TOKEN: &str = "function-session-token-MUST-NOT-BE-LOGGED";
pub const ASSUMED_KEY: &str = "ASIAASSUMEDINSTANCE1";
pub const ASSUMED_SECRET: &str = "assumed-secret-MUST-NOT-BE-LOGGED";
pub const ASSUMED_TOKEN: &str = "assumed-session-token-MUST-NOT-BE-LOGGED";
/// A role whose `AssumeRole` answer is malformed.
pub const LEAKY_ROLE_NAME: &str = "leaky-InstanceRole";
pub const SIGNATURE: &str = "X-Amz-Signature=5ca1ab1e5ca1ab1e";

/// STS and ECS as the wire protocols have them (awsQuery XML, awsJson 1.1), with settings kept
/// per principal so the read-back only sees what the put stored.
pub fn fake_aws() -> impl Fn(&Request) -> Reply + Send + Sync {
    let settings: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    move |r: &Request| {
        if r.method == "PUT" {
            return Reply::status(200); // the ResponseURL
        }
        if let Some(target) = r.header("x-amz-target") {
            let op = target.rsplit('.').next().unwrap_or_default();
            let body = r.json();
            if op == "ListAccountSettings" && body.get("name").is_none() {
                // The read action: every effective setting of the caller.
                let value = settings.lock().unwrap().last().map(|(_, v)| v.clone());
                let reply = json!({"settings": [
                    {"name": "awsvpcTrunking", "value": value.unwrap_or_else(|| "disabled".into()), "principalArn": ROLE, "type": "user"},
                    {"name": "containerInsights", "value": "disabled", "principalArn": ROLE, "type": "aws_managed"},
                ]});
                return Reply::with(
                    200,
                    &[("content-type", "application/x-amz-json-1.1")],
                    reply.to_string(),
                );
            }
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            if name != "awsvpcTrunking" {
                return Reply::with(
                    400,
                    &[("content-type", "application/x-amz-json-1.1")],
                    json!({"__type": "InvalidParameterException", "message": format!("Invalid account setting name: {name}")}).to_string(),
                );
            }
            let reply = match op {
                "PutAccountSetting" => {
                    let value = body["value"].as_str().unwrap_or_default().to_owned();
                    settings.lock().unwrap().push((name.clone(), value.clone()));
                    json!({"setting": {"name": name, "value": value, "principalArn": ROLE}})
                }
                "ListAccountSettings" => {
                    let value = settings.lock().unwrap().last().map(|(_, v)| v.clone());
                    let value = value.unwrap_or_else(|| "disabled".into());
                    json!({"settings": [{"name": name, "value": value, "principalArn": body["principalArn"], "type": "user"}]})
                }
                other => panic!("unexpected ECS operation {other}"),
            };
            return Reply::with(
                200,
                &[("content-type", "application/x-amz-json-1.1")],
                reply.to_string(),
            );
        }
        let form = r.text();
        assert!(
            form.contains("Action=AssumeRole"),
            "unexpected request {r:?}"
        );
        if form.contains(LEAKY_ROLE_NAME) {
            // A 200 that does not parse, credentials in it: its body must never be repeated.
            let xml = format!(
                "<AssumeRoleResponse><AssumeRoleResult><Credentials><SecretAccessKey>{ASSUMED_SECRET}</SecretAccessKey><SessionToken>{ASSUMED_TOKEN}</SessionToken><Expiration>soon"
            );
            return Reply::with(200, &[("content-type", "text/xml")], xml);
        }
        let xml = format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>{ASSUMED_KEY}</AccessKeyId><SecretAccessKey>{ASSUMED_SECRET}</SecretAccessKey><SessionToken>{ASSUMED_TOKEN}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo-InstanceRole-1A2B3C4D5E6F/enitrunk-custom-resource</Arn><AssumedRoleId>AROAEXAMPLE:enitrunk-custom-resource</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>sts-1</RequestId></ResponseMetadata></AssumeRoleResponse>"#
        );
        Reply::with(200, &[("content-type", "text/xml")], xml)
    }
}

/// The Lambda Runtime API: hands out `events` in order, then holds the next poll open.
pub fn runtime_api(events: Vec<Value>) -> impl Fn(&Request) -> Reply + Send + Sync {
    let next = AtomicUsize::new(0);
    move |r: &Request| {
        if r.method == "GET" && r.target == "/2018-06-01/runtime/invocation/next" {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(event) = events.get(i) else {
                return Reply::Hang;
            };
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
            let request_id = format!("invoke-{i}");
            let deadline_ms = deadline.as_millis().to_string();
            return Reply::with(
                200,
                &[
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", &request_id),
                    ("lambda-runtime-deadline-ms", &deadline_ms),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:eu-west-1:123456789012:function:demo-EniTrunkingFunction",
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-00000000-000000000000000000000000",
                    ),
                ],
                event.to_string(),
            );
        }
        if r.method == "POST" {
            return Reply::status(202);
        }
        panic!("unexpected runtime API request {r:?}")
    }
}

pub fn create_event(aws: &Server, n: u32, setting_name: Option<&str>) -> Value {
    create_event_for(aws, n, setting_name, ROLE)
}

pub fn create_event_for(aws: &Server, n: u32, setting_name: Option<&str>, role: &str) -> Value {
    let mut e: Value =
        serde_json::from_str(include_str!("../../fixtures/example-create-request.json")).unwrap();
    e["ResponseURL"] = json!(format!(
        "{}/cfn-response/{n}?X-Amz-Expires=7200&{SIGNATURE}",
        aws.url()
    ));
    e["RequestId"] = json!(format!("cfn-request-{n}"));
    if let Some(name) = setting_name {
        e["ResourceProperties"]["SettingName"] = json!(name);
    }
    e["ResourceProperties"]["RoleArn"] = json!(role);
    e
}

/// Starts `bootstrap` as Lambda would, polling `runtime` and reaching AWS at `aws`.
pub fn spawn_bootstrap(
    binary: &str,
    runtime: &Server,
    aws: &Server,
    log_level: &str,
) -> tokio::process::Child {
    tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "demo-EniTrunkingFunction")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/demo")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]abc")
        .env("AWS_LAMBDA_LOG_LEVEL", log_level)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "ASIAFUNCTIONROLEKEY1")
        .env("AWS_SECRET_ACCESS_KEY", FUNCTION_SECRET)
        .env("AWS_SESSION_TOKEN", FUNCTION_TOKEN)
        .env("AWS_ENDPOINT_URL", aws.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the bootstrap binary starts")
}
