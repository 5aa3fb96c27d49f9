//! `enitrunk deploy`: from a validated spec to a stack whose instance role has `awsvpcTrunking`
//! effective, in the steps of the design: validate, build and upload the function, create and
//! show a change set, execute it, follow the events, verify the setting, and wait for the proof
//! (the cluster's instances registered with trunks).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_cloudformation::Client;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::aws::{self, RemoteArgs, Session};
use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::lambda_binary;
use crate::package::{self, CodeLocation};
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::proof::{self, Fleet, Proof};
use crate::render::{self, TemplateFile};
use crate::stack::{self, ChangeSetOutcome, ChangeSetRequest, Next, PendingChangeSet, Undone};
use crate::validate;
use crate::verify::{self, Trunking};

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
    /// Put the function's code into this existing bucket of yours [default: the config's
    /// artifact_bucket, else enitrunk-artifacts-<account>-<region>, created on first use]
    #[arg(long, value_name = "NAME", value_parser = bucket_name_arg)]
    pub artifact_bucket: Option<String>,
    /// Seconds to wait for the Auto Scaling group's instances to register with trunks
    #[arg(long, value_name = "SECONDS", default_value_t = proof::DEFAULT_WAIT_SECONDS)]
    pub wait: u64,
    /// Do not wait for the instances: stop once the setting is verified
    #[arg(long, conflicts_with = "wait")]
    pub no_wait: bool,
}

pub(crate) fn bucket_name_arg(name: &str) -> Result<String, String> {
    crate::config::check_bucket_name(name)
        .map(|()| name.to_owned())
        .map_err(str::to_owned)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// templates/ecs-cluster.yaml: network, trunking, cluster, capacity and tasks
    EcsCluster,
    /// templates/eni-trunking.yaml: the trunking part alone, for an existing cluster
    EniTrunking,
}

impl Which {
    pub fn file(self) -> &'static TemplateFile {
        match self {
            Which::EcsCluster => &render::ECS_CLUSTER,
            Which::EniTrunking => &render::ENI_TRUNKING,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub stack_name: String,
    pub region: String,
    pub stack_id: String,
    pub status: String,
    /// created, updated, recreated or unchanged
    pub result: &'static str,
    pub changes: Vec<stack::Change>,
    pub code: CodeLocation,
    pub outputs: BTreeMap<String, String>,
    pub trunking: Trunking,
    /// The cluster's instances and services once registered; `None` without a cluster, or
    /// with `--no-wait`.
    pub proof: Option<Proof>,
}

impl DeployReport {
    /// The deploy succeeded only if every instance got its trunk.
    pub fn require_trunks(&self) -> Result<(), Error> {
        match &self.proof {
            Some(p) if p.untrunked() > 0 => Err(Error::NotTrunked {
                of: format!("stack `{}`", self.stack_name),
                untrunked: p.untrunked(),
                total: p.container_instances.len(),
            }),
            _ => Ok(()),
        }
    }
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
        )?;
        match &self.proof {
            Some(proof) => write!(f, "{proof}"),
            None => Ok(()),
        }
    }
}

/// What a deploy puts into the stack: a template, and its parameters besides the code's location.
pub struct Deployment {
    pub file: &'static TemplateFile,
    pub parameters: Vec<(&'static str, String)>,
}

pub async fn run(
    spec: &Spec,
    origin: &Origin,
    remote: &RemoteArgs,
    args: &DeployArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<DeployReport, Error> {
    let deployment = Deployment {
        file: args.template.file(),
        parameters: Vec::new(),
    };
    run_with(spec, origin, remote, args, deployment, progress, prompt).await
}

pub async fn run_with(
    spec: &Spec,
    origin: &Origin,
    remote: &RemoteArgs,
    args: &DeployArgs,
    deployment: Deployment,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<DeployReport, Error> {
    // Everything that can be checked offline first: a bad config deploys nothing.
    validate::validate(spec, origin)?;
    // Ctrl-C at any step (the build, the upload, the change set, the question) leaves nothing
    // behind: the steps are dropped, then what they created is removed.
    let undo = Mutex::new(Phase::Preparing);
    let finished = {
        let steps = steps(spec, remote, args, deployment, progress, prompt, &undo);
        tokio::pin!(steps);
        tokio::select! {
            done = &mut steps => Some(done),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    match finished {
        Some(done) => done,
        None => {
            let phase = std::mem::replace(&mut *undo.lock().expect("undo"), Phase::Preparing);
            interrupted(phase, progress).await
        }
    }
}

/// Where a deploy is, for what Ctrl-C must do.
enum Phase {
    /// Nothing in the account changed yet (an artifact upload is content-addressed and harmless).
    Preparing,
    /// A change set asked for and not seen executed.
    ChangeSet(Client, PendingChangeSet),
    /// Deleting the stack a failed create left, before creating it again.
    Deleting(String),
    /// The stack is deployed; waiting for its instances.
    Proving(String),
}

async fn interrupted(phase: Phase, progress: &mut Progress<'_>) -> Result<DeployReport, Error> {
    progress.finish();
    match phase {
        Phase::Preparing => Err(Error::Cancelled {
            removed: Vec::new(),
        }),
        Phase::Deleting(stack) => Err(Error::Interrupted {
            stack,
            verb: "deleting",
        }),
        Phase::Proving(stack) => Err(Error::ProofInterrupted { stack }),
        Phase::ChangeSet(cfn, pending) => {
            progress.line(&format!(
                "interrupted: removing change set {} of stack {} (Ctrl-C again to leave it)",
                pending.name, pending.stack_name
            ));
            let undone = tokio::select! {
                undone = stack::undo(&cfn, &pending) => undone,
                _ = tokio::signal::ctrl_c() => Err(Error::aws_message("remove it", "interrupted again")),
            };
            match undone {
                Ok(Undone::Removed(removed)) => Err(Error::Cancelled { removed }),
                Ok(Undone::Executing) => Err(Error::Interrupted {
                    stack: pending.stack_name,
                    verb: if pending.creates {
                        "creating"
                    } else {
                        "updating"
                    },
                }),
                Err(e) => Err(Error::LeftChangeSet {
                    stack: pending.stack_name,
                    name: pending.name,
                    creates: pending.creates,
                    why: e.to_string(),
                }),
            }
        }
    }
}

fn set(undo: &Mutex<Phase>, phase: Phase) {
    *undo.lock().expect("undo") = phase;
}

async fn steps(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &DeployArgs,
    deployment: Deployment,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
    undo: &Mutex<Phase>,
) -> Result<DeployReport, Error> {
    let file = deployment.file;
    let session = Session::start(spec, remote, progress).await?;
    validate::check_region(spec, remote, &session.aws.region)?;
    let (cfn, stack_name) = (&session.aws.cfn, session.stack_name.as_str());
    progress.line(&format!(
        "deploying {} as stack {stack_name} to account {}, region {}{}",
        file.file_name,
        session.account,
        session.aws.region,
        session
            .aws
            .endpoint_url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default()
    ));
    if std::ptr::eq(file, &render::ECS_CLUSTER) {
        aws::ensure_ecs_service_linked_role(&session.aws.iam, progress).await?;
    }
    // The stack's state first: a stack that is busy or stuck is refused before a build.
    let next = prepare_stack(&session, progress, undo).await?;
    set(undo, Phase::Preparing);
    let code = build_and_upload(spec, &session, remote, args, progress).await?;

    let body = (file.build)(spec).to_yaml(&format!(
        "enitrunk deploy: {} for stack {stack_name}",
        file.file_name
    ));
    let name = stack::new_change_set_name();
    set(
        undo,
        Phase::ChangeSet(
            cfn.clone(),
            PendingChangeSet {
                stack_name: stack_name.to_owned(),
                name: name.clone(),
                creates: next.creates(),
            },
        ),
    );
    let request = ChangeSetRequest {
        stack_name,
        name: &name,
        create: next.creates(),
        template_body: &body,
        parameters: [
            ("CodeBucket", code.bucket.clone()),
            ("CodeKey", code.key.clone()),
        ]
        .into_iter()
        .chain(deployment.parameters)
        .collect(),
    };
    let change_set = match stack::create_change_set(cfn, request).await? {
        ChangeSetOutcome::NoChanges => {
            set(undo, Phase::Proving(stack_name.to_owned()));
            return unchanged(&session, args, code, progress).await;
        }
        ChangeSetOutcome::Ready(cs) => cs,
    };
    progress.line(&format!("changes to stack {stack_name}:\n{change_set}"));
    if !args.yes && !prompt.confirm("execute these changes?", "deploy").await? {
        stack::discard(cfn, &change_set, next.creates()).await;
        return Err(Error::NeedsYes("deploy (answered no)"));
    }

    let info = stack::execute(cfn, stack_name, &change_set, next.verb(), progress).await?;
    set(undo, Phase::Proving(stack_name.to_owned()));
    let trunking = verify::instance_role_trunking(&session.aws, stack_name, &info.outputs).await?;
    let proof = wait_for_proof(&session, args, &info.outputs, &trunking, progress).await?;
    Ok(DeployReport {
        stack_name: stack_name.to_owned(),
        region: session.aws.region.clone(),
        stack_id: info.id,
        status: info.status,
        result: match next {
            Next::Create => "created",
            Next::Recreate => "recreated",
            Next::Update => "updated",
        },
        changes: change_set.changes,
        code,
        outputs: info.outputs,
        trunking,
        proof,
    })
}

/// The instances of the stack's cluster, once registered, with their trunks.
async fn wait_for_proof(
    session: &Session,
    args: &DeployArgs,
    outputs: &BTreeMap<String, String>,
    trunking: &Trunking,
    progress: &mut Progress<'_>,
) -> Result<Option<Proof>, Error> {
    let Some(fleet) = Fleet::of(outputs).filter(|_| !args.no_wait) else {
        return Ok(None);
    };
    let cx = proof::context(&session.aws, &session.stack_name, &trunking.value).await?;
    let wait = Duration::from_secs(args.wait);
    Ok(Some(
        proof::wait(&session.aws, &fleet, &cx, wait, progress).await?,
    ))
}

/// The function's package in the artifact bucket: `--bootstrap`, else built with cargo
/// (release for AWS, where size and cold start matter).
async fn build_and_upload(
    spec: &Spec,
    session: &Session,
    remote: &RemoteArgs,
    args: &DeployArgs,
    progress: &mut Progress<'_>,
) -> Result<CodeLocation, Error> {
    let architecture = spec.function.architecture;
    // With --local the function runs on this machine (LocalStack's host executor): built for it
    // (the dev profile, which the tests have usually built already), not checked against
    // provided.al2023.
    let binary = match &args.bootstrap {
        Some(p) => p.clone(),
        None if remote.local => package::build_bootstrap(false, None, progress)?,
        None => package::build_for_lambda(architecture, progress)?,
    };
    if !remote.local {
        let bytes = std::fs::read(&binary).map_err(Error::io("read", &binary))?;
        let facts =
            lambda_binary::check(&bytes, architecture).map_err(|problem| Error::UnfitBinary {
                path: binary.clone(),
                problem,
            })?;
        progress.line(&format!(
            "{}: {architecture} ELF executable{}",
            binary.display(),
            facts
                .glibc
                .map(|v| format!(
                    ", needs {v} (provided.al2023 has {})",
                    lambda_binary::RUNTIME_GLIBC
                ))
                .unwrap_or_default()
        ));
    }
    let bucket = args
        .artifact_bucket
        .as_deref()
        .or(spec.artifact_bucket.as_deref());
    package::upload(&session.aws, &session.account, bucket, &binary, progress).await
}

/// What the existing stack allows: a create, an update, or a create after deleting what a
/// failed first create left.
async fn prepare_stack(
    session: &Session,
    progress: &mut Progress<'_>,
    undo: &Mutex<Phase>,
) -> Result<Next, Error> {
    let (cfn, stack_name) = (&session.aws.cfn, session.stack_name.as_str());
    let existing = stack::describe(cfn, stack_name).await?;
    let next = stack::next_step(stack_name, existing.as_ref().map(|s| s.status.as_str()))?;
    if let (Next::Recreate, Some(failed)) = (next, &existing) {
        progress.line(&format!(
            "stack {stack_name} is {} from a failed create: deleting it, then creating it again",
            failed.status
        ));
        set(undo, Phase::Deleting(stack_name.to_owned()));
        stack::delete(cfn, failed, progress).await?;
    }
    Ok(next)
}

/// An empty change set: nothing to do but verify what is there.
async fn unchanged(
    session: &Session,
    args: &DeployArgs,
    code: CodeLocation,
    progress: &mut Progress<'_>,
) -> Result<DeployReport, Error> {
    let stack_name = &session.stack_name;
    let info = stack::describe(&session.aws.cfn, stack_name)
        .await?
        .unwrap_or_default();
    progress.line(&format!("stack {stack_name}: no changes"));
    let trunking = verify::instance_role_trunking(&session.aws, stack_name, &info.outputs).await?;
    let proof = wait_for_proof(session, args, &info.outputs, &trunking, progress).await?;
    Ok(DeployReport {
        stack_name: stack_name.clone(),
        region: session.aws.region.clone(),
        stack_id: info.id,
        status: info.status,
        result: "unchanged",
        changes: Vec::new(),
        code,
        outputs: info.outputs,
        trunking,
        proof,
    })
}
