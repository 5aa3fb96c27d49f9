//! The read action: a direct invocation, not a CloudFormation event, that returns the effective
//! ECS account settings of the container-instance role, read as that role.
//!
//! Only the root user or the principal itself may name a `principalArn` in `ListAccountSettings`,
//! so nobody else can read a role's own setting. The function can be the role (its role may
//! assume it), so `enitrunk deploy` and `status` ask it, and need only `lambda:InvokeFunction`.
//!
//! Request (`fixtures/example-read-request.json`):
//! `{"Action": "ReadSettings", "RoleArn": "arn:aws:iam::123456789012:role/ecs-instance"}`,
//! with an optional `Region` (default: the function's). Without `RoleArn` the function reads as
//! itself: its role has no settings of its own, so that is the account default (scope
//! `AccountDefault`). Answer: `{"RoleArn": ..., "Region": ..., "Settings": {"awsvpcTrunking":
//! "enabled", ...}}`; a failure is a function error whose message says what failed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

pub const ACTION: &str = "ReadSettings";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ReadRequest {
    /// Always `ReadSettings`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadResponse {
    /// The role read as; `None`: the function's own role (the account defaults).
    pub role_arn: Option<String>,
    pub region: String,
    /// Effective value of every setting, by name.
    pub settings: BTreeMap<String, String>,
}

impl ReadRequest {
    pub fn for_role(role_arn: Option<String>) -> ReadRequest {
        ReadRequest {
            action: ACTION.to_owned(),
            role_arn,
            region: None,
        }
    }

    /// `None` when the event is not a read request at all; an error when it is one, malformed.
    pub fn from_json(event: &Value) -> Option<Result<ReadRequest, Error>> {
        if event.get("Action").and_then(Value::as_str) != Some(ACTION) {
            return None;
        }
        Some(
            serde_json::from_value(event.clone())
                .map_err(|e| Error::Request(format!("{ACTION} request: {e}"))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/example-read-request.json");

    #[test]
    fn the_fixture_is_a_read_request_and_round_trips() {
        let v: Value = serde_json::from_str(FIXTURE).unwrap();
        let r = ReadRequest::from_json(&v).unwrap().unwrap();
        assert_eq!(
            r.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/demo-InstanceRole-1A2B3C4D5E6F")
        );
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn a_cloudformation_event_is_not_a_read_request() {
        let v: Value =
            serde_json::from_str(include_str!("../fixtures/example-create-request.json")).unwrap();
        assert!(ReadRequest::from_json(&v).is_none());
    }

    #[test]
    fn unknown_fields_are_named() {
        let v = serde_json::json!({"Action": "ReadSettings", "Rolearn": "x"});
        let e = ReadRequest::from_json(&v).unwrap().unwrap_err();
        assert!(e.to_string().contains("unknown field `Rolearn`"), "{e}");
    }
}
