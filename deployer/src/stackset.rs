//! CloudFormation StackSets, as `org` drives them: a stack set's state and its instances, what a
//! deploy would do to each account × region, starting the operations and following them to
//! their end, and the account × region table.
//!
//! Pages cited: `API_*` under <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/>.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    CallAs, DeploymentTargets, RegionConcurrencyType, StackSetOperationPreferences,
};
use serde::Serialize;

use crate::error::Error;
use crate::progress::Progress;

/// The standard role names of self-managed permissions
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html>).
pub const ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";
pub const EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";
/// AWS's templates for the two roles, from that page.
pub const ADMINISTRATION_ROLE_TEMPLATE: &str = "https://s3.amazonaws.com/cloudformation-stackset-sample-templates-us-east-1/AWSCloudFormationStackSetAdministrationRole.yml";
pub const EXECUTION_ROLE_TEMPLATE: &str = "https://s3.amazonaws.com/cloudformation-stackset-sample-templates-us-east-1/AWSCloudFormationStackSetExecutionRole.yml";

/// Who the stack instances go to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// Self-managed: these accounts, through their execution roles.
    Accounts(Vec<String>),
    /// Service-managed: the accounts of these OUs, now and as they join.
    Ous(Vec<String>),
}

impl Targets {
    pub fn service_managed(&self) -> bool {
        matches!(self, Targets::Ous(_))
    }

    fn deployment_targets(&self) -> DeploymentTargets {
        let b = DeploymentTargets::builder();
        match self {
            Targets::Accounts(a) => b.set_accounts(Some(a.clone())),
            Targets::Ous(o) => b.set_organizational_unit_ids(Some(o.clone())),
        }
        .build()
    }
}

/// `OperationPreferences`: per region, the share of accounts deployed at once and the share that
/// may fail before the operation stops; regions in parallel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Preferences {
    pub max_concurrent_percent: i32,
    pub failure_tolerance_percent: i32,
}

impl Preferences {
    /// How many of `accounts` StackSets deploys at once in a region, and how many may fail
    /// there: percentages rounded down, at least one at a time, and in its default mode
    /// (STRICT_FAILURE_TOLERANCE) at most the tolerance + 1 (API_StackSetOperationPreferences).
    pub fn per_region(self, accounts: usize) -> (usize, usize) {
        let share = |p: i32| accounts * usize::try_from(p).unwrap_or(0) / 100;
        let tolerated = share(self.failure_tolerance_percent);
        let concurrent = share(self.max_concurrent_percent).max(1).min(tolerated + 1);
        (concurrent, tolerated)
    }

    fn sdk(self) -> StackSetOperationPreferences {
        StackSetOperationPreferences::builder()
            .max_concurrent_percentage(self.max_concurrent_percent)
            .failure_tolerance_percentage(self.failure_tolerance_percent)
            .region_concurrency_type(RegionConcurrencyType::Parallel)
            .build()
    }
}

/// What `DescribeStackSet` says that a deploy compares.
#[derive(Clone, Debug, Default)]
pub struct StackSetInfo {
    pub id: String,
    pub status: String,
    pub permission_model: String,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub organizational_unit_ids: Vec<String>,
}

/// A stack instance, from `ListStackInstances`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE
    pub status: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE, ...
    pub detailed_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit_id: Option<String>,
    /// NOT_CHECKED until drift detection runs
    pub drift_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_operation_id: Option<String>,
    /// The instance's stack, in its account and region
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
}

fn call_as(delegated: bool) -> CallAs {
    if delegated {
        CallAs::DelegatedAdmin
    } else {
        CallAs::SelfValue
    }
}

fn is_missing<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("StackSetNotFoundException")
}

/// The active stack sets but `except` whose parameter `key` is `value`: what else uses the
/// artifact buckets a destroy would delete.
pub async fn others_with_parameter(
    cfn: &Client,
    except: &str,
    (key, value): (&str, &str),
    delegated: bool,
) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    let mut pages = cfn
        .list_stack_sets()
        .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
        .call_as(call_as(delegated))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::aws("list the stack sets", &e))?;
        names.extend(
            page.summaries()
                .iter()
                .filter_map(|s| s.stack_set_name())
                .filter(|n| *n != except)
                .map(str::to_owned),
        );
    }
    let mut using = Vec::new();
    for name in names {
        if let Some(info) = describe(cfn, &name, delegated).await?
            && info.parameters.get(key).map(String::as_str) == Some(value)
        {
            using.push(name);
        }
    }
    Ok(using)
}

pub async fn describe(
    cfn: &Client,
    name: &str,
    delegated: bool,
) -> Result<Option<StackSetInfo>, Error> {
    let out = match cfn
        .describe_stack_set()
        .stack_set_name(name)
        .call_as(call_as(delegated))
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(is_missing) => return Ok(None),
        Err(e) => return Err(Error::aws(format!("describe stack set {name}"), &e)),
    };
    let Some(s) = out.stack_set() else {
        return Ok(None);
    };
    let status = s
        .status()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    // A deleted stack set is still described (status DELETED) for a while.
    if status == "DELETED" {
        return Ok(None);
    }
    Ok(Some(StackSetInfo {
        id: s.stack_set_id().unwrap_or_default().to_owned(),
        status,
        permission_model: s
            .permission_model()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        template_body: s.template_body().unwrap_or_default().to_owned(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        organizational_unit_ids: s.organizational_unit_ids().to_vec(),
    }))
}

pub async fn instances(cfn: &Client, name: &str, delegated: bool) -> Result<Vec<Instance>, Error> {
    let mut found = Vec::new();
    let mut pages = cfn
        .list_stack_instances()
        .stack_set_name(name)
        .call_as(call_as(delegated))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| Error::aws(format!("list the instances of stack set {name}"), &e))?;
        for i in page.summaries() {
            found.push(Instance {
                account: i.account().unwrap_or_default().to_owned(),
                region: i.region().unwrap_or_default().to_owned(),
                status: i
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                detailed_status: i
                    .stack_instance_status()
                    .and_then(|s| s.detailed_status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: i.status_reason().map(str::to_owned),
                organizational_unit_id: i.organizational_unit_id().map(str::to_owned),
                drift_status: i
                    .drift_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "NOT_CHECKED".into()),
                last_operation_id: i.last_operation_id().map(str::to_owned),
                stack_id: i.stack_id().map(str::to_owned),
            });
        }
    }
    found.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(found)
}

/// What a deploy does to one account × region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub account: String,
    pub region: String,
    pub action: Action,
}

/// Each target account × region: created when it has no instance; updated when the stack set
/// changes, or when its instance is not CURRENT (a failed or cancelled run, an update it missed);
/// else unchanged. Instances outside the targets are left alone (`org destroy` removes all).
pub fn preview(
    accounts: &[String],
    regions: &[String],
    existing: &[Instance],
    stack_set_changes: bool,
) -> Vec<Planned> {
    let mut rows = Vec::new();
    for account in accounts {
        for region in regions {
            let found = existing
                .iter()
                .find(|i| &i.account == account && &i.region == region);
            let action = match found {
                None => Action::Create,
                Some(_) if stack_set_changes => Action::Update,
                Some(i) if i.status != "CURRENT" => Action::Update,
                Some(_) => Action::Unchanged,
            };
            rows.push(Planned {
                account: account.clone(),
                region: region.clone(),
                action,
            });
        }
    }
    rows
}

/// What the stack set is asked to do, in order: an update of the stack set (all its instances),
/// an update of some instances, and the creation of the missing ones.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Steps {
    pub update_stack_set: bool,
    pub update_instances: Vec<(String, String)>,
    pub create: Vec<(String, String)>,
}

impl Steps {
    pub fn of(plan: &[Planned], stack_set_changes: bool) -> Steps {
        let pick = |a: Action| {
            plan.iter()
                .filter(|p| p.action == a)
                .map(|p| (p.account.clone(), p.region.clone()))
                .collect::<Vec<_>>()
        };
        Steps {
            update_stack_set: stack_set_changes && plan.iter().any(|p| p.action == Action::Update),
            update_instances: if stack_set_changes {
                Vec::new()
            } else {
                pick(Action::Update)
            },
            create: pick(Action::Create),
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.update_stack_set && self.update_instances.is_empty() && self.create.is_empty()
    }
}

/// The accounts and the regions of some pairs: StackSets operations take their product.
fn axes(pairs: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let accounts: BTreeSet<_> = pairs.iter().map(|(a, _)| a.clone()).collect();
    let regions: BTreeSet<_> = pairs.iter().map(|(_, r)| r.clone()).collect();
    (
        accounts.into_iter().collect(),
        regions.into_iter().collect(),
    )
}

/// The stack set's definition, for `CreateStackSet` and `UpdateStackSet`.
pub struct Definition<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub template_body: &'a str,
    pub parameters: &'a [(String, String)],
    pub targets: &'a Targets,
    pub retain_stacks_on_account_removal: bool,
    pub delegated: bool,
}

fn sdk_parameters(
    parameters: &[(String, String)],
) -> Vec<aws_sdk_cloudformation::types::Parameter> {
    parameters
        .iter()
        .map(|(k, v)| {
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn auto_deployment(retain: bool) -> aws_sdk_cloudformation::types::AutoDeployment {
    aws_sdk_cloudformation::types::AutoDeployment::builder()
        .enabled(true)
        .retain_stacks_on_account_removal(retain)
        .build()
}

fn managed_execution() -> aws_sdk_cloudformation::types::ManagedExecution {
    // Queues a conflicting operation instead of refusing it (API_ManagedExecution).
    aws_sdk_cloudformation::types::ManagedExecution::builder()
        .active(true)
        .build()
}

pub async fn create(cfn: &Client, d: &Definition<'_>) -> Result<String, Error> {
    use aws_sdk_cloudformation::types::{Capability, PermissionModels};
    let mut req = cfn
        .create_stack_set()
        .stack_set_name(d.name)
        .description(d.description)
        .template_body(d.template_body)
        .set_parameters(Some(sdk_parameters(d.parameters)))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .managed_execution(managed_execution())
        .call_as(call_as(d.delegated));
    req = if d.targets.service_managed() {
        req.permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(auto_deployment(d.retain_stacks_on_account_removal))
    } else {
        req.permission_model(PermissionModels::SelfManaged)
    };
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws(format!("create stack set {}", d.name), &e))?;
    Ok(out.stack_set_id().unwrap_or_default().to_owned())
}

/// Starts the update of every instance to the new definition; its operation id.
pub async fn update(
    cfn: &Client,
    d: &Definition<'_>,
    preferences: Preferences,
) -> Result<String, Error> {
    use aws_sdk_cloudformation::types::Capability;
    let mut req = cfn
        .update_stack_set()
        .stack_set_name(d.name)
        .description(d.description)
        .template_body(d.template_body)
        .set_parameters(Some(sdk_parameters(d.parameters)))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .managed_execution(managed_execution())
        .operation_preferences(preferences.sdk())
        .call_as(call_as(d.delegated));
    if d.targets.service_managed() {
        req = req.auto_deployment(auto_deployment(d.retain_stacks_on_account_removal));
    }
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws(format!("update stack set {}", d.name), &e))?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

/// The deployment targets and regions of an operation on `pairs`: their accounts
/// (self-managed), or the stack set's OUs (service-managed operations name OUs, not accounts).
fn targets_of(d: &Definition<'_>, pairs: &[(String, String)]) -> (DeploymentTargets, Vec<String>) {
    let (accounts, regions) = axes(pairs);
    let targets = match d.targets {
        Targets::Accounts(_) => Targets::Accounts(accounts),
        ous => ous.clone(),
    };
    (targets.deployment_targets(), regions)
}

/// Starts creating instances: for `pairs` (self-managed) or the target OUs × `regions`.
pub async fn create_instances(
    cfn: &Client,
    d: &Definition<'_>,
    pairs: &[(String, String)],
    preferences: Preferences,
) -> Result<String, Error> {
    let (targets, regions) = targets_of(d, pairs);
    let out = cfn
        .create_stack_instances()
        .stack_set_name(d.name)
        .deployment_targets(targets)
        .set_regions(Some(regions))
        .operation_preferences(preferences.sdk())
        .call_as(call_as(d.delegated))
        .send()
        .await
        .map_err(|e| Error::aws(format!("create the instances of stack set {}", d.name), &e))?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

/// Starts updating existing instances to the stack set as it is (they missed an update, or
/// failed one).
pub async fn update_instances(
    cfn: &Client,
    d: &Definition<'_>,
    pairs: &[(String, String)],
    preferences: Preferences,
) -> Result<String, Error> {
    let (targets, regions) = targets_of(d, pairs);
    let out = cfn
        .update_stack_instances()
        .stack_set_name(d.name)
        .deployment_targets(targets)
        .set_regions(Some(regions))
        .operation_preferences(preferences.sdk())
        .call_as(call_as(d.delegated))
        .send()
        .await
        .map_err(|e| Error::aws(format!("update the instances of stack set {}", d.name), &e))?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

/// Starts deleting every instance (their stacks too: `RetainStacks` false).
pub async fn delete_instances(
    cfn: &Client,
    name: &str,
    info: &StackSetInfo,
    existing: &[Instance],
    preferences: Preferences,
    delegated: bool,
) -> Result<String, Error> {
    let pairs: Vec<_> = existing
        .iter()
        .map(|i| (i.account.clone(), i.region.clone()))
        .collect();
    let (accounts, regions) = axes(&pairs);
    let targets = if info.permission_model == "SERVICE_MANAGED" {
        let mut ous: BTreeSet<String> = info.organizational_unit_ids.iter().cloned().collect();
        ous.extend(
            existing
                .iter()
                .filter_map(|i| i.organizational_unit_id.clone()),
        );
        Targets::Ous(ous.into_iter().collect())
    } else {
        Targets::Accounts(accounts)
    };
    let out = cfn
        .delete_stack_instances()
        .stack_set_name(name)
        .deployment_targets(targets.deployment_targets())
        .set_regions(Some(regions))
        .retain_stacks(false)
        .operation_preferences(preferences.sdk())
        .call_as(call_as(delegated))
        .send()
        .await
        .map_err(|e| Error::aws(format!("delete the instances of stack set {name}"), &e))?;
    Ok(out.operation_id().unwrap_or_default().to_owned())
}

pub async fn delete(cfn: &Client, name: &str, delegated: bool) -> Result<(), Error> {
    cfn.delete_stack_set()
        .stack_set_name(name)
        .call_as(call_as(delegated))
        .send()
        .await
        .map_err(|e| Error::aws(format!("delete stack set {name}"), &e))?;
    Ok(())
}

/// How an operation ended, and each account × region's result.
#[derive(Clone, Debug, Serialize)]
pub struct Ended {
    pub operation_id: String,
    pub action: String,
    /// SUCCEEDED, FAILED or STOPPED
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub results: Vec<Outcome>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub account: String,
    pub region: String,
    /// SUCCEEDED, FAILED, CANCELLED, ...
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

impl Ended {
    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.results.iter().filter(|r| r.status != "SUCCEEDED")
    }
}

/// How often an operation is polled: StackSets operations take minutes on AWS.
pub fn poll_interval(local: bool) -> Duration {
    Duration::from_millis(if local { 500 } else { 5000 })
}

/// Follows an operation to its end: a line for each account × region whose state changes, the
/// table of counts as the status line.
pub async fn follow(
    cfn: &Client,
    name: &str,
    operation_id: &str,
    delegated: bool,
    poll: Duration,
    progress: &mut Progress<'_>,
) -> Result<Ended, Error> {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    loop {
        let op = cfn
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(operation_id)
            .call_as(call_as(delegated))
            .send()
            .await
            .map_err(|e| Error::aws(format!("follow operation {operation_id} of {name}"), &e))?;
        let op = op
            .stack_set_operation()
            .cloned()
            .unwrap_or_else(|| aws_sdk_cloudformation::types::StackSetOperation::builder().build());
        let status = op
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let results = results(cfn, name, operation_id, delegated).await?;
        for r in &results {
            let key = (r.account.clone(), r.region.clone());
            if seen.get(&key) != Some(&r.status) {
                progress.line(&format!(
                    "  {}  {:<14}  {}{}",
                    r.account,
                    r.region,
                    r.status,
                    r.status_reason
                        .as_deref()
                        .filter(|_| r.status != "SUCCEEDED")
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                ));
                seen.insert(key, r.status.clone());
            }
        }
        if !matches!(status.as_str(), "RUNNING" | "QUEUED" | "STOPPING" | "") {
            return Ok(Ended {
                operation_id: operation_id.to_owned(),
                action: op
                    .action()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
                status,
                status_reason: op.status_reason().map(str::to_owned),
                results,
            });
        }
        progress.status(&format!(
            "operation {operation_id}: {status}, {}",
            counts(&results)
        ));
        tokio::time::sleep(poll).await;
    }
}

async fn results(
    cfn: &Client,
    name: &str,
    operation_id: &str,
    delegated: bool,
) -> Result<Vec<Outcome>, Error> {
    let mut found = Vec::new();
    let mut pages = cfn
        .list_stack_set_operation_results()
        .stack_set_name(name)
        .operation_id(operation_id)
        .call_as(call_as(delegated))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| Error::aws(format!("list the results of operation {operation_id}"), &e))?;
        for r in page.summaries() {
            found.push(Outcome {
                account: r.account().unwrap_or_default().to_owned(),
                region: r.region().unwrap_or_default().to_owned(),
                status: r
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: r.status_reason().map(str::to_owned),
            });
        }
    }
    found.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(found)
}

/// `2 SUCCEEDED, 1 RUNNING`
fn counts(results: &[Outcome]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        *by.entry(r.status.as_str()).or_default() += 1;
    }
    if by.is_empty() {
        return "no instance started yet".into();
    }
    by.iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Accounts down, regions across, a value in each cell.
pub struct Table<'a> {
    pub cells: BTreeMap<(&'a str, &'a str), String>,
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let accounts: BTreeSet<&str> = self.cells.keys().map(|(a, _)| *a).collect();
        let regions: BTreeSet<&str> = self.cells.keys().map(|(_, r)| *r).collect();
        let width = |r: &str| {
            self.cells
                .iter()
                .filter(|((_, region), _)| *region == r)
                .map(|(_, v)| v.len())
                .max()
                .unwrap_or(0)
                .max(r.len())
        };
        write!(f, "  {:<12}", "account")?;
        for r in &regions {
            write!(f, "  {:<w$}", r, w = width(r))?;
        }
        writeln!(f)?;
        for a in &accounts {
            write!(f, "  {a:<12}")?;
            for r in &regions {
                let v = self.cells.get(&(*a, *r)).map_or("-", String::as_str);
                write!(f, "  {v:<w$}", w = width(r))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(account: &str, region: &str, status: &str) -> Instance {
        Instance {
            account: account.into(),
            region: region.into(),
            status: status.into(),
            detailed_status: "SUCCEEDED".into(),
            status_reason: None,
            organizational_unit_id: None,
            drift_status: "NOT_CHECKED".into(),
            last_operation_id: None,
            stack_id: None,
        }
    }

    #[test]
    fn the_failure_tolerance_bounds_how_many_accounts_run_at_once() {
        let p = |max_concurrent_percent, failure_tolerance_percent| Preferences {
            max_concurrent_percent,
            failure_tolerance_percent,
        };
        // No tolerance: one at a time, whatever the share.
        assert_eq!(p(100, 0).per_region(40), (1, 0));
        assert_eq!(p(25, 10).per_region(40), (5, 4));
        assert_eq!(p(25, 50).per_region(40), (10, 20));
        assert_eq!(p(100, 100).per_region(3), (3, 3));
        // Rounded down, at least one.
        assert_eq!(p(25, 34).per_region(3), (1, 1));
        assert_eq!(p(100, 34).per_region(3), (2, 1));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_preview_creates_what_is_missing_and_updates_what_is_not_current() {
        let accounts = strings(&["111111111111", "222222222222"]);
        let regions = strings(&["us-east-1", "eu-west-1"]);
        let existing = [
            instance("111111111111", "us-east-1", "CURRENT"),
            instance("111111111111", "eu-west-1", "OUTDATED"),
            // Not a target: left alone.
            instance("333333333333", "us-east-1", "CURRENT"),
        ];
        let plan = preview(&accounts, &regions, &existing, false);
        let actions: Vec<_> = plan
            .iter()
            .map(|p| (p.account.as_str(), p.region.as_str(), p.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("111111111111", "us-east-1", Action::Unchanged),
                ("111111111111", "eu-west-1", Action::Update),
                ("222222222222", "us-east-1", Action::Create),
                ("222222222222", "eu-west-1", Action::Create),
            ]
        );
        let steps = Steps::of(&plan, false);
        assert!(!steps.update_stack_set);
        assert_eq!(
            steps.update_instances,
            [("111111111111".to_owned(), "eu-west-1".to_owned())]
        );
        assert_eq!(steps.create.len(), 2);
    }

    #[test]
    fn a_changed_stack_set_updates_every_existing_instance_in_one_operation() {
        let accounts = strings(&["111111111111"]);
        let regions = strings(&["us-east-1"]);
        let existing = [instance("111111111111", "us-east-1", "CURRENT")];
        let plan = preview(&accounts, &regions, &existing, true);
        assert_eq!(plan[0].action, Action::Update);
        let steps = Steps::of(&plan, true);
        assert!(steps.update_stack_set);
        assert!(steps.update_instances.is_empty() && steps.create.is_empty());
        assert!(!steps.is_empty());
    }

    #[test]
    fn nothing_to_do_when_every_target_is_current_and_nothing_changed() {
        let accounts = strings(&["111111111111"]);
        let regions = strings(&["us-east-1", "eu-west-1"]);
        let existing = [
            instance("111111111111", "us-east-1", "CURRENT"),
            instance("111111111111", "eu-west-1", "CURRENT"),
        ];
        let steps = Steps::of(&preview(&accounts, &regions, &existing, false), false);
        assert!(steps.is_empty());
    }

    #[test]
    fn operations_take_the_accounts_and_regions_of_their_pairs() {
        let pairs = [
            ("222222222222".to_owned(), "eu-west-1".to_owned()),
            ("111111111111".to_owned(), "eu-west-1".to_owned()),
            ("111111111111".to_owned(), "us-east-1".to_owned()),
        ];
        let (accounts, regions) = axes(&pairs);
        assert_eq!(accounts, ["111111111111", "222222222222"]);
        assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    }

    #[test]
    fn the_table_has_an_account_per_row_and_a_region_per_column() {
        let mut cells = BTreeMap::new();
        cells.insert(("111111111111", "us-east-1"), "CURRENT".to_owned());
        cells.insert(
            ("111111111111", "eu-west-1"),
            "OUTDATED (FAILED)".to_owned(),
        );
        cells.insert(("222222222222", "us-east-1"), "CURRENT".to_owned());
        let text = Table { cells }.to_string();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].contains("account") && lines[0].find("eu-west-1") < lines[0].find("us-east-1")
        );
        assert!(lines[1].starts_with("  111111111111  OUTDATED (FAILED)  CURRENT"));
        // A missing cell is a dash, in its region's column.
        assert!(lines[2].starts_with("  222222222222  -"));
        assert!(lines[2].trim_end().ends_with("CURRENT"));
    }

    #[test]
    fn counts_say_how_many_are_in_each_state() {
        let r = |s: &str| Outcome {
            account: "1".into(),
            region: "r".into(),
            status: s.into(),
            status_reason: None,
        };
        assert_eq!(
            counts(&[r("SUCCEEDED"), r("RUNNING"), r("SUCCEEDED")]),
            "1 RUNNING, 2 SUCCEEDED"
        );
        assert_eq!(counts(&[]), "no instance started yet");
    }
}
