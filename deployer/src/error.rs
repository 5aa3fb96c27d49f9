//! The CLI's errors. `Display` says what failed and what to do; sources are printed as a chain
//! by the reporter at the edge.

use std::path::PathBuf;

use crate::config::LoadError;
use crate::event::Event;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error(
        "{} differ from what `enitrunk render` produces: {}; run `enitrunk render --out {}` and commit the result",
        dir.display(), files.join(", "), dir.display()
    )]
    Stale { dir: PathBuf, files: Vec<String> },
    #[error("no template named `{0}`; the templates are {names}", names = crate::render::TEMPLATES.map(|t| t.file_name).join(", "))]
    NoSuchTemplate(String),
    #[error("the rendered templates have problems:\n  {}", .0.join("\n  "))]
    Template(Vec<String>),
    #[error("no AWS region: set `region` in the config, pass --region, or set AWS_REGION")]
    NoRegion,
    #[error(
        "no AWS credentials: log in (e.g. `aws sso login --profile NAME`) and pass --profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; --local uses LocalStack instead"
    )]
    NoCredentials,
    #[error("AWS rejected the credentials ({0}); log in again or pick another --profile")]
    BadCredentials(String),
    #[error("{context}: {message}")]
    Aws { context: String, message: String },
    #[error(
        "building the custom resource function failed: {0}; fix the build, or pass --bootstrap PATH with a built binary"
    )]
    Build(String),
    #[error(
        "cannot find the enitrunk source tree (with custom-resource-lambda/ and localstack/); run from inside it, or pass --bootstrap PATH"
    )]
    NoWorkspace,
    #[error("LocalStack: {0}")]
    LocalStack(String),
    #[error("CloudFormation could not prepare the change for stack `{stack}`: {reason}")]
    ChangeSetFailed { stack: String, reason: String },
    #[error(
        "stack `{stack}` is {status}: another operation is running on it; wait for it (`enitrunk status`) and run again"
    )]
    StackBusy { stack: String, status: String },
    #[error("stack `{stack}` is {status}; {hint}")]
    StackStuck {
        stack: String,
        status: String,
        hint: String,
    },
    #[error("stack `{stack}` ended {status}{}", cause_text(.cause, .status_reason))]
    Failed {
        stack: String,
        status: String,
        status_reason: Option<String>,
        cause: Option<Box<Event>>,
    },
    #[error(
        "stopped waiting; stack `{stack}` keeps {verb} in CloudFormation. Follow it with `enitrunk status --stack-name {stack}` or `aws cloudformation describe-stack-events --stack-name {stack}`"
    )]
    Interrupted { stack: String, verb: &'static str },
    #[error(
        "interrupted before anything was deployed{}",
        if removed.is_empty() { String::new() } else { format!("; removed {}", removed.join(" and ")) }
    )]
    Cancelled { removed: Vec<String> },
    #[error(
        "interrupted; could not remove change set {name} of stack `{stack}` ({why}). Remove it with `aws cloudformation delete-change-set --stack-name {stack} --change-set-name {name}`{}",
        if *creates { format!(", then, if `{stack}` is REVIEW_IN_PROGRESS (it has no resources), `aws cloudformation delete-stack --stack-name {stack}`") } else { String::new() }
    )]
    LeftChangeSet {
        stack: String,
        name: String,
        creates: bool,
        why: String,
    },
    #[error(
        "stopped waiting for the container instances; stack `{stack}` is deployed. See them with `enitrunk status --stack-name {stack}`"
    )]
    ProofInterrupted { stack: String },
    #[error(
        "stopped following stack `{stack}`: {why}. The stack keeps {verb} in CloudFormation: follow it with `enitrunk status --stack-name {stack}` or `aws cloudformation describe-stack-events --stack-name {stack}`"
    )]
    LostTrack {
        stack: String,
        verb: &'static str,
        why: String,
    },
    #[error("{0} needs confirmation: pass --yes (stdin is not a terminal to ask on)")]
    NeedsYes(&'static str),
    #[error(
        "stack `{stack}` is complete, but awsvpcTrunking is `{value}` for {principal}: instances launched with that role will not get a trunk interface; see the function's log group ({log_group})"
    )]
    NotVerified {
        stack: String,
        principal: String,
        value: String,
        log_group: String,
    },
    #[error(
        "the function {function} could not read awsvpcTrunking as the instance role: {message}"
    )]
    ReadFailed { function: String, message: String },
    #[error(
        "{untrunked} of the {total} container instances of {of} have no trunk interface (see each one's reason above); `enitrunk roll` replaces instances launched before the setting"
    )]
    NotTrunked {
        /// `stack `NAME`` or `Auto Scaling group NAME`.
        of: String,
        untrunked: usize,
        total: usize,
    },
    #[error(
        "after {waited}s, {registered} of {expected} instances of Auto Scaling group {group} have registered with cluster {cluster}; check their ECS agent (/var/log/ecs/ecs-agent.log), their route to the ECS endpoint and the instance role, then `enitrunk status`; --wait SECONDS waits longer"
    )]
    NotRegistered {
        cluster: String,
        group: String,
        registered: usize,
        expected: usize,
        waited: u64,
    },
    #[error(
        "an instance refresh is already running on Auto Scaling group {0}; follow it with `aws autoscaling describe-instance-refreshes --auto-scaling-group-name {0}`, then run `enitrunk roll` again"
    )]
    RefreshRunning(String),
    #[error(
        "stopped following; instance refresh {id} of Auto Scaling group {group} keeps going. Follow it with `aws autoscaling describe-instance-refreshes --auto-scaling-group-name {group}`, or cancel it with `aws autoscaling cancel-instance-refresh --auto-scaling-group-name {group}`"
    )]
    RefreshInterrupted { group: String, id: String },
    #[error(
        "instance refresh {id} of Auto Scaling group {group} ended {status}{}; see `aws autoscaling describe-instance-refreshes --auto-scaling-group-name {group}`",
        reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    )]
    RefreshFailed {
        group: String,
        id: String,
        status: String,
        reason: Option<String>,
    },
    #[error(
        "stack `{stack}` has no cluster and Auto Scaling group (outputs ClusterName, AutoScalingGroupName): roll replaces the instances of a stack deployed from ecs-cluster.yaml"
    )]
    NoFleet { stack: String },
    #[error(
        "awsvpcTrunking is `{value}` for {principal}: replaced instances would get no trunk either; turn it on first (`enitrunk deploy` for enitrunk's stacks; for another cluster `enitrunk inspect --cluster NAME --role ROLE` says how), then roll"
    )]
    SettingOff { principal: String, value: String },
    #[error(
        "artifact bucket `{bucket}` exists but is not owned by account {account} (S3 refused ExpectedBucketOwner): enitrunk uploads nothing into a bucket it does not own, and deployed nothing. Pass --artifact-bucket NAME (or `artifact_bucket:` in the config) naming a bucket of your own"
    )]
    ArtifactBucketNotYours { bucket: String, account: String },
    #[error(
        "artifact bucket `{0}` does not exist: create it (in the stack's region), or leave --artifact-bucket and `artifact_bucket:` out and enitrunk creates its own"
    )]
    ArtifactBucketMissing(String),
    #[error(
        "{} would not start on provided.al2023: {problem}. Nothing was uploaded or deployed. Build it with `cargo lambda build --release` (it links against an old glibc), or pass --bootstrap PATH with a binary built for Lambda",
        path.display()
    )]
    UnfitBinary {
        path: PathBuf,
        problem: crate::lambda_binary::Problem,
    },
    #[error(
        "{message}, the region from {from}; {help}; or deploy to a region that offers it. Nothing was deployed"
    )]
    NotOffered {
        region: String,
        from: &'static str,
        message: String,
        help: String,
    },
    #[error("stack `{0}` does not exist; deploy it with `enitrunk deploy`")]
    NoStack(String),
    #[error(
        "IAM role `{0}` does not exist in this account (check the name, or pass its ARN with --role)"
    )]
    NoRole(String),
    #[error("{0}")]
    Usage(&'static str),
    #[error("cannot change the trust policy of role `{role}`: {why}")]
    TrustPolicy { role: String, why: String },
    #[error("ECS cluster `{0}` does not exist in this account and region (check --region)")]
    NoCluster(String),
    #[error("Auto Scaling group {0} does not exist in this account and region (check --region)")]
    NoGroup(String),
    #[error(
        "stack set `{stack_set}`: {}{}; see the reasons above, fix them, and run `enitrunk org deploy` again (it retries what is not CURRENT)",
        operation.as_deref().map(|s| format!("the operation ended {s}")).unwrap_or_else(|| "the operation succeeded within the failure tolerance".into()),
        if failed.is_empty() { String::new() } else { format!(", failed: {}", failed.join(", ")) }
    )]
    OrgFailed {
        stack_set: String,
        failed: Vec<String>,
        operation: Option<String>,
    },
    #[error(
        "stopped following; the operations on stack set `{stack_set}` keep going in CloudFormation StackSets. Follow them with `enitrunk org status`, or stop one with `aws cloudformation stop-stack-set-operation --stack-set-name {stack_set} --operation-id ID`"
    )]
    OrgInterrupted { stack_set: String },
    #[error(
        "account {account} has no role AWSCloudFormationStackSetAdministrationRole, which self-managed stack sets need; create it with AWS's template ({url}), and AWSCloudFormationStackSetExecutionRole in each target account ({execution}). Nothing was deployed",
        url = crate::stackset::ADMINISTRATION_ROLE_TEMPLATE,
        execution = crate::stackset::EXECUTION_ROLE_TEMPLATE
    )]
    NoAdministrationRole { account: String },
    #[error(
        "StackSets has no trusted access to the organization, which --ous (service-managed) needs; turn it on from the management account with `aws cloudformation activate-organizations-access`. Nothing was deployed"
    )]
    NoTrustedAccess,
    #[error(
        "account {account} is not the management account of its organization ({management}): service-managed stack sets are made there, or by a delegated administrator for StackSets with --call-as DELEGATED_ADMIN (registered from the management account with `aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id {account}`). Nothing was deployed"
    )]
    NotManagementAccount { account: String, management: String },
    #[error("stack `{stack}` has no output `{output}`; was it deployed by enitrunk?")]
    MissingOutput { stack: String, output: &'static str },
}

fn cause_text(cause: &Option<Box<Event>>, status_reason: &Option<String>) -> String {
    match (cause, status_reason) {
        (Some(e), _) => format!(
            "\n  root cause: {} ({}) {}: {}",
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().unwrap_or("no reason given")
        ),
        (None, Some(r)) => format!(": {r}"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// An AWS call that failed: what it was doing, and the whole error chain.
    pub fn aws(context: impl Into<String>, e: &(dyn std::error::Error + 'static)) -> Error {
        Error::Aws {
            context: context.into(),
            message: one_line(e),
        }
    }

    /// An AWS call whose answer was not what it should be.
    pub fn aws_message(context: impl Into<String>, message: &str) -> Error {
        Error::Aws {
            context: context.into(),
            message: message.to_owned(),
        }
    }

    /// Exit status: 2 for bad input, 3 for a stack without its proof (instances without trunks,
    /// or not registered), 130 for Ctrl-C, 1 for everything that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_)
            | Error::Plan(_)
            | Error::Exists(_)
            | Error::NoSuchTemplate(_)
            | Error::NotOffered { .. }
            | Error::NeedsYes(_)
            | Error::Usage(_) => 2,
            Error::Interrupted { .. }
            | Error::RefreshInterrupted { .. }
            | Error::Cancelled { .. }
            | Error::LeftChangeSet { .. }
            | Error::ProofInterrupted { .. }
            | Error::OrgInterrupted { .. } => 130,
            // The stack is there, the proof is not: a state to act on, not a crash.
            Error::NotTrunked { .. } | Error::NotRegistered { .. } => 3,
            _ => 1,
        }
    }
}

/// An SDK error as one line: each cause's message, without the raw response that
/// `DisplayErrorContext` appends in debug form.
fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        // Service errors repeat their message one level down.
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}
