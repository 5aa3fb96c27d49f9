//! `enitrunk org deploy|status|destroy`: trunking in many accounts and regions with one
//! CloudFormation stack set. enitrunk does not loop over accounts: StackSets does, with its
//! concurrency, failure tolerance and (service-managed) auto-deployment to accounts that join
//! the OUs later.
//!
//! The stack instances' template is `org-stackset.yaml`'s inner one (`render::org`), whose
//! function takes its package from `<prefix>-<region>`: one artifact bucket per target region
//! in the administrator account, readable only by the organization or the listed accounts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::aws::{Aws, RemoteArgs, Session};
use custom_resource_lambda::properties::Scope as TrunkingScope;

use crate::config::{self, Spec};
use crate::error::Error;
use crate::package::{self, Readers};
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::render::org::{self, Scope};
use crate::stackset::{self, Action, Definition, Ended, Instance, Planned, Preferences, Targets};

#[derive(Debug, Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub command: OrgCommand,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create or update the stack set and its instances in each account × region, following
    /// the operations as a table
    Deploy(OrgDeployArgs),
    /// Each account × region: the instance's status and reason, drift, last operation
    Status(StackSetArgs),
    /// Delete every stack instance, then the stack set, then the artifact buckets
    Destroy(OrgDestroyArgs),
}

/// The stack set: its name is `--stack-name`, else the config's `stack_name` with `-org`.
#[derive(Clone, Debug, Args)]
pub struct StackSetArgs {
    /// SELF from the organization's management account (or for self-managed stack sets);
    /// DELEGATED_ADMIN from a delegated administrator account for StackSets [default: the
    /// config's org.call_as, else SELF]
    #[arg(long, value_enum)]
    pub call_as: Option<CallAsArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CallAsArg {
    #[value(name = "SELF")]
    SelfAccount,
    #[value(name = "DELEGATED_ADMIN")]
    DelegatedAdmin,
}

#[derive(Clone, Debug, Args)]
pub struct OrgDeployArgs {
    #[command(flatten)]
    pub stack_set: StackSetArgs,
    /// Self-managed: these accounts (comma-separated), through their
    /// AWSCloudFormationStackSetExecutionRole [default: the config's org.accounts]
    #[arg(long, value_delimiter = ',', value_parser = account_arg, conflicts_with = "ous")]
    pub accounts: Vec<String>,
    /// Service-managed: every account of these organizational units (ou-...), now and as
    /// accounts join them [default: the config's org.ous]
    #[arg(long, value_delimiter = ',', value_parser = ou_arg)]
    pub ous: Vec<String>,
    /// Regions of each account (comma-separated): awsvpcTrunking is per account and region
    /// [default: the config's org.regions]
    #[arg(long, value_delimiter = ',', value_parser = region_arg)]
    pub regions: Vec<String>,
    /// What each account gets trunking for [default: the config's trunking.scope, else role]
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    /// Share of the accounts deployed at once, per region [default: the config's
    /// org.max_concurrent_percent, else 25]
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub max_concurrent_percent: Option<i32>,
    /// Share of the accounts that may fail, per region, before the operation stops the rest
    /// [default: the config's org.failure_tolerance_percent, else 0]
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=100))]
    pub failure_tolerance_percent: Option<i32>,
    /// Service-managed: keep an account's stacks (and its setting) when it leaves the OUs
    /// [default: the config's org.retain_stacks_on_account_removal]
    #[arg(long)]
    pub retain_stacks_on_account_removal: bool,
    /// Deploy without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Use this built `bootstrap` instead of building it with cargo
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
}

#[derive(Clone, Debug, Args)]
pub struct OrgDestroyArgs {
    #[command(flatten)]
    pub stack_set: StackSetArgs,
    /// Delete without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

fn account_arg(s: &str) -> Result<String, String> {
    config::check_account_id(s)
        .map(|()| s.to_owned())
        .map_err(str::to_owned)
}

fn ou_arg(s: &str) -> Result<String, String> {
    config::check_ou_id(s)
        .map(|()| s.to_owned())
        .map_err(str::to_owned)
}

fn region_arg(s: &str) -> Result<String, String> {
    config::check_region_name(s)
        .map(|()| s.to_owned())
        .map_err(str::to_owned)
}

impl StackSetArgs {
    fn delegated(&self, spec: &Spec) -> bool {
        self.call_as
            .map_or(spec.org.delegated_admin, |c| c == CallAsArg::DelegatedAdmin)
    }
}

/// What `org deploy` does: its flags, else the config's `org:` (and `trunking.scope`), else
/// the defaults.
struct Wanted {
    targets: Targets,
    regions: Vec<String>,
    scope: Scope,
    preferences: Preferences,
    retain_stacks_on_account_removal: bool,
    delegated: bool,
}

impl Wanted {
    fn of(spec: &Spec, args: &OrgDeployArgs) -> Result<Wanted, Error> {
        let org = &spec.org;
        let targets = if !args.accounts.is_empty() {
            Targets::Accounts(dedup(&args.accounts))
        } else if !args.ous.is_empty() {
            Targets::Ous(dedup(&args.ous))
        } else if !org.accounts.is_empty() {
            Targets::Accounts(dedup(&org.accounts))
        } else if !org.ous.is_empty() {
            Targets::Ous(dedup(&org.ous))
        } else {
            return Err(Error::Usage(
                "name the targets: --accounts 111111111111,... (self-managed) or --ous ou-... (service-managed), or org.accounts or org.ous in enitrunk.yaml",
            ));
        };
        let regions = if args.regions.is_empty() {
            dedup(&org.regions)
        } else {
            dedup(&args.regions)
        };
        if regions.is_empty() {
            return Err(Error::Usage(
                "name the regions: --regions us-east-1,... or org.regions in enitrunk.yaml (awsvpcTrunking is per account and region)",
            ));
        }
        let retain = args.retain_stacks_on_account_removal || org.retain_stacks_on_account_removal;
        let delegated = args.stack_set.delegated(spec);
        // API_CreateStackSet: AutoDeployment and CallAs DELEGATED_ADMIN are service-managed only.
        if !targets.service_managed() && retain {
            return Err(Error::Usage(
                "--retain-stacks-on-account-removal works with --ous (service-managed) only",
            ));
        }
        if !targets.service_managed() && delegated {
            return Err(Error::Usage(
                "--call-as DELEGATED_ADMIN works with --ous (service-managed) only",
            ));
        }
        let scope = args.scope.unwrap_or(match spec.trunking.scope {
            TrunkingScope::Role => Scope::Role,
            TrunkingScope::AccountDefault => Scope::AccountDefault,
        });
        // IAM names are global to an account: each region's stack would create the same role,
        // and every region but the first would fail.
        if scope == Scope::Role && spec.trunking.instance_role_name.is_some() && regions.len() > 1 {
            return Err(Error::Usage(
                "trunking.instance_role_name names one IAM role per account, and each region's stack would create it: leave it out for org deploy to several regions (CloudFormation then names a role per region), or deploy one region",
            ));
        }
        let percent = |flag: Option<i32>, config: Option<u32>, default: i32| {
            flag.or(config.and_then(|c| i32::try_from(c).ok()))
                .unwrap_or(default)
        };
        Ok(Wanted {
            targets,
            regions,
            scope,
            preferences: Preferences {
                max_concurrent_percent: percent(
                    args.max_concurrent_percent,
                    org.max_concurrent_percent,
                    25,
                ),
                failure_tolerance_percent: percent(
                    args.failure_tolerance_percent,
                    org.failure_tolerance_percent,
                    0,
                ),
            },
            retain_stacks_on_account_removal: retain,
            delegated,
        })
    }
}

fn stack_set_name(spec: &Spec, remote: &RemoteArgs) -> String {
    remote
        .stack_name
        .clone()
        .unwrap_or_else(|| format!("{}-org", spec.stack_name))
}

const DESCRIPTION: &str = "enitrunk: ENI trunking (ECS account setting awsvpcTrunking) in each account and region of the stack set";

#[derive(Debug, Serialize)]
pub struct OrgDeployReport {
    pub stack_set_name: String,
    pub stack_set_id: String,
    pub administrator_account: String,
    pub permission_model: &'static str,
    pub scope: Scope,
    /// created, updated or unchanged
    pub result: &'static str,
    pub bucket_prefix: String,
    pub code_key: String,
    pub plan: Vec<Planned>,
    pub operations: Vec<Ended>,
    pub instances: Vec<Instance>,
}

impl OrgDeployReport {
    /// Every target instance must have succeeded, within the tolerance or not.
    pub fn require_success(&self) -> Result<(), Error> {
        let failed: Vec<String> = self
            .operations
            .iter()
            .flat_map(Ended::failed)
            .map(|o| format!("{} {}", o.account, o.region))
            .collect();
        let stopped = self
            .operations
            .iter()
            .find(|o| o.status != "SUCCEEDED")
            .map(|o| o.status.clone());
        if failed.is_empty() && stopped.is_none() {
            return Ok(());
        }
        Err(Error::OrgFailed {
            stack_set: self.stack_set_name.clone(),
            failed,
            operation: stopped,
        })
    }
}

/// What to do when an instance failed for a reason enitrunk recognizes.
fn hint(reason: &str, admin_account: &str) -> Option<String> {
    reason.contains(stackset::EXECUTION_ROLE).then(|| {
        format!(
            "create {} in that account, trusting account {admin_account}: {} (parameter AdministratorAccountId={admin_account}), then run org deploy again",
            stackset::EXECUTION_ROLE,
            stackset::EXECUTION_ROLE_TEMPLATE
        )
    })
}

fn status_table(instances: &[Instance]) -> stackset::Table<'_> {
    stackset::Table {
        cells: instances
            .iter()
            .map(|i| {
                let cell = if i.detailed_status.is_empty() || i.detailed_status == "SUCCEEDED" {
                    i.status.clone()
                } else {
                    format!("{} ({})", i.status, i.detailed_status)
                };
                ((i.account.as_str(), i.region.as_str()), cell)
            })
            .collect(),
    }
}

fn write_failures(
    f: &mut fmt::Formatter<'_>,
    operations: &[Ended],
    admin_account: &str,
) -> fmt::Result {
    for op in operations {
        if op.status != "SUCCEEDED" {
            writeln!(
                f,
                "operation {} ({}) ended {}{}",
                op.operation_id,
                op.action,
                op.status,
                op.status_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )?;
        }
        for o in op.failed() {
            let reason = o.status_reason.as_deref().unwrap_or("no reason given");
            writeln!(f, "  {} {}: {}: {reason}", o.account, o.region, o.status)?;
            if let Some(h) = hint(reason, admin_account) {
                writeln!(f, "    {h}")?;
            }
        }
    }
    Ok(())
}

impl fmt::Display for OrgDeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.plan.len();
        match self.result {
            "unchanged" => writeln!(
                f,
                "stack set {}: no changes ({targets} account × region targets, all CURRENT)",
                self.stack_set_name
            )?,
            r => writeln!(
                f,
                "stack set {}: {r} ({}, scope {:?})",
                self.stack_set_name, self.permission_model, self.scope
            )?,
        }
        write!(f, "{}", status_table(&self.instances))?;
        let failed = self.operations.iter().flat_map(Ended::failed).count();
        if failed > 0 {
            writeln!(f, "{failed} of {targets} failed:")?;
        }
        write_failures(f, &self.operations, &self.administrator_account)
    }
}

/// Ctrl-C stops following, not StackSets: the error says how to follow the stack set.
async fn interruptible<T>(
    name: &str,
    steps: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::pin!(steps);
    tokio::select! {
        done = &mut steps => done,
        _ = tokio::signal::ctrl_c() => Err(Error::OrgInterrupted { stack_set: name.to_owned() }),
    }
}

pub async fn deploy(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &OrgDeployArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<OrgDeployReport, Error> {
    let name = stack_set_name(spec, remote);
    interruptible(
        &name,
        deploy_steps(spec, remote, args, &name, progress, prompt),
    )
    .await
}

async fn deploy_steps(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &OrgDeployArgs,
    name: &str,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<OrgDeployReport, Error> {
    let Wanted {
        targets,
        regions,
        scope,
        preferences,
        retain_stacks_on_account_removal,
        delegated,
    } = Wanted::of(spec, args)?;
    let session = Session::start(spec, remote, progress).await?;
    let (aws, admin) = (&session.aws, session.account.as_str());
    progress.line(&format!(
        "stack set {name} in account {admin}, region {}: {} in {}",
        aws.region,
        match &targets {
            Targets::Accounts(a) => format!("accounts {}", a.join(", ")),
            Targets::Ous(o) => format!("the accounts of {}", o.join(", ")),
        },
        regions.join(", ")
    ));
    // What must be there before anything changes.
    let (accounts, readers) = match &targets {
        Targets::Accounts(accounts) => {
            require_administration_role(aws, admin).await?;
            (accounts.clone(), None)
        }
        Targets::Ous(ous) => {
            let (org_id, management) = organization(aws).await?;
            if !delegated && management != admin {
                return Err(Error::NotManagementAccount {
                    account: admin.to_owned(),
                    management,
                });
            }
            require_trusted_access(aws, delegated).await?;
            (
                accounts_of(aws, ous).await?,
                Some(Readers::Organization(org_id)),
            )
        }
    };
    let existing = stackset::describe(&aws.cfn, name, delegated).await?;
    if let Some(e) = &existing {
        let wanted = if targets.service_managed() {
            "SERVICE_MANAGED"
        } else {
            "SELF_MANAGED"
        };
        if e.permission_model != wanted {
            return Err(Error::aws_message(
                format!("stack set {name}"),
                &format!(
                    "it is {}, and a stack set's permission model cannot change; `enitrunk org destroy` it first, or pass another --stack-name",
                    e.permission_model
                ),
            ));
        }
    }
    let instances = match &existing {
        Some(_) => stackset::instances(&aws.cfn, name, delegated).await?,
        None => Vec::new(),
    };
    let readers = readers.unwrap_or_else(|| {
        // Accounts with instances keep reading until those are gone.
        let mut all: BTreeSet<String> = accounts.iter().cloned().collect();
        all.extend(instances.iter().map(|i| i.account.clone()));
        Readers::Accounts(all.into_iter().collect())
    });

    let binary = match &args.bootstrap {
        Some(p) => p.clone(),
        None if remote.local => package::build_bootstrap(false, None, progress)?,
        None => package::build_for_lambda(spec.function.architecture, progress)?,
    };
    let bytes = std::fs::read(&binary).map_err(Error::io("read", &binary))?;
    let zip = package::zip_bootstrap(&bytes);
    let key = package::key_for(&zip);
    let prefix = package::org_bucket_prefix(admin);
    for region in &regions {
        let regional = aws.in_region(region);
        let bucket = format!("{prefix}-{region}");
        package::upload_shared(&regional, admin, &bucket, &zip, &key, &readers, progress).await?;
    }

    let body = org::member_for(spec, scope).to_yaml(&format!(
        "enitrunk org deploy: the stack instances of stack set {name}"
    ));
    let parameters = vec![
        ("CodeBucketPrefix".to_owned(), prefix.clone()),
        ("CodeKey".to_owned(), key.clone()),
    ];
    let definition = Definition {
        name,
        description: DESCRIPTION,
        template_body: &body,
        parameters: &parameters,
        targets: &targets,
        retain_stacks_on_account_removal,
        delegated,
    };
    let changes = existing.as_ref().is_some_and(|e| {
        e.template_body != body || e.parameters != parameters.iter().cloned().collect()
    });
    let plan = stackset::preview(&accounts, &regions, &instances, changes);
    let steps = stackset::Steps::of(&plan, changes);
    let permission_model = if targets.service_managed() {
        "SERVICE_MANAGED"
    } else {
        "SELF_MANAGED"
    };
    if steps.is_empty() && existing.is_some() {
        progress.line(&format!("stack set {name}: no changes"));
        return Ok(OrgDeployReport {
            stack_set_name: name.to_owned(),
            stack_set_id: existing.map(|e| e.id).unwrap_or_default(),
            administrator_account: admin.to_owned(),
            permission_model,
            scope,
            result: "unchanged",
            bucket_prefix: prefix,
            code_key: key,
            plan,
            operations: Vec::new(),
            instances,
        });
    }
    let (concurrent, tolerated) = preferences.per_region(accounts.len());
    progress.line(&format!(
        "stack set {name} ({}): what this deploy does\n{}per region: {concurrent} of {} accounts at a time, {tolerated} may fail before StackSets stops{}",
        if existing.is_some() {
            "update"
        } else {
            "create"
        },
        plan_table(&plan),
        accounts.len(),
        if concurrent == 1 && accounts.len() > 1 && tolerated == 0 {
            ": StackSets runs one at a time while no failure is tolerated; --failure-tolerance-percent raises it"
        } else {
            ""
        }
    ));
    if !args.yes
        && !prompt
            .confirm("deploy to these accounts and regions?", "org deploy")
            .await?
    {
        return Err(Error::NeedsYes("org deploy (answered no)"));
    }
    let stack_set_id = match &existing {
        Some(e) => e.id.clone(),
        None => {
            progress.line(&format!("creating stack set {name} ({permission_model})"));
            stackset::create(&aws.cfn, &definition).await?
        }
    };
    let poll = stackset::poll_interval(remote.local);
    let mut operations = Vec::new();
    let mut started = Vec::new();
    if steps.update_stack_set {
        started.push((
            "updating the stack set and its instances",
            stackset::update(&aws.cfn, &definition, preferences).await?,
        ));
    }
    if !steps.update_instances.is_empty() {
        let id =
            stackset::update_instances(&aws.cfn, &definition, &steps.update_instances, preferences)
                .await?;
        started.push(("updating the instances that are not CURRENT", id));
    }
    if !steps.create.is_empty() {
        let id =
            stackset::create_instances(&aws.cfn, &definition, &steps.create, preferences).await?;
        started.push(("creating instances", id));
    }
    // ManagedExecution queues them; each is followed in the order it runs.
    for (what, id) in started {
        progress.line(&format!("operation {id}: {what}"));
        let ended = stackset::follow(&aws.cfn, name, &id, delegated, poll, progress).await?;
        progress.line(&format!("operation {id}: {}", ended.status));
        operations.push(ended);
    }
    let instances = stackset::instances(&aws.cfn, name, delegated).await?;
    Ok(OrgDeployReport {
        stack_set_name: name.to_owned(),
        stack_set_id,
        administrator_account: admin.to_owned(),
        permission_model,
        scope,
        result: if existing.is_some() {
            "updated"
        } else {
            "created"
        },
        bucket_prefix: prefix,
        code_key: key,
        plan,
        operations,
        instances,
    })
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.iter().filter(|x| seen.insert(*x)).cloned().collect()
}

fn plan_table(plan: &[Planned]) -> stackset::Table<'_> {
    stackset::Table {
        cells: plan
            .iter()
            .map(|p| {
                let action = match p.action {
                    Action::Create => "create",
                    Action::Update => "update",
                    Action::Unchanged => "unchanged",
                };
                ((p.account.as_str(), p.region.as_str()), action.to_owned())
            })
            .collect(),
    }
}

/// Self-managed stack sets need the administration role in this account; without it every
/// instance would fail, so it is said before anything changes.
async fn require_administration_role(aws: &Aws, account: &str) -> Result<(), Error> {
    match aws
        .iam
        .get_role()
        .role_name(stackset::ADMINISTRATION_ROLE)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Err(Error::NoAdministrationRole {
                account: account.to_owned(),
            })
        }
        Err(e) => Err(Error::aws(
            format!("read role {}", stackset::ADMINISTRATION_ROLE),
            &e,
        )),
    }
}

/// Service-managed stack sets need trusted access between StackSets and Organizations.
async fn require_trusted_access(aws: &Aws, delegated: bool) -> Result<(), Error> {
    use aws_sdk_cloudformation::types::{CallAs, OrganizationStatus};
    let out = aws
        .cfn
        .describe_organizations_access()
        .call_as(if delegated {
            CallAs::DelegatedAdmin
        } else {
            CallAs::SelfValue
        })
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                "read whether StackSets has trusted access to the organization",
                &e,
            )
        })?;
    match out.status() {
        Some(OrganizationStatus::Enabled) => Ok(()),
        _ => Err(Error::NoTrustedAccess),
    }
}

/// The organization's id and its management account.
async fn organization(aws: &Aws) -> Result<(String, String), Error> {
    let out = aws
        .organizations
        .describe_organization()
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                "read the organization (organizations:DescribeOrganization)",
                &e,
            )
        })?;
    let org = out.organization();
    match (
        org.and_then(|o| o.id()),
        org.and_then(|o| o.master_account_id()),
    ) {
        (Some(id), Some(management)) => Ok((id.to_owned(), management.to_owned())),
        _ => Err(Error::aws_message(
            "read the organization",
            "it has no id or management account",
        )),
    }
}

/// The accounts of some OUs and the OUs below them, for the preview: StackSets resolves the
/// targets itself.
async fn accounts_of(aws: &Aws, ous: &[String]) -> Result<Vec<String>, Error> {
    let org = &aws.organizations;
    let mut accounts = BTreeSet::new();
    let mut parents: Vec<String> = ous.to_vec();
    while let Some(parent) = parents.pop() {
        let mut pages = org
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| Error::aws(format!("list the accounts of {parent}"), &e))?;
            accounts.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        let mut pages = org
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::aws(format!("list the OUs under {parent}"), &e))?;
            parents.extend(
                page.organizational_units()
                    .iter()
                    .filter_map(|o| o.id().map(str::to_owned)),
            );
        }
    }
    Ok(accounts.into_iter().collect())
}

#[derive(Debug, Serialize)]
pub struct OrgStatusReport {
    pub stack_set_name: String,
    /// ACTIVE, or absent when there is no such stack set
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_model: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organizational_unit_ids: Vec<String>,
    pub instances: Vec<Instance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<LastOperation>,
}

#[derive(Debug, Serialize)]
pub struct LastOperation {
    pub operation_id: String,
    pub action: String,
    pub status: String,
}

impl fmt::Display for OrgStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status == "absent" {
            return writeln!(
                f,
                "stack set {}: does not exist (`enitrunk org deploy` creates it)",
                self.stack_set_name
            );
        }
        writeln!(
            f,
            "stack set {}: {} ({}, {} instances)",
            self.stack_set_name,
            self.status,
            self.permission_model.as_deref().unwrap_or("?"),
            self.instances.len()
        )?;
        if !self.organizational_unit_ids.is_empty() {
            writeln!(f, "targets: {}", self.organizational_unit_ids.join(", "))?;
        }
        write!(f, "{}", status_table(&self.instances))?;
        for i in &self.instances {
            if let Some(r) = &i.status_reason {
                writeln!(f, "  {} {}: {r}", i.account, i.region)?;
            }
        }
        let drifted: Vec<_> = self
            .instances
            .iter()
            .filter(|i| i.drift_status == "DRIFTED")
            .map(|i| format!("{} {}", i.account, i.region))
            .collect();
        if !drifted.is_empty() {
            writeln!(f, "drifted: {}", drifted.join(", "))?;
        }
        if let Some(op) = &self.last_operation {
            writeln!(
                f,
                "last operation: {} {} {}",
                op.operation_id, op.action, op.status
            )?;
        }
        Ok(())
    }
}

pub async fn status(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &StackSetArgs,
) -> Result<OrgStatusReport, Error> {
    let name = stack_set_name(spec, remote);
    let session = Session::existing(spec, remote).await?;
    let (cfn, delegated) = (&session.aws.cfn, args.delegated(spec));
    let Some(info) = stackset::describe(cfn, &name, delegated).await? else {
        return Ok(OrgStatusReport {
            stack_set_name: name,
            status: "absent".into(),
            permission_model: None,
            organizational_unit_ids: Vec::new(),
            instances: Vec::new(),
            last_operation: None,
        });
    };
    let instances = stackset::instances(cfn, &name, delegated).await?;
    let last = cfn
        .list_stack_set_operations()
        .stack_set_name(&name)
        .call_as(if delegated {
            aws_sdk_cloudformation::types::CallAs::DelegatedAdmin
        } else {
            aws_sdk_cloudformation::types::CallAs::SelfValue
        })
        .send()
        .await
        .map_err(|e| Error::aws(format!("list the operations of stack set {name}"), &e))?;
    let last_operation = last
        .summaries()
        .iter()
        .max_by_key(|o| o.creation_timestamp().map(|t| (t.secs(), t.subsec_nanos())))
        .map(|o| LastOperation {
            operation_id: o.operation_id().unwrap_or_default().to_owned(),
            action: o
                .action()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            status: o
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        });
    Ok(OrgStatusReport {
        stack_set_name: name,
        status: info.status,
        permission_model: Some(info.permission_model),
        organizational_unit_ids: info.organizational_unit_ids,
        instances,
        last_operation,
    })
}

#[derive(Debug, Serialize)]
pub struct OrgDestroyReport {
    pub stack_set_name: String,
    /// deleted, or absent when there was no stack set
    pub result: &'static str,
    pub instances_deleted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Ended>,
    pub buckets_deleted: Vec<String>,
    /// Other stack sets that use the artifact buckets, which are then kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets_kept_for: Vec<String>,
}

impl fmt::Display for OrgDestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result {
            "absent" => writeln!(
                f,
                "stack set {}: does not exist, nothing to delete",
                self.stack_set_name
            )?,
            _ => writeln!(
                f,
                "stack set {}: deleted, with its {} stack instances",
                self.stack_set_name, self.instances_deleted
            )?,
        }
        for b in &self.buckets_deleted {
            writeln!(f, "artifact bucket {b}: deleted")?;
        }
        if !self.buckets_kept_for.is_empty() {
            writeln!(
                f,
                "artifact buckets kept: stack sets {} use them",
                self.buckets_kept_for.join(", ")
            )?;
        }
        Ok(())
    }
}

pub async fn destroy(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &OrgDestroyArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<OrgDestroyReport, Error> {
    let name = stack_set_name(spec, remote);
    interruptible(
        &name,
        destroy_steps(spec, remote, args, &name, progress, prompt),
    )
    .await
}

async fn destroy_steps(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &OrgDestroyArgs,
    name: &str,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<OrgDestroyReport, Error> {
    let session = Session::existing(spec, remote).await?;
    let (aws, admin) = (&session.aws, session.account.as_str());
    let delegated = args.stack_set.delegated(spec);
    let existing = stackset::describe(&aws.cfn, name, delegated).await?;
    let instances = match &existing {
        Some(_) => stackset::instances(&aws.cfn, name, delegated).await?,
        None => Vec::new(),
    };
    let mut buckets = org_buckets(aws, admin).await?;
    // The buckets are the account's, not the stack set's: another stack set may still need
    // them (its updates, and auto-deployment to accounts that join its OUs).
    let prefix = package::org_bucket_prefix(admin);
    let mut regions: BTreeSet<&str> = buckets.iter().map(|(_, r)| r.as_str()).collect();
    regions.insert(aws.region.as_str());
    let mut users = Vec::new();
    for region in regions {
        let cfn = &aws.in_region(region).cfn;
        for other in
            stackset::others_with_parameter(cfn, name, ("CodeBucketPrefix", &prefix), delegated)
                .await?
        {
            users.push(format!("{other} ({region})"));
        }
    }
    if !users.is_empty() {
        buckets.clear();
    }
    if existing.is_none() && buckets.is_empty() {
        return Ok(OrgDestroyReport {
            stack_set_name: name.to_owned(),
            result: "absent",
            instances_deleted: 0,
            operation: None,
            buckets_deleted: Vec::new(),
            buckets_kept_for: users,
        });
    }
    progress.line(&format!(
        "deleting stack set {name}: {} stack instances (their stacks too; each stack's OnDelete decides what becomes of the setting), then artifact buckets {}",
        instances.len(),
        if !users.is_empty() {
            format!("(none: kept for stack sets {})", users.join(", "))
        } else if buckets.is_empty() {
            "(none)".to_owned()
        } else {
            buckets.iter().map(|(b, _)| b.as_str()).collect::<Vec<_>>().join(", ")
        }
    ));
    if !args.yes && !prompt.confirm("delete them?", "org destroy").await? {
        return Err(Error::NeedsYes("org destroy (answered no)"));
    }
    let mut operation = None;
    if let Some(info) = &existing {
        if !instances.is_empty() {
            let preferences = Preferences {
                max_concurrent_percent: 100,
                failure_tolerance_percent: 0,
            };
            let id = stackset::delete_instances(
                &aws.cfn,
                name,
                info,
                &instances,
                preferences,
                delegated,
            )
            .await?;
            progress.line(&format!("operation {id}: deleting the stack instances"));
            let ended = stackset::follow(
                &aws.cfn,
                name,
                &id,
                delegated,
                stackset::poll_interval(remote.local),
                progress,
            )
            .await?;
            if ended.status != "SUCCEEDED" || ended.failed().next().is_some() {
                return Err(Error::OrgFailed {
                    stack_set: name.to_owned(),
                    failed: ended
                        .failed()
                        .map(|o| {
                            format!(
                                "{} {} ({})",
                                o.account,
                                o.region,
                                o.status_reason.as_deref().unwrap_or("no reason given")
                            )
                        })
                        .collect(),
                    operation: Some(ended.status),
                });
            }
            operation = Some(ended);
        }
        stackset::delete(&aws.cfn, name, delegated).await?;
    }
    let mut deleted = Vec::new();
    for (bucket, region) in buckets {
        if package::delete_bucket(&aws.in_region(&region), &bucket, admin).await? {
            deleted.push(bucket);
        }
    }
    Ok(OrgDestroyReport {
        stack_set_name: name.to_owned(),
        result: if existing.is_some() {
            "deleted"
        } else {
            "absent"
        },
        instances_deleted: instances.len(),
        operation,
        buckets_deleted: deleted,
        buckets_kept_for: users,
    })
}

/// The artifact buckets `org deploy` made in this account, with their regions.
async fn org_buckets(aws: &Aws, account: &str) -> Result<Vec<(String, String)>, Error> {
    let prefix = format!("{}-", package::org_bucket_prefix(account));
    let listed = aws
        .s3
        .list_buckets()
        .prefix(&prefix)
        .send()
        .await
        .map_err(|e| Error::aws("list the artifact buckets", &e))?;
    let mut found = BTreeMap::new();
    for b in listed.buckets() {
        let Some(name) = b.name() else { continue };
        if let Some(region) = name.strip_prefix(&prefix) {
            found.insert(name.to_owned(), region.to_owned());
        }
    }
    Ok(found.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_any_call() {
        assert!(account_arg("111111111111").is_ok());
        assert!(account_arg("11111111111").is_err());
        assert!(account_arg("11111111111a").is_err());
        assert!(ou_arg("ou-ab12-34cd56ef").is_ok());
        assert!(ou_arg("r-ab12").is_ok());
        assert!(ou_arg("ou-ab12").is_err());
        assert!(ou_arg("111111111111").is_err());
        assert!(region_arg("us-east-1").is_ok());
        assert!(region_arg("us-gov-west-1").is_ok());
        assert!(region_arg("useast1").is_err());
        assert!(region_arg("US-east-1").is_err());
    }

    #[derive(clap::Parser)]
    struct Deploy {
        #[command(flatten)]
        args: OrgDeployArgs,
    }

    fn wanted(config: &str, flags: &[&str]) -> Result<Wanted, String> {
        use clap::Parser;
        let spec = config::parse("enitrunk.yaml", config).unwrap();
        let args = Deploy::try_parse_from(std::iter::once("deploy").chain(flags.iter().copied()))
            .map_err(|e| e.to_string())?
            .args;
        Wanted::of(&spec, &args).map_err(|e| e.to_string())
    }

    const ORG: &str = "trunking:\n  scope: AccountDefault\norg:\n  ous: [ou-ab12-cd345678]\n  regions: [eu-west-1]\n  max_concurrent_percent: 50\n  retain_stacks_on_account_removal: true\n  call_as: DELEGATED_ADMIN\n";

    #[test]
    fn the_config_gives_what_the_flags_leave_out() {
        let w = wanted(ORG, &[]).unwrap();
        assert_eq!(w.targets, Targets::Ous(vec!["ou-ab12-cd345678".into()]));
        assert_eq!(w.regions, ["eu-west-1"]);
        assert_eq!(w.scope, Scope::AccountDefault);
        assert_eq!(
            (
                w.preferences.max_concurrent_percent,
                w.preferences.failure_tolerance_percent
            ),
            (50, 0)
        );
        assert!(w.retain_stacks_on_account_removal && w.delegated);

        let w = wanted(
            ORG,
            &[
                "--ous",
                "ou-zz99-zz999999",
                "--regions",
                "us-east-1,us-east-1,ap-south-1",
                "--scope",
                "role",
                "--max-concurrent-percent",
                "100",
                "--failure-tolerance-percent",
                "20",
                "--call-as",
                "SELF",
            ],
        )
        .unwrap();
        assert_eq!(w.targets, Targets::Ous(vec!["ou-zz99-zz999999".into()]));
        assert_eq!(w.regions, ["us-east-1", "ap-south-1"]);
        assert_eq!(w.scope, Scope::Role);
        assert_eq!(
            (
                w.preferences.max_concurrent_percent,
                w.preferences.failure_tolerance_percent
            ),
            (100, 20)
        );
        assert!(!w.delegated);

        // Without either, the defaults.
        let w = wanted(
            "",
            &["--accounts", "111111111111", "--regions", "us-east-1"],
        )
        .unwrap();
        assert_eq!(w.targets, Targets::Accounts(vec!["111111111111".into()]));
        assert_eq!(w.scope, Scope::Role);
        assert_eq!(
            (
                w.preferences.max_concurrent_percent,
                w.preferences.failure_tolerance_percent
            ),
            (25, 0)
        );
        assert!(!w.retain_stacks_on_account_removal && !w.delegated);
    }

    #[test]
    fn targets_and_regions_are_required_and_service_managed_options_need_ous() {
        let e = wanted("", &["--regions", "us-east-1"]).err().unwrap();
        assert!(e.contains("name the targets: --accounts"), "{e}");
        let e = wanted("", &["--accounts", "111111111111"]).err().unwrap();
        assert!(e.contains("name the regions: --regions"), "{e}");
        // Accounts from the flags replace the config's OUs, and its service-managed options with them.
        let e = wanted(ORG, &["--accounts", "111111111111"]).err().unwrap();
        assert!(
            e.contains("--retain-stacks-on-account-removal works with --ous"),
            "{e}"
        );
        let e = wanted(
            "",
            &[
                "--accounts",
                "111111111111",
                "--regions",
                "us-east-1",
                "--call-as",
                "DELEGATED_ADMIN",
            ],
        )
        .err()
        .unwrap();
        assert!(
            e.contains("--call-as DELEGATED_ADMIN works with --ous"),
            "{e}"
        );
        let named = "trunking:\n  instance_role_name: ecs-instances\n";
        let e = wanted(
            named,
            &[
                "--accounts",
                "111111111111",
                "--regions",
                "us-east-1,eu-west-1",
            ],
        )
        .err()
        .unwrap();
        assert!(
            e.contains("trunking.instance_role_name names one IAM role per account"),
            "{e}"
        );
        assert!(
            wanted(
                named,
                &["--accounts", "111111111111", "--regions", "us-east-1"]
            )
            .is_ok()
        );
        let e = wanted(
            "",
            &["--accounts", "111111111111", "--ous", "ou-ab12-cd345678"],
        )
        .err()
        .unwrap();
        assert!(e.contains("cannot be used with"), "{e}");
    }

    #[test]
    fn a_missing_execution_role_is_answered_with_its_template() {
        let reason = "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.";
        let h = hint(reason, "000000000000").unwrap();
        assert!(h.contains(stackset::EXECUTION_ROLE_TEMPLATE));
        assert!(h.contains("AdministratorAccountId=000000000000"));
        assert_eq!(hint("Resource creation cancelled", "000000000000"), None);
    }
}
