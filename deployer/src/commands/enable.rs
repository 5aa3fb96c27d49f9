//! `enitrunk enable --role NAME`: trunking for an instance role enitrunk did not create. The
//! setting must be changed by the role itself, so the function must be able to assume it: enitrunk
//! shows the statement it adds to the role's trust policy, asks, adds it with IAM, then deploys
//! `existing-role.yaml` (the function, the custom resource for that role, and the role's
//! account-setting permission as a policy attached to it). `enitrunk disable --role NAME` (or
//! `destroy` of that stack) deletes the stack and puts the trust policy back as it was.
//!
//! `--scope account-default` turns the account default on instead (`account-default.yaml`), with
//! no role to change: it covers every principal of the account, in the region, that has no
//! setting of its own.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws::{self, Aws, RemoteArgs};
use crate::commands::deploy::{self, DeployArgs, DeployReport, Deployment, Which};
use crate::commands::destroy::{self, DestroyArgs, DestroyReport};
use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::render::{self, trunking};
use crate::stack;
use crate::trust::{self, Added};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EnableScope {
    /// The role's own setting, changed as the role (needs --role)
    Role,
    /// The account default in the region: every principal without a setting of its own
    AccountDefault,
}

/// Whose setting: a role, or the account default. Shared by `enable` and `disable`, which find
/// the stack from it.
#[derive(Debug, Args)]
pub struct Whose {
    /// The existing container-instance role (name or ARN)
    #[arg(
        long,
        value_name = "ROLE",
        required_unless_present = "scope",
        required_if_eq("scope", "role")
    )]
    pub role: Option<String>,
    /// Whose setting [default: role]
    #[arg(long, value_enum)]
    pub scope: Option<EnableScope>,
}

impl Whose {
    /// The role's name, or none for the account default.
    fn role_name(&self) -> Option<&str> {
        match (self.scope, &self.role) {
            (None | Some(EnableScope::Role), Some(role)) => {
                Some(role.rsplit('/').next().unwrap_or(role))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub whose: Whose,
    /// Change the trust policy and execute the change set without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Use this built `bootstrap` instead of building it with cargo
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Put the function's code into this existing bucket of yours [default: as `deploy`]
    #[arg(long, value_name = "NAME", value_parser = deploy::bucket_name_arg)]
    pub artifact_bucket: Option<String>,
}

#[derive(Debug, Args)]
pub struct DisableArgs {
    #[command(flatten)]
    pub whose: Whose,
    /// Delete the stack and restore the trust policy without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
pub struct EnableReport {
    /// None with `--scope account-default`.
    pub role_arn: Option<String>,
    /// `added`, or `present` when an earlier `enable` added it; none for the account default.
    pub trust_statement: Option<&'static str>,
    pub deploy: DeployReport,
}

impl fmt::Display for EnableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(role), Some(trust)) = (&self.role_arn, self.trust_statement) {
            writeln!(f, "role {role}: trust statement {} {trust}", trust::SID)?;
        }
        write!(f, "{}", self.deploy)?;
        match &self.role_arn {
            Some(role) => writeln!(
                f,
                "instances already running keep no trunk: `enitrunk roll --asg GROUP --cluster CLUSTER --role {role}` replaces them"
            ),
            None => writeln!(
                f,
                "the account default covers every IAM user and role of the account in {} that has no awsvpcTrunking of its own (a principal's own setting wins); instances already running keep no trunk: `enitrunk roll --asg GROUP --cluster CLUSTER` replaces them",
                self.deploy.region
            ),
        }
    }
}

/// The stack of `enable --role NAME` when `--stack-name` does not say: one per role.
pub fn default_stack_name(role_name: &str) -> String {
    let safe: String = role_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("enitrunk-role-{safe}")
}

/// The function's role is named before the stack exists, as the trust statement names it:
/// derived from the stack's name, within IAM's 64 characters.
pub fn function_role_name(stack_name: &str) -> String {
    let plain = format!("{stack_name}-fn");
    if plain.len() <= 64 {
        return plain;
    }
    let hash = Sha256::digest(stack_name.as_bytes());
    let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{short}-fn", &stack_name[..52])
}

/// The stack of `enable --scope account-default` when `--stack-name` does not say.
pub const ACCOUNT_DEFAULT_STACK: &str = "enitrunk-account-default";

fn stack_name(remote: &RemoteArgs, role_name: Option<&str>) -> String {
    remote
        .stack_name
        .clone()
        .unwrap_or_else(|| match role_name {
            Some(role) => default_stack_name(role),
            None => ACCOUNT_DEFAULT_STACK.to_owned(),
        })
}

pub async fn run(
    spec: &Spec,
    origin: &Origin,
    remote: &RemoteArgs,
    args: &EnableArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<EnableReport, Error> {
    if args.whose.scope == Some(EnableScope::AccountDefault) && args.whose.role.is_some() {
        return Err(Error::Usage(
            "--scope account-default changes no role: leave --role out, or use --scope role",
        ));
    }
    // Everything offline first: a bad config changes nothing, not even the trust policy.
    crate::validate::validate(spec, origin)?;
    if let Some(path) = &args.bootstrap {
        std::fs::metadata(path).map_err(Error::io("read", path))?;
    }
    if remote.local {
        crate::localstack::ensure_running(progress)?;
    }
    let (stack, deployment, trusted) = match (args.whose.role_name(), &args.whose.role) {
        (Some(_), Some(role)) => {
            let (deployment, trusted) =
                trust_role(spec, remote, args, role, progress, prompt).await?;
            (trusted.stack_name.clone(), deployment, Some(trusted))
        }
        _ => (
            stack_name(remote, None),
            Deployment {
                file: &render::ACCOUNT_DEFAULT,
                parameters: Vec::new(),
            },
            None,
        ),
    };
    let deploy_args = DeployArgs {
        // A question about the trust change was about this deploy too; with the statement there
        // already, nothing was asked yet.
        yes: args.yes
            || trusted
                .as_ref()
                .is_some_and(|t| matches!(t.added, Added::Changed(_))),
        template: Which::EniTrunking,
        bootstrap: args.bootstrap.clone(),
        artifact_bucket: args.artifact_bucket.clone(),
        wait: 0,
        no_wait: true,
    };
    let mut remote = remote.clone();
    remote.stack_name = Some(stack);
    let deployed = deploy::run_with(
        spec,
        origin,
        &remote,
        &deploy_args,
        deployment,
        progress,
        prompt,
    )
    .await;
    let Some(Trusted {
        aws, role, added, ..
    }) = trusted
    else {
        return Ok(EnableReport {
            role_arn: None,
            trust_statement: None,
            deploy: deployed?,
        });
    };
    match (deployed, added) {
        (Ok(deploy), added) => Ok(EnableReport {
            role_arn: Some(role.arn),
            trust_statement: Some(match added {
                Added::Present => "present",
                Added::Changed(_) => "added",
            }),
            deploy,
        }),
        // The statement trusts a role that the failed stack took away again: take it out too.
        (Err(e), Added::Changed(_)) => {
            progress.line(&format!(
                "the deploy failed: putting the trust policy of {} back as it was",
                role.name
            ));
            if let Err(undo) = trust::set_trust(&aws, &role.name, &role.trust).await {
                progress.line(&format!(
                    "could not put it back ({undo}); `enitrunk disable --role {}` does",
                    role.name
                ));
            }
            Err(e)
        }
        (Err(e), Added::Present) => Err(e),
    }
}

/// The role, and what its trust policy became.
struct Trusted {
    aws: Aws,
    role: trust::ExistingRole,
    stack_name: String,
    added: Added,
}

/// Shows the statement, asks, and adds it to the role's trust policy; returns the stack to deploy
/// for the role.
async fn trust_role(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &EnableArgs,
    role: &str,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<(Deployment, Trusted), Error> {
    let aws = Aws::connect(remote, spec.region.as_deref()).await?;
    let account = aws::account_id(&aws).await?;
    let role = trust::existing_role(&aws, role).await?;
    let stack_name = stack_name(remote, Some(&role.name));
    let function_role = function_role_name(&stack_name);
    let function_role_arn = format!(
        "arn:{}:iam::{account}:role/{function_role}",
        aws.partition()
    );
    // Again after an earlier enable: the document from before that one is what disable restores.
    let original = match stack::describe(&aws.cfn, &stack_name).await? {
        Some(info) => info
            .outputs
            .get(trunking::ORIGINAL_TRUST_POLICY)
            .cloned()
            .unwrap_or_else(|| role.trust.clone()),
        None => role.trust.clone(),
    };
    let statement = trust::statement(aws.partition(), &account, &function_role_arn);
    let added = trust::with_statement(&role.name, &role.trust, &statement)?;
    if let Added::Changed(document) = &added {
        progress.line(&format!(
            "the trust policy of role {} gets this statement, so that the function's role {function_role} (and nothing else), in its session {}, may assume it:\n{}",
            role.arn,
            custom_resource_lambda::aws::SESSION_NAME,
            serde_json::to_string_pretty(&statement).expect("JSON serializes")
        ));
        let question = format!(
            "add it to {}'s trust policy and deploy stack {stack_name}?",
            role.name
        );
        if !args.yes && !prompt.confirm(&question, "enable").await? {
            return Err(Error::NeedsYes("enable (answered no)"));
        }
        trust::set_trust(&aws, &role.name, document).await?;
        progress.line(&format!(
            "added statement {} to the trust policy of {}",
            trust::SID,
            role.name
        ));
    }
    let deployment = Deployment {
        file: &render::EXISTING_ROLE,
        parameters: vec![
            (trunking::ROLE_NAME, role.name.clone()),
            (trunking::ROLE_ARN, role.arn.clone()),
            (trunking::FUNCTION_ROLE_NAME, function_role),
            (trunking::ORIGINAL_TRUST_POLICY, original),
        ],
    };
    Ok((
        deployment,
        Trusted {
            aws,
            role,
            stack_name,
            added,
        },
    ))
}

/// `disable --role NAME`: `destroy` of the role's stack, which restores the trust policy.
pub async fn disable(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &DisableArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<DestroyReport, Error> {
    let mut remote = remote.clone();
    remote.stack_name = Some(stack_name(&remote, args.whose.role_name()));
    destroy::run(
        spec,
        &remote,
        &DestroyArgs { yes: args.yes },
        progress,
        prompt,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_and_function_role_names_follow_the_role_within_their_limits() {
        assert_eq!(
            default_stack_name("ecsInstanceRole"),
            "enitrunk-role-ecsInstanceRole"
        );
        assert_eq!(default_stack_name("a.b@c_d"), "enitrunk-role-a-b-c-d");
        let name = function_role_name(&default_stack_name("ecsInstanceRole"));
        assert_eq!(name, "enitrunk-role-ecsInstanceRole-fn");
        let long = default_stack_name(&"r".repeat(64));
        let name = function_role_name(&long);
        assert_eq!(name.len(), 64, "{name}");
        assert_ne!(name, function_role_name(&format!("{long}x")));
        crate::config::check_stack_name(&long).unwrap();
    }
}
