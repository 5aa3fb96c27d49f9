//! `enitrunk destroy`: delete the stack and wait for it, following its events. A stack of
//! `enitrunk enable --role` also gets its role's trust policy back as it was.

use std::fmt;

use clap::Args;
use serde::Serialize;

use crate::aws::{Aws, RemoteArgs, Session};
use crate::config::Spec;
use crate::error::Error;
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::render::trunking::ORIGINAL_TRUST_POLICY;
use crate::stack;
use crate::trust::{self, Removed};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Delete without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    /// deleted, or absent when there was no stack
    pub result: &'static str,
    /// For a stack of `enable --role`: what became of the role's trust policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<TrustPolicy>,
}

#[derive(Debug, Serialize)]
pub struct TrustPolicy {
    pub role: String,
    /// `restored` (the document from before `enable`, exactly), `statement removed` (it was
    /// changed since: only enitrunk's statement went), or `no statement`.
    pub result: &'static str,
}

impl fmt::Display for DestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result {
            "absent" => writeln!(
                f,
                "stack {}: does not exist, nothing to delete",
                self.stack_name
            ),
            _ => writeln!(f, "stack {}: deleted", self.stack_name),
        }?;
        match &self.trust_policy {
            Some(t) => match t.result {
                "restored" => writeln!(
                    f,
                    "role {}: trust policy restored as it was before enable",
                    t.role
                ),
                "statement removed" => writeln!(
                    f,
                    "role {}: statement {} removed from its trust policy; the rest, changed since enable, kept",
                    t.role,
                    trust::SID
                ),
                _ => writeln!(
                    f,
                    "role {}: its trust policy has no statement of enitrunk's",
                    t.role
                ),
            },
            None => Ok(()),
        }
    }
}

pub async fn run(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &DestroyArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<DestroyReport, Error> {
    let Session {
        aws, stack_name, ..
    } = Session::existing(spec, remote).await?;
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(DestroyReport {
            stack_name,
            result: "absent",
            trust_policy: None,
        });
    };
    // Only a stack of `enable` keeps the trust policy from before: (role, that document).
    let restore = info
        .outputs
        .get("InstanceRoleName")
        .zip(info.outputs.get(ORIGINAL_TRUST_POLICY))
        .map(|(role, original)| (role.clone(), original.clone()));
    let question = match &restore {
        Some((r, _)) => format!(
            "delete stack {stack_name} and everything in it, and put role {r}'s trust policy back as it was?"
        ),
        None => format!("delete stack {stack_name} and everything in it?"),
    };
    if !args.yes && !prompt.confirm(&question, "destroy").await? {
        return Err(Error::NeedsYes("destroy (answered no)"));
    }
    stack::delete(&aws.cfn, &info, progress).await?;
    let trust_policy = match restore {
        Some((role, original)) => Some(restore_trust(&aws, role, &original).await?),
        None => None,
    };
    Ok(DestroyReport {
        stack_name,
        result: "deleted",
        trust_policy,
    })
}

/// After the stack (and the custom resource's Delete, which still needed the statement).
async fn restore_trust(aws: &Aws, role: String, original: &str) -> Result<TrustPolicy, Error> {
    let current = trust::existing_role(aws, &role).await?.trust;
    let result = match trust::without_statement(&role, &current, original)? {
        Removed::Original(text) => {
            trust::set_trust(aws, &role, &text).await?;
            "restored"
        }
        Removed::Rest(text) => {
            trust::set_trust(aws, &role, &text).await?;
            "statement removed"
        }
        Removed::Absent => "no statement",
    };
    Ok(TrustPolicy { role, result })
}
