//! The incoming CloudFormation request: what identifies it (for logs and the answer) and what it
//! asks for. Parsing is lenient at first, so that even a malformed request gets a FAILED answer
//! whenever it carries somewhere to send one.

use std::fmt;

use aws_lambda_events::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

use crate::error::Error;

/// Every request type CloudFormation sends to custom resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Create => "Create",
            RequestType::Update => "Update",
            RequestType::Delete => "Delete",
        }
    }
}

/// The fields every answer echoes back, plus where to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Meta {
    /// `None` when the request type was missing or unknown.
    pub request_type: Option<RequestType>,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// Present on Update and Delete.
    pub physical_resource_id: Option<String>,
    /// A bearer URL: whoever has it can answer for the resource. Never logged.
    pub response_url: String,
}

// Hand-written so a stray `{:?}` can never print the bearer URL.
impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meta")
            .field("request_type", &self.request_type)
            .field("stack_id", &self.stack_id)
            .field("request_id", &self.request_id)
            .field("logical_resource_id", &self.logical_resource_id)
            .field("physical_resource_id", &self.physical_resource_id)
            .field("response_url", &"<redacted>")
            .finish()
    }
}

/// What the request asks for, with the properties still raw: reading them can fail, and that
/// failure is answered like any other.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Create {
        properties: Value,
    },
    Update {
        properties: Value,
        old_properties: Value,
    },
    Delete {
        properties: Value,
    },
}

impl Meta {
    /// Reads the answering fields straight from the JSON, so a request the typed parse rejects can
    /// still be answered. `None` when there is nowhere to answer.
    pub fn from_json(event: &Value) -> Option<Meta> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        let request_type = match field("RequestType").as_deref() {
            Some("Create") => Some(RequestType::Create),
            Some("Update") => Some(RequestType::Update),
            Some("Delete") => Some(RequestType::Delete),
            _ => None,
        };
        Some(Meta {
            request_type,
            response_url: field("ResponseURL")?,
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_resource_id: field("LogicalResourceId").unwrap_or_default(),
            physical_resource_id: field("PhysicalResourceId"),
        })
    }
}

/// Parses the typed request (the `aws_lambda_events` types are the contract).
pub fn parse(event: Value) -> Result<Action, Error> {
    let request: CloudFormationCustomResourceRequest<Value, Value> =
        serde_json::from_value(event).map_err(|e| Error::Request(e.to_string()))?;
    Ok(match request {
        CloudFormationCustomResourceRequest::Create(r) => Action::Create {
            properties: r.resource_properties,
        },
        CloudFormationCustomResourceRequest::Update(r) => Action::Update {
            properties: r.resource_properties,
            old_properties: r.old_resource_properties,
        },
        CloudFormationCustomResourceRequest::Delete(r) => Action::Delete {
            properties: r.resource_properties,
        },
        _ => return Err(Error::Request("unknown RequestType".into())),
    })
}

/// `arn:<partition>:iam::<account>:root` of the stack's account: the principal of the account
/// default, derived without an AWS call.
pub fn account_root(stack_id: &str) -> Result<String, Error> {
    let parts: Vec<&str> = stack_id.split(':').collect();
    match parts[..] {
        ["arn", partition, "cloudformation", _, account, ..] if !account.is_empty() => {
            Ok(format!("arn:{partition}:iam::{account}:root"))
        }
        _ => Err(Error::Request(format!(
            "StackId `{stack_id}` is not a CloudFormation stack ARN"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = include_str!("../fixtures/example-create-request.json");
    const UPDATE: &str = include_str!("../fixtures/example-update-request.json");
    const DELETE: &str = include_str!("../fixtures/example-delete-request.json");

    #[test]
    fn fixtures_parse_as_their_request_type() {
        for (raw, want) in [
            (CREATE, RequestType::Create),
            (UPDATE, RequestType::Update),
            (DELETE, RequestType::Delete),
        ] {
            let v: Value = serde_json::from_str(raw).unwrap();
            let meta = Meta::from_json(&v).unwrap();
            assert_eq!(meta.request_type, Some(want));
            let action = parse(v).unwrap();
            let got = match action {
                Action::Create { .. } => RequestType::Create,
                Action::Update { .. } => RequestType::Update,
                Action::Delete { .. } => RequestType::Delete,
            };
            assert_eq!(got, want);
        }
    }

    #[test]
    fn meta_debug_hides_the_response_url() {
        let v: Value = serde_json::from_str(CREATE).unwrap();
        let meta = Meta::from_json(&v).unwrap();
        let printed = format!("{meta:?}");
        assert!(!printed.contains("X-Amz-Signature"), "{printed}");
        assert!(!printed.contains(&meta.response_url), "{printed}");
    }

    #[test]
    fn a_request_without_response_url_cannot_be_answered() {
        let v = serde_json::json!({"RequestType": "Create", "StackId": "x"});
        assert!(Meta::from_json(&v).is_none());
    }

    #[test]
    fn account_root_comes_from_the_stack_arn() {
        let id = "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/demo/1f2e";
        assert_eq!(
            account_root(id).unwrap(),
            "arn:aws-us-gov:iam::123456789012:root"
        );
        assert!(account_root("demo").is_err());
    }
}
