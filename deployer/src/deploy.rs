//! `enitrunk deploy` and `enitrunk destroy`: from a validated spec to a stack whose instance role
//! has `awsvpcTrunking` effective, and back.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use aws_sdk_ecs::types::SettingName;
use aws_sdk_iam::error::ProvideErrorMetadata;
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::aws::{Aws, RemoteArgs};
use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::package::{self, CodeLocation};
use crate::progress::Progress;
use crate::render;
use crate::stack::{self, ChangeSetOutcome, ChangeSetRequest, State};

#[derive(Clone, Debug, Args)]
pub struct DeployArgs {
    /// Execute the change set without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Which template to deploy
    #[arg(long, value_enum, default_value_t = Which::EcsCluster)]
    pub template: Which,
    /// Use this built `bootstrap` instead of building it with cargo
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// templates/ecs-cluster.yaml: network, trunking, cluster, capacity and tasks
    EcsCluster,
    /// templates/eni-trunking.yaml: the trunking part alone, for an existing cluster
    EniTrunking,
}

#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub stack_name: String,
    pub stack_id: String,
    pub status: String,
    /// created, updated, recreated or unchanged
    pub result: &'static str,
    pub changes: Vec<stack::Change>,
    pub code: CodeLocation,
    pub outputs: BTreeMap<String, String>,
    pub trunking: Trunking,
}

#[derive(Clone, Debug, Serialize)]
pub struct Trunking {
    pub principal_arn: String,
    pub value: String,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result {
            "unchanged" => writeln!(f, "stack {}: no changes ({})", self.stack_name, self.status)?,
            r => writeln!(f, "stack {}: {} ({})", self.stack_name, r, self.status)?,
        }
        if !self.outputs.is_empty() {
            writeln!(f, "outputs:")?;
            let width = self.outputs.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in &self.outputs {
                writeln!(f, "  {k:<width$}  {v}")?;
            }
        }
        writeln!(
            f,
            "awsvpcTrunking is {} for {}: container instances launched with this role from now on get a trunk interface",
            self.trunking.value, self.trunking.principal_arn
        )
    }
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

/// The account id of the credentials in use; the first call, so it also proves they work.
pub async fn account_id(aws: &Aws) -> Result<String, Error> {
    let who = aws.sts.get_caller_identity().send().await.map_err(|e| {
        let code = e
            .as_service_error()
            .and_then(|s| s.code())
            .unwrap_or_default();
        if crate::aws::is_rejected_credentials(code) {
            Error::BadCredentials(code.to_owned())
        } else if crate::aws::is_missing_credentials(&e) {
            Error::NoCredentials
        } else {
            Error::aws("check the AWS credentials (sts:GetCallerIdentity)", &e)
        }
    })?;
    Ok(who.account.unwrap_or_default())
}

/// ECS needs its service-linked role before it can manage capacity providers and tasks' network
/// interfaces; a new account may not have it yet.
async fn ensure_ecs_service_linked_role(
    iam: &aws_sdk_iam::Client,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    const ROLE: &str = "AWSServiceRoleForECS";
    match iam.get_role().role_name(ROLE).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            progress.line(
                "creating the ECS service-linked role AWSServiceRoleForECS (once per account)",
            );
            let created = iam
                .create_service_linked_role()
                .aws_service_name("ecs.amazonaws.com")
                .send()
                .await;
            match created {
                Ok(_) => Ok(()),
                // Another deploy created it in between: what was wanted is there.
                Err(_) if iam.get_role().role_name(ROLE).send().await.is_ok() => Ok(()),
                Err(e) => Err(Error::aws(
                    "create the ECS service-linked role (iam:CreateServiceLinkedRole)",
                    &e,
                )),
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.code() == Some("AccessDenied")) =>
        {
            progress.line("warning: cannot check for the ECS service-linked role (iam:GetRole denied); assuming it exists");
            Ok(())
        }
        Err(e) => Err(Error::aws("check the ECS service-linked role", &e)),
    }
}

fn confirm(question: &str, what: &'static str) -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::NeedsYes(what));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::io("read", "stdin"))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub async fn deploy(
    spec: &Spec,
    origin: &Origin,
    remote: &RemoteArgs,
    args: &DeployArgs,
    progress: &mut Progress<'_>,
) -> Result<DeployReport, Error> {
    // Everything that can be checked offline first: a bad config deploys nothing.
    crate::cli::validate(spec, origin)?;
    let stack_name = remote
        .stack_name
        .clone()
        .unwrap_or_else(|| spec.stack_name.clone());
    let (file, template) = match args.template {
        Which::EcsCluster => (render::ECS_CLUSTER_FILE, render::ecs_cluster(spec)),
        Which::EniTrunking => (render::ENI_TRUNKING_FILE, render::eni_trunking(spec)),
    };
    let body = template.to_yaml(&format!("enitrunk deploy: {file} for stack {stack_name}"));
    if remote.local {
        crate::localstack::ensure_running(progress)?;
    }
    let aws = Aws::connect(remote, spec.region.as_deref()).await?;
    let account = account_id(&aws).await?;
    progress.line(&format!(
        "deploying {file} as stack {stack_name} to account {account}, region {}{}",
        aws.region,
        aws.endpoint_url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default()
    ));
    if args.template == Which::EcsCluster {
        ensure_ecs_service_linked_role(&aws.iam, progress).await?;
    }
    let binary = match &args.bootstrap {
        Some(p) => p.clone(),
        None => package::build_bootstrap(!remote.local, progress)?,
    };
    let code = package::upload(&aws, &account, &binary, progress).await?;

    let mut recreated = false;
    let existing = stack::describe(&aws.cfn, &stack_name).await?;
    let create = match existing.as_ref().map(|s| s.status.as_str()) {
        None | Some("REVIEW_IN_PROGRESS") => true,
        // A failed first create leaves a stack that can only be deleted.
        Some(status @ ("ROLLBACK_COMPLETE" | "CREATE_FAILED")) => {
            let s = existing.as_ref().expect("matched Some");
            progress.line(&format!("stack {stack_name} is {status} from a failed create: deleting it, then creating it again"));
            destroy_stack(&aws, s, progress).await?;
            recreated = true;
            true
        }
        Some(status) if status.ends_with("_IN_PROGRESS") => {
            return Err(Error::StackBusy {
                stack: stack_name,
                status: status.to_owned(),
            });
        }
        Some(status @ "UPDATE_ROLLBACK_FAILED") => {
            return Err(Error::StackStuck {
                stack: stack_name.clone(),
                status: status.to_owned(),
                hint: format!(
                    "continue the rollback in the console or with `aws cloudformation continue-update-rollback --stack-name {stack_name}`, then run `enitrunk deploy` again"
                ),
            });
        }
        Some(status @ ("ROLLBACK_FAILED" | "DELETE_FAILED")) => {
            return Err(Error::StackStuck {
                stack: stack_name.clone(),
                status: status.to_owned(),
                hint: "it can only be deleted: fix what blocks the delete (see its events), run `enitrunk destroy`, then deploy again".into(),
            });
        }
        Some(_) => false,
    };

    let outcome = stack::create_change_set(
        &aws.cfn,
        ChangeSetRequest {
            stack_name: &stack_name,
            create,
            template_body: &body,
            parameters: vec![
                ("CodeBucket", code.bucket.clone()),
                ("CodeKey", code.key.clone()),
            ],
        },
    )
    .await?;
    let change_set = match outcome {
        ChangeSetOutcome::NoChanges => {
            let info = stack::describe(&aws.cfn, &stack_name)
                .await?
                .unwrap_or_default();
            progress.line(&format!("stack {stack_name}: no changes"));
            let trunking = verify(&aws, &stack_name, &info.outputs).await?;
            return Ok(DeployReport {
                stack_name,
                stack_id: info.id,
                status: info.status,
                result: "unchanged",
                changes: Vec::new(),
                code,
                outputs: info.outputs,
                trunking,
            });
        }
        ChangeSetOutcome::Ready(cs) => cs,
    };
    progress.line(&format!("changes to stack {stack_name}:\n{change_set}"));
    if !args.yes && !confirm("execute these changes?", "deploy")? {
        let _ = aws
            .cfn
            .delete_change_set()
            .change_set_name(&change_set.id)
            .send()
            .await;
        if create {
            // A create change set leaves an empty stack in REVIEW_IN_PROGRESS behind.
            let _ = aws
                .cfn
                .delete_stack()
                .stack_name(&change_set.stack_id)
                .send()
                .await;
        }
        return Err(Error::NeedsYes("deploy (answered no)"));
    }

    let after = stack::newest_event(&aws.cfn, &change_set.stack_id).await?;
    aws.cfn
        .execute_change_set()
        .change_set_name(&change_set.id)
        .send()
        .await
        .map_err(|e| Error::aws(format!("execute change set {}", change_set.name), &e))?;
    let verb = if create { "creating" } else { "updating" };
    let watched = tokio::select! {
        w = stack::watch(&aws.cfn, &change_set.stack_id, after.as_deref(), verb, progress) => w?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted { stack: stack_name, verb }),
    };
    if stack::classify(&watched.stack.status) != State::Complete {
        return Err(failure(stack_name, watched));
    }
    let info = watched.stack;
    let trunking = verify(&aws, &stack_name, &info.outputs).await?;
    Ok(DeployReport {
        stack_name,
        stack_id: info.id,
        status: info.status,
        result: match (create, recreated) {
            (_, true) => "recreated",
            (true, false) => "created",
            (false, false) => "updated",
        },
        changes: change_set.changes,
        code,
        outputs: info.outputs,
        trunking,
    })
}

/// The setting must be effective for the instance role: that is what instances register with.
async fn verify(
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

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    /// deleted, or absent when there was no stack
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
        }
    }
}

/// For commands on a stack that should already exist: no LocalStack to start, the stack name,
/// and credentials checked.
pub async fn connect_to_existing(spec: &Spec, remote: &RemoteArgs) -> Result<(Aws, String), Error> {
    let stack_name = remote
        .stack_name
        .clone()
        .unwrap_or_else(|| spec.stack_name.clone());
    if remote.local && !crate::localstack::healthy() {
        return Err(Error::LocalStack(format!(
            "not running at {}, so there is no local stack; `enitrunk deploy --local` starts it",
            crate::aws::local_endpoint()
        )));
    }
    let aws = Aws::connect(remote, spec.region.as_deref()).await?;
    account_id(&aws).await?;
    Ok((aws, stack_name))
}

pub async fn destroy(
    spec: &Spec,
    remote: &RemoteArgs,
    yes: bool,
    progress: &mut Progress<'_>,
) -> Result<DestroyReport, Error> {
    let (aws, stack_name) = connect_to_existing(spec, remote).await?;
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(DestroyReport {
            stack_name,
            result: "absent",
        });
    };
    if !yes
        && !confirm(
            &format!("delete stack {stack_name} and everything in it?"),
            "destroy",
        )?
    {
        return Err(Error::NeedsYes("destroy (answered no)"));
    }
    destroy_stack(&aws, &info, progress).await?;
    Ok(DestroyReport {
        stack_name,
        result: "deleted",
    })
}

async fn destroy_stack(
    aws: &Aws,
    info: &stack::StackInfo,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let after = stack::newest_event(&aws.cfn, &info.id).await?;
    aws.cfn
        .delete_stack()
        .stack_name(&info.id)
        .send()
        .await
        .map_err(|e| Error::aws(format!("delete stack {}", info.name), &e))?;
    let watched = tokio::select! {
        w = stack::watch(&aws.cfn, &info.id, after.as_deref(), "deleting", progress) => w?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted { stack: info.name.clone(), verb: "deleting" }),
    };
    if watched.stack.status != "DELETE_COMPLETE" {
        return Err(failure(info.name.clone(), watched));
    }
    Ok(())
}

/// A stack that ended other than wanted, with the first resource that failed.
fn failure(stack: String, watched: stack::Watched) -> Error {
    Error::Failed {
        stack,
        cause: stack::root_cause(&watched.events).cloned().map(Box::new),
        status: watched.stack.status,
        status_reason: watched.stack.status_reason,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::operation::create_service_linked_role::CreateServiceLinkedRoleError;
    use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
    use aws_sdk_iam::types::error::{InvalidInputException, NoSuchEntityException};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn missing() -> GetRoleError {
        GetRoleError::NoSuchEntityException(
            NoSuchEntityException::builder()
                .message("no such role")
                .build(),
        )
    }

    fn taken() -> CreateServiceLinkedRoleError {
        CreateServiceLinkedRoleError::InvalidInputException(
            InvalidInputException::builder()
                .message("Service role name AWSServiceRoleForECS has been taken in this account")
                .build(),
        )
    }

    #[tokio::test]
    async fn two_deploys_creating_the_service_linked_role_at_once_both_succeed() {
        let first = mock!(aws_sdk_iam::Client::get_role).then_error(missing);
        let create = mock!(aws_sdk_iam::Client::create_service_linked_role).then_error(taken);
        let again =
            mock!(aws_sdk_iam::Client::get_role).then_output(|| GetRoleOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&first, &create, &again]);
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        ensure_ecs_service_linked_role(&iam, &mut progress)
            .await
            .unwrap();
        assert_eq!(
            (first.num_calls(), create.num_calls(), again.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_create_that_really_fails_is_reported() {
        let first = mock!(aws_sdk_iam::Client::get_role).then_error(missing);
        let create = mock!(aws_sdk_iam::Client::create_service_linked_role).then_error(taken);
        let again = mock!(aws_sdk_iam::Client::get_role).then_error(missing);
        let iam = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&first, &create, &again]);
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        let err = ensure_ecs_service_linked_role(&iam, &mut progress)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "create the ECS service-linked role (iam:CreateServiceLinkedRole): service error: \
             InvalidInputException: Service role name AWSServiceRoleForECS has been taken in this account"
        );
    }
}
