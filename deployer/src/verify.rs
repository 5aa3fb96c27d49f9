//! Whether trunking took: the effective `awsvpcTrunking` for the stack's instance role, which
//! is what its container instances register with.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::SettingName;
use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;

/// The setting as read back for a principal.
#[derive(Clone, Debug, Serialize)]
pub struct Trunking {
    pub principal_arn: String,
    pub value: String,
}

/// The effective `awsvpcTrunking` for a principal: its own setting, else the account default.
pub async fn effective_trunking(aws: &Aws, principal_arn: &str) -> Result<String, Error> {
    let resp = aws
        .ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .principal_arn(principal_arn)
        .effective_settings(true)
        .send()
        .await
        .map_err(|e| Error::aws(format!("read awsvpcTrunking for {principal_arn}"), &e))?;
    Ok(resp
        .settings
        .unwrap_or_default()
        .into_iter()
        .find_map(|s| s.value)
        .unwrap_or_else(|| "disabled".into()))
}

/// The setting must be `enabled` for the stack's instance role (output `InstanceRoleArn`).
pub async fn instance_role_trunking(
    aws: &Aws,
    stack_name: &str,
    outputs: &BTreeMap<String, String>,
) -> Result<Trunking, Error> {
    let principal = outputs
        .get("InstanceRoleArn")
        .ok_or_else(|| Error::MissingOutput {
            stack: stack_name.to_owned(),
            output: "InstanceRoleArn",
        })?;
    let value = effective_trunking(aws, principal).await?;
    if value != "enabled" {
        return Err(Error::NotVerified {
            stack: stack_name.to_owned(),
            principal: principal.clone(),
            value,
            log_group: outputs
                .get("TrunkingLogGroupName")
                .cloned()
                .unwrap_or_default(),
        });
    }
    Ok(Trunking {
        principal_arn: principal.clone(),
        value,
    })
}
