//! The statement `enitrunk enable` adds to an existing instance role's trust policy, and taking it
//! out again. CloudFormation cannot change the trust policy of a role it does not own, so enitrunk
//! does it with IAM, and keeps the document as it was in the stack, to put back byte for byte.
//!
//! The statement trusts the account and narrows it with conditions to the function's role (by
//! ARN, `aws:PrincipalArn`) in its session (`sts:RoleSessionName`). The account is the principal,
//! rather than the function's role itself, because IAM refuses a trust policy naming a role that
//! does not exist yet, and the role is created by the stack after the statement is in place; with
//! an account principal the function's role also needs `sts:AssumeRole` on the role in its own
//! policy, which the stack gives it.

use custom_resource_lambda::aws::SESSION_NAME;
use serde_json::{Value, json};

use crate::aws::Aws;
use crate::error::Error;

/// The statement's id: how enitrunk finds it again.
pub const SID: &str = "EnitrunkTrunkingFunction";

pub fn statement(partition: &str, account: &str, function_role_arn: &str) -> Value {
    json!({
        "Sid": SID,
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": function_role_arn},
            "StringEquals": {"sts:RoleSessionName": SESSION_NAME},
        }
    })
}

/// A policy document as IAM's API returns it (URL-encoded, RFC 3986) as text.
pub fn decode(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

fn parse(role: &str, text: &str) -> Result<Value, Error> {
    let doc: Value = serde_json::from_str(text).map_err(|e| Error::TrustPolicy {
        role: role.to_owned(),
        why: format!("it is not JSON ({e})"),
    })?;
    if !doc.is_object() {
        return Err(Error::TrustPolicy {
            role: role.to_owned(),
            why: "it is not a JSON object".into(),
        });
    }
    Ok(doc)
}

/// The document's statements as a list (IAM allows one statement without the list).
fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn is_ours(statement: &Value) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(SID)
}

/// What adding the statement does to a trust policy.
#[derive(Debug, PartialEq)]
pub enum Added {
    /// The statement is there as it should be: nothing to change.
    Present,
    /// The new document (an older statement of enitrunk's replaced, if there was one).
    Changed(String),
}

pub fn with_statement(role: &str, current: &str, statement: &Value) -> Result<Added, Error> {
    let mut doc = parse(role, current)?;
    let mut list = statements(&doc);
    if list.iter().any(|s| s == statement) {
        return Ok(Added::Present);
    }
    list.retain(|s| !is_ours(s));
    list.push(statement.clone());
    doc["Statement"] = Value::Array(list);
    Ok(Added::Changed(
        serde_json::to_string(&doc).expect("JSON serializes"),
    ))
}

/// What taking the statement out does.
#[derive(Debug, PartialEq)]
pub enum Removed {
    /// The rest is the document as it was before `enable`: that text, exactly.
    Original(String),
    /// The document was changed since `enable`: the rest, without enitrunk's statement.
    Rest(String),
    /// There is no statement of enitrunk's: nothing to change.
    Absent,
}

pub fn without_statement(role: &str, current: &str, original: &str) -> Result<Removed, Error> {
    let mut doc = parse(role, current)?;
    let list = statements(&doc);
    if !list.iter().any(is_ours) {
        return Ok(Removed::Absent);
    }
    let rest: Vec<Value> = list.into_iter().filter(|s| !is_ours(s)).collect();
    // The same document apart from the statement list, and the same statements: the original.
    if let Ok(before) = parse(role, original) {
        let mut same = doc.clone();
        same["Statement"] = Value::Array(rest.clone());
        let mut was = before.clone();
        was["Statement"] = Value::Array(statements(&before));
        if same == was {
            return Ok(Removed::Original(original.to_owned()));
        }
    }
    doc["Statement"] = Value::Array(rest);
    Ok(Removed::Rest(
        serde_json::to_string(&doc).expect("JSON serializes"),
    ))
}

/// The role as IAM has it.
pub struct ExistingRole {
    pub name: String,
    pub arn: String,
    /// The trust policy's text, decoded.
    pub trust: String,
}

pub async fn existing_role(aws: &Aws, role: &str) -> Result<ExistingRole, Error> {
    // An ARN's last segment is the name; a path sits between `role/` and it.
    let name = role.rsplit('/').next().unwrap_or(role);
    let got = aws.iam.get_role().role_name(name).send().await;
    let got = match got {
        Ok(g) => g,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            return Err(Error::NoRole(role.to_owned()));
        }
        Err(e) => return Err(Error::aws(format!("read role {name} (iam:GetRole)"), &e)),
    };
    let r = got.role().ok_or_else(|| Error::NoRole(role.to_owned()))?;
    Ok(ExistingRole {
        name: r.role_name().to_owned(),
        arn: r.arn().to_owned(),
        trust: decode(r.assume_role_policy_document().unwrap_or_default()),
    })
}

pub async fn set_trust(aws: &Aws, role: &str, document: &str) -> Result<(), Error> {
    aws.iam
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(document)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::aws(
                format!("change the trust policy of role {role} (iam:UpdateAssumeRolePolicy)"),
                &e,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECS_INSTANCE_ROLE: &str = r#"{
  "Version": "2008-10-17",
  "Statement": [
    {
      "Sid": "",
      "Effect": "Allow",
      "Principal": { "Service": "ec2.amazonaws.com" },
      "Action": "sts:AssumeRole"
    }
  ]
}"#;

    fn ours() -> Value {
        statement(
            "aws",
            "111111111111",
            "arn:aws:iam::111111111111:role/enitrunk-role-ecsInstanceRole-fn",
        )
    }

    #[test]
    fn the_statement_trusts_only_the_functions_role_in_its_session() {
        let s = ours();
        assert_eq!(s["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
        assert_eq!(
            s["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            "arn:aws:iam::111111111111:role/enitrunk-role-ecsInstanceRole-fn"
        );
        assert_eq!(
            s["Condition"]["StringEquals"]["sts:RoleSessionName"],
            SESSION_NAME
        );
    }

    #[test]
    fn added_then_removed_gives_back_the_original_text_exactly() {
        let Added::Changed(with) = with_statement("r", ECS_INSTANCE_ROLE, &ours()).unwrap() else {
            panic!("nothing added");
        };
        let doc: Value = serde_json::from_str(&with).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(doc["Version"], "2008-10-17");
        assert_eq!(
            with_statement("r", &with, &ours()).unwrap(),
            Added::Present,
            "a second enable changes nothing"
        );
        assert_eq!(
            without_statement("r", &with, ECS_INSTANCE_ROLE).unwrap(),
            Removed::Original(ECS_INSTANCE_ROLE.to_owned())
        );
        assert_eq!(
            without_statement("r", ECS_INSTANCE_ROLE, ECS_INSTANCE_ROLE).unwrap(),
            Removed::Absent
        );
    }

    #[test]
    fn a_single_statement_without_a_list_is_kept_as_the_user_wrote_it() {
        let single = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        let Added::Changed(with) = with_statement("r", single, &ours()).unwrap() else {
            panic!("nothing added");
        };
        assert_eq!(
            without_statement("r", &with, single).unwrap(),
            Removed::Original(single.to_owned())
        );
    }

    #[test]
    fn a_change_made_since_enable_is_kept_and_only_the_statement_goes() {
        let Added::Changed(with) = with_statement("r", ECS_INSTANCE_ROLE, &ours()).unwrap() else {
            panic!("nothing added");
        };
        let mut doc: Value = serde_json::from_str(&with).unwrap();
        doc["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }));
        let changed = doc.to_string();
        let Removed::Rest(rest) = without_statement("r", &changed, ECS_INSTANCE_ROLE).unwrap()
        else {
            panic!("expected the rest");
        };
        let rest: Value = serde_json::from_str(&rest).unwrap();
        let principals: Vec<&Value> = rest["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["Principal"]["Service"])
            .collect();
        assert_eq!(
            principals,
            [
                &json!("ec2.amazonaws.com"),
                &json!("ecs-tasks.amazonaws.com")
            ]
        );
    }

    #[test]
    fn iam_url_encoded_documents_are_decoded_and_others_refused_with_the_role() {
        assert_eq!(
            decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(decode(ECS_INSTANCE_ROLE), ECS_INSTANCE_ROLE);
        let err = with_statement("ecsInstanceRole", "[1]", &ours()).unwrap_err();
        assert!(err.to_string().contains("ecsInstanceRole"), "{err}");
    }
}
