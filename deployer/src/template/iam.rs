//! `AWS::IAM::Role`, `AWS::IAM::InstanceProfile`, `AWS::IAM::Policy` and policy documents.

use indexmap::IndexMap;
use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub assume_role_policy_document: PolicyDocument,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceProfile {
    pub roles: Vec<Expr>,
}

/// A policy attached to roles as its own resource: lets a role's permissions name a resource
/// that itself refers to the role, which inline `Policies` would make a circular dependency.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
    pub roles: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: "2012-10-17",
            statement,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Expr>,
    /// operator → condition key → values
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub condition: IndexMap<String, IndexMap<String, Expr>>,
}

impl Statement {
    pub fn allow(actions: &[&str]) -> Statement {
        Statement {
            sid: None,
            effect: "Allow",
            principal: None,
            action: actions.iter().map(|a| (*a).to_owned()).collect(),
            resource: None,
            condition: IndexMap::new(),
        }
    }

    pub fn sid(mut self, sid: &str) -> Statement {
        self.sid = Some(sid.into());
        self
    }

    pub fn principal(mut self, principal: Principal) -> Statement {
        self.principal = Some(principal);
        self
    }

    pub fn resource(mut self, resource: impl Into<Expr>) -> Statement {
        self.resource = Some(resource.into());
        self
    }

    pub fn condition(mut self, operator: &str, key: &str, value: impl Into<Expr>) -> Statement {
        self.condition
            .entry(operator.to_owned())
            .or_default()
            .insert(key.to_owned(), value.into());
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Principal {
    #[serde(rename = "Service", skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<String>,
    #[serde(rename = "AWS", skip_serializing_if = "Vec::is_empty")]
    pub aws: Vec<Expr>,
}

impl Principal {
    pub fn service(name: &str) -> Principal {
        Principal {
            service: vec![name.to_owned()],
            aws: Vec::new(),
        }
    }
}
