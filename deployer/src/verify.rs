//! Whether trunking took: the effective `awsvpcTrunking` for the stack's instance role, which
//! is what its container instances register with, read *as the role*.
//!
//! Only the root user or the principal itself may name a `principalArn` in ECS's account-setting
//! calls, so the CLI (a platform engineer, neither) asks the stack's own function, which can
//! assume the role: its read action (`custom_resource_lambda::read`). That needs only
//! `lambda:InvokeFunction` on the function. The stack's side of the comparison is the value the
//! custom resource read back when it ran (output `TrunkingSetting`); a difference is drift.
//!
//! For roles outside enitrunk's stacks there is no function: [`role_setting`] reads with the
//! caller's credentials, which works for the root user and the role itself.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::SettingName;
use aws_sdk_lambda::primitives::Blob;
use custom_resource_lambda::properties::DEFAULT_SETTING_NAME;
use custom_resource_lambda::read::{ReadRequest, ReadResponse};
use serde::Serialize;

use crate::aws::{self, Aws};
use crate::error::Error;

/// The setting as read back for the stack's principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trunking {
    /// The instance role, or the account root when the stack sets the account default.
    pub principal_arn: String,
    /// In force now, read by the function as the role (or, for the account default, as itself).
    pub value: String,
    /// What the custom resource read back when it last ran (output `TrunkingSetting`).
    pub stack_value: Option<String>,
    /// The value now differs from the stack's: changed outside CloudFormation.
    pub drift: bool,
}

impl Trunking {
    pub fn is_account_default(&self) -> bool {
        self.principal_arn.ends_with(":root")
    }
}

/// Reads the setting through the stack's function.
pub async fn read(
    aws: &Aws,
    stack_name: &str,
    outputs: &BTreeMap<String, String>,
) -> Result<Trunking, Error> {
    let output = |name: &'static str| {
        outputs.get(name).ok_or_else(|| Error::MissingOutput {
            stack: stack_name.to_owned(),
            output: name,
        })
    };
    let function = output("TrunkingFunctionName")?;
    // The principal the custom resource changed: the role, or the account root (scope
    // AccountDefault, where the function cannot be the role and reads the default as itself; a
    // stack of the default alone has no role).
    let principal = match outputs.get("TrunkingPrincipalArn") {
        Some(p) => p,
        None => output("InstanceRoleArn")?,
    };
    let account_default = principal.ends_with(":root");
    let role = match account_default {
        true => None,
        false => Some(output("InstanceRoleArn")?.clone()),
    };
    let request = ReadRequest::for_role(role);
    let answer = invoke(aws, function, &request).await?;
    let value = answer
        .settings
        .get(DEFAULT_SETTING_NAME)
        .cloned()
        .unwrap_or_else(|| "disabled".into());
    let stack_value = outputs.get("TrunkingSetting").cloned();
    Ok(Trunking {
        principal_arn: principal.clone(),
        drift: stack_value.as_ref().is_some_and(|s| *s != value),
        value,
        stack_value,
    })
}

/// The setting must be `enabled` now, and must have been when the custom resource ran.
pub async fn instance_role_trunking(
    aws: &Aws,
    stack_name: &str,
    outputs: &BTreeMap<String, String>,
) -> Result<Trunking, Error> {
    let trunking = read(aws, stack_name, outputs).await?;
    let enabled = |v: &str| v == "enabled";
    if !enabled(&trunking.value) || !trunking.stack_value.as_deref().is_some_and(enabled) {
        return Err(Error::NotVerified {
            stack: stack_name.to_owned(),
            principal: trunking.principal_arn,
            value: trunking.value,
            log_group: outputs
                .get("TrunkingLogGroupName")
                .cloned()
                .unwrap_or_default(),
        });
    }
    Ok(trunking)
}

/// Invokes the function's read action and waits for its answer.
async fn invoke(aws: &Aws, function: &str, request: &ReadRequest) -> Result<ReadResponse, Error> {
    let payload = serde_json::to_vec(request).expect("a read request serializes");
    let out = aws
        .lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| Error::aws(format!("invoke {function} to read awsvpcTrunking"), &e))?;
    let body = out.payload.map(Blob::into_inner).unwrap_or_default();
    if out.function_error.is_some() {
        // Lambda's error shape: {"errorType": ..., "errorMessage": ...}.
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(Error::ReadFailed {
            function: function.to_owned(),
            message,
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::ReadFailed {
        function: function.to_owned(),
        message: format!("unexpected answer ({e}); is the function enitrunk's, of this version?"),
    })
}

/// `ROLE` as an ARN: a name is a role of `account`.
pub fn role_arn(aws: &Aws, account: &str, role: &str) -> String {
    match role.starts_with("arn:") {
        true => role.to_owned(),
        false => format!("arn:{}:iam::{account}:role/{role}", aws.partition()),
    }
}

/// The role's effective `awsvpcTrunking`, or why it cannot be read.
pub async fn role_setting(aws: &Aws, role_arn: &str) -> Result<Option<String>, String> {
    let read = aws
        .ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .principal_arn(role_arn)
        .effective_settings(true)
        .send()
        .await;
    match read {
        Ok(r) => Ok(r
            .settings()
            .first()
            .and_then(|s| s.value().map(str::to_owned))),
        // Only the root user and the role itself may name the role here (ECS account settings).
        Err(e) => Err(format!(
            "{}; only the root user or the role itself may read it",
            aws::error_code(&e).unwrap_or("refused")
        )),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/demo-InstanceRole-1";

    fn outputs(principal: &str, stack_value: &str) -> BTreeMap<String, String> {
        [
            ("TrunkingFunctionName", "demo-TrunkingFunction"),
            ("InstanceRoleArn", ROLE),
            ("TrunkingPrincipalArn", principal),
            ("TrunkingSetting", stack_value),
            ("TrunkingLogGroupName", "/demo/log"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    async fn aws_answering(
        expect_role: Option<&'static str>,
        answer: &'static str,
        function_error: bool,
    ) -> Aws {
        let rule = mock!(aws_sdk_lambda::Client::invoke)
            .match_requests(move |r| {
                let sent: ReadRequest =
                    serde_json::from_slice(r.payload().unwrap().as_ref()).unwrap();
                r.function_name() == Some("demo-TrunkingFunction")
                    && sent == ReadRequest::for_role(expect_role.map(str::to_owned))
            })
            .then_output(move || {
                let out = InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new(answer));
                if function_error {
                    out.function_error("Unhandled").build()
                } else {
                    out.build()
                }
            });
        let mut aws = Aws::for_tests().await;
        aws.lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
        aws
    }

    const ENABLED: &str = r#"{"RoleArn": "arn:aws:iam::123456789012:role/demo-InstanceRole-1", "Region": "us-east-1", "Settings": {"awsvpcTrunking": "enabled"}}"#;
    const DISABLED: &str = r#"{"RoleArn": "arn:aws:iam::123456789012:role/demo-InstanceRole-1", "Region": "us-east-1", "Settings": {"awsvpcTrunking": "disabled"}}"#;

    #[tokio::test]
    async fn the_role_is_read_as_the_role_and_matches_the_stack() {
        let aws = aws_answering(Some(ROLE), ENABLED, false).await;
        let t = instance_role_trunking(&aws, "demo", &outputs(ROLE, "enabled"))
            .await
            .unwrap();
        assert_eq!(
            t,
            Trunking {
                principal_arn: ROLE.into(),
                value: "enabled".into(),
                stack_value: Some("enabled".into()),
                drift: false
            }
        );
    }

    #[tokio::test]
    async fn a_setting_changed_outside_the_stack_is_drift() {
        let aws = aws_answering(Some(ROLE), DISABLED, false).await;
        let t = read(&aws, "demo", &outputs(ROLE, "enabled")).await.unwrap();
        assert!(t.drift, "{t:?}");
        let aws = aws_answering(Some(ROLE), DISABLED, false).await;
        let e = instance_role_trunking(&aws, "demo", &outputs(ROLE, "enabled"))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("awsvpcTrunking is `disabled`"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_account_default_is_read_by_the_function_as_itself() {
        let root = "arn:aws:iam::123456789012:root";
        let aws = aws_answering(None, ENABLED, false).await;
        let t = read(&aws, "demo", &outputs(root, "enabled")).await.unwrap();
        assert!(t.is_account_default() && !t.drift, "{t:?}");
    }

    #[tokio::test]
    async fn a_function_error_says_what_the_function_said() {
        let aws = aws_answering(
            Some(ROLE),
            r#"{"errorType": "EniTrunking.ReadFailed", "errorMessage": "cannot assume role x"}"#,
            true,
        )
        .await;
        let e = read(&aws, "demo", &outputs(ROLE, "enabled"))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the function demo-TrunkingFunction could not read awsvpcTrunking as the instance role: cannot assume role x"
        );
    }
}
