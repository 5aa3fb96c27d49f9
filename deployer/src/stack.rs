//! The stack lifecycle: what a stack's status means and what `deploy` does with it, change
//! sets, and running an operation while following its events to a terminal state, with
//! adaptive polling and the root cause on failure.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{ChangeAction, ChangeSetStatus, Replacement, ResourceChange};
use serde::Serialize;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::SdkError;

use crate::aws::is_stack_missing;
use crate::error::Error;
use crate::event::{Event, root_cause};
use crate::progress::Progress;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StackInfo {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

/// The stack by name or id, or `None` when there is none.
pub async fn describe(cfn: &Client, name_or_id: &str) -> Result<Option<StackInfo>, Error> {
    let resp = match cfn.describe_stacks().stack_name(name_or_id).send().await {
        Ok(r) => r,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| is_stack_missing(s.code(), s.message())) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(Error::aws(format!("describe stack {name_or_id}"), &e)),
    };
    Ok(resp
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(StackInfo::from))
}

impl From<aws_sdk_cloudformation::types::Stack> for StackInfo {
    fn from(s: aws_sdk_cloudformation::types::Stack) -> StackInfo {
        StackInfo {
            name: s.stack_name.unwrap_or_default(),
            id: s.stack_id.unwrap_or_default(),
            status: s
                .stack_status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason,
            outputs: s
                .outputs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| Some((o.output_key?, o.output_value.unwrap_or_default())))
                .collect(),
        }
    }
}

/// How a stack status reads when following an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    InProgress,
    Complete,
    Failed,
    Deleted,
}

/// What `deploy` does with a stack found in a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDeploy {
    /// No stack yet (or only the empty one a create change set leaves): a create change set.
    Create,
    /// A failed first create leaves a stack that can only be deleted: delete it, then create.
    Recreate,
    Update,
    /// Another operation is running.
    Busy,
    /// An update's rollback failed: only continuing the rollback gets it out.
    ContinueRollback,
    /// A rollback or delete failed: only a delete that succeeds gets it out.
    DeleteOnly,
}

/// Every CloudFormation stack status, how it reads, and what `deploy` does with it.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes>
const STATUSES: [(&str, State, OnDeploy); 23] = {
    use OnDeploy::*;
    use State::{Complete, Deleted, Failed, InProgress};
    [
        ("CREATE_IN_PROGRESS", InProgress, Busy),
        ("CREATE_FAILED", Failed, Recreate),
        ("CREATE_COMPLETE", Complete, Update),
        ("ROLLBACK_IN_PROGRESS", InProgress, Busy),
        ("ROLLBACK_FAILED", Failed, DeleteOnly),
        ("ROLLBACK_COMPLETE", Failed, Recreate),
        ("DELETE_IN_PROGRESS", InProgress, Busy),
        ("DELETE_FAILED", Failed, DeleteOnly),
        // A deleted stack is not found by name; by id it is a new stack's past.
        ("DELETE_COMPLETE", Deleted, Create),
        ("UPDATE_IN_PROGRESS", InProgress, Busy),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", InProgress, Busy),
        ("UPDATE_COMPLETE", Complete, Update),
        ("UPDATE_FAILED", Failed, Update),
        ("UPDATE_ROLLBACK_IN_PROGRESS", InProgress, Busy),
        ("UPDATE_ROLLBACK_FAILED", Failed, ContinueRollback),
        (
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            InProgress,
            Busy,
        ),
        ("UPDATE_ROLLBACK_COMPLETE", Failed, Update),
        ("REVIEW_IN_PROGRESS", InProgress, Create),
        ("IMPORT_IN_PROGRESS", InProgress, Busy),
        ("IMPORT_COMPLETE", Complete, Update),
        ("IMPORT_ROLLBACK_IN_PROGRESS", InProgress, Busy),
        ("IMPORT_ROLLBACK_FAILED", Failed, Update),
        ("IMPORT_ROLLBACK_COMPLETE", Failed, Update),
    ]
};

fn lookup(status: &str) -> Option<(State, OnDeploy)> {
    STATUSES
        .iter()
        .find(|(s, _, _)| *s == status)
        .map(|&(_, state, on_deploy)| (state, on_deploy))
}

pub fn classify(status: &str) -> State {
    match lookup(status) {
        Some((state, _)) => state,
        // A status newer than this table: its suffix still says whether it is running.
        None if status.ends_with("_IN_PROGRESS") => State::InProgress,
        None => State::Failed,
    }
}

/// What `deploy` does next, from the status of the stack it found (`None`: no stack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Create,
    /// Delete the stack a failed create left, then create it again.
    Recreate,
    Update,
}

impl Next {
    /// Whether the change set creates the stack.
    pub fn creates(self) -> bool {
        self != Next::Update
    }

    pub fn verb(self) -> &'static str {
        if self.creates() {
            "creating"
        } else {
            "updating"
        }
    }
}

/// The stack-state policy of `deploy`; a stack it cannot deploy over is an error that says what
/// to do.
pub fn next_step(stack_name: &str, status: Option<&str>) -> Result<Next, Error> {
    let Some(status) = status else {
        return Ok(Next::Create);
    };
    let on_deploy = match lookup(status) {
        Some((_, on_deploy)) => on_deploy,
        None if status.ends_with("_IN_PROGRESS") => OnDeploy::Busy,
        None => OnDeploy::Update,
    };
    let stuck = |hint: String| Error::StackStuck {
        stack: stack_name.to_owned(),
        status: status.to_owned(),
        hint,
    };
    match on_deploy {
        OnDeploy::Create => Ok(Next::Create),
        OnDeploy::Recreate => Ok(Next::Recreate),
        OnDeploy::Update => Ok(Next::Update),
        OnDeploy::Busy => Err(Error::StackBusy {
            stack: stack_name.to_owned(),
            status: status.to_owned(),
        }),
        OnDeploy::ContinueRollback => Err(stuck(format!(
            "continue the rollback in the console or with `aws cloudformation continue-update-rollback --stack-name {stack_name}`, then run `enitrunk deploy` again"
        ))),
        OnDeploy::DeleteOnly => Err(stuck(
            "it can only be deleted: fix what blocks the delete (see its events), run `enitrunk destroy`, then deploy again".into(),
        )),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `+`, `>` or `-`.
    pub symbol: &'static str,
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: bool,
}

impl From<ResourceChange> for Change {
    fn from(rc: ResourceChange) -> Change {
        let action = rc.action.clone().unwrap_or(ChangeAction::Modify);
        let symbol = match action {
            ChangeAction::Add | ChangeAction::Import => "+",
            ChangeAction::Remove => "-",
            _ => ">",
        };
        Change {
            symbol,
            action: action.as_str().to_owned(),
            logical_id: rc.logical_resource_id.unwrap_or_default(),
            resource_type: rc.resource_type.unwrap_or_default(),
            replacement: matches!(
                rc.replacement,
                Some(Replacement::True | Replacement::Conditional)
            ),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub changes: Vec<Change>,
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .changes
            .iter()
            .map(|c| c.logical_id.len())
            .max()
            .unwrap_or(0);
        for c in &self.changes {
            let replace = if c.replacement { "  (replacement)" } else { "" };
            writeln!(
                f,
                "  {} {:<width$}  {}{replace}",
                c.symbol, c.logical_id, c.resource_type
            )?;
        }
        let count = |s| self.changes.iter().filter(|c| c.symbol == s).count();
        write!(
            f,
            "  {} to add, {} to modify, {} to remove",
            count("+"),
            count(">"),
            count("-")
        )?;
        let replaced = self.changes.iter().filter(|c| c.replacement).count();
        if replaced > 0 {
            write!(f, " ({replaced} replaced)")?;
        }
        writeln!(f)
    }
}

pub enum ChangeSetOutcome {
    Ready(ChangeSet),
    NoChanges,
}

pub struct ChangeSetRequest<'a> {
    pub stack_name: &'a str,
    pub name: &'a str,
    pub create: bool,
    pub template_body: &'a str,
    pub parameters: Vec<(&'a str, String)>,
}

/// A name for a new change set, known before it is asked for, so that an interrupted request
/// can still be cleaned up.
pub fn new_change_set_name() -> String {
    format!(
        "enitrunk-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    )
}

/// Creates a change set and waits until CloudFormation has computed it.
pub async fn create_change_set(
    cfn: &Client,
    req: ChangeSetRequest<'_>,
) -> Result<ChangeSetOutcome, Error> {
    use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
    let name = req.name.to_owned();
    let created = cfn
        .create_change_set()
        .stack_name(req.stack_name)
        .change_set_name(&name)
        .change_set_type(if req.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(req.template_body)
        .set_parameters(Some(
            req.parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(*k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("enitrunk deploy")
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                format!("create change set for stack {}", req.stack_name),
                &e,
            )
        })?;
    let id = created.id.unwrap_or(name.clone());
    wait_for_change_set(cfn, req.stack_name, id, name).await
}

/// Polls a change set until CloudFormation has computed it, or found nothing to change.
async fn wait_for_change_set(
    cfn: &Client,
    stack_name: &str,
    id: String,
    name: String,
) -> Result<ChangeSetOutcome, Error> {
    let mut delay = Duration::from_millis(200);
    loop {
        let cs = cfn
            .describe_change_set()
            .change_set_name(&id)
            .send()
            .await
            .map_err(|e| Error::aws(format!("describe change set {name}"), &e))?;
        match cs.status {
            Some(ChangeSetStatus::CreateComplete) => {
                let changes = cs
                    .changes
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.resource_change)
                    .map(Change::from)
                    .collect();
                return Ok(ChangeSetOutcome::Ready(ChangeSet {
                    id,
                    name,
                    stack_id: cs.stack_id.unwrap_or_default(),
                    changes,
                }));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = cs.status_reason.unwrap_or_default();
                // Delete it either way: a failed change set stays listed on the stack.
                let _ = cfn.delete_change_set().change_set_name(&id).send().await;
                if crate::aws::is_no_changes(&reason) {
                    return Ok(ChangeSetOutcome::NoChanges);
                }
                return Err(Error::ChangeSetFailed {
                    stack: stack_name.to_owned(),
                    reason,
                });
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(3));
    }
}

/// When a resource of the stack was last created or updated, in seconds since the epoch.
pub async fn resource_changed_at(
    cfn: &Client,
    stack: &str,
    logical_id: &str,
) -> Result<Option<i64>, Error> {
    let resp = cfn
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
        .map_err(|e| Error::aws(format!("describe {logical_id} of stack {stack}"), &e))?;
    Ok(resp
        .stack_resource_detail()
        .and_then(|d| d.last_updated_timestamp().map(|t| t.secs())))
}

/// The newest event id of a stack, to show only what happens after it.
pub async fn newest_event(cfn: &Client, stack: &str) -> Result<Option<String>, Error> {
    let resp = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| Error::aws(format!("describe events of stack {stack}"), &e))?;
    Ok(resp
        .stack_events
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|e| e.event_id))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// The stack as it ended, outputs included.
    pub stack: StackInfo,
    pub events: Vec<Event>,
}

/// Follows `stack_id` until its status is terminal, printing each new event. Polls every
/// 0.5 s at first, backing off to 5 s while nothing happens, back to fast when events come.
/// A poll that fails (throttling beyond the SDK's retries, the network) is retried a few times;
/// when it keeps failing, or the credentials stop working, the error says that the stack goes on.
pub async fn watch(
    cfn: &Client,
    stack_id: &str,
    after_event: Option<&str>,
    verb: &'static str,
    progress: &mut Progress<'_>,
) -> Result<Watched, Error> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut all = Vec::new();
    let mut delay = Duration::from_millis(500);
    let mut failures = 0;
    loop {
        let fresh = match poll(cfn, stack_id, after_event, &mut seen).await {
            Ok(fresh) => fresh,
            Err(failure) => {
                failures += 1;
                let lost = |why: String| Error::LostTrack {
                    stack: name_of(stack_id).to_owned(),
                    verb,
                    why,
                };
                match failure {
                    Poll::Credentials(why) => {
                        return Err(lost(format!(
                            "the credentials stopped working ({why}); log in again"
                        )));
                    }
                    Poll::Failed(e) if failures > WATCH_RETRIES => {
                        return Err(lost(format!("{e} ({WATCH_RETRIES} retries)")));
                    }
                    Poll::Failed(e) => {
                        let wait = Duration::from_secs(5) * failures;
                        progress.status(&format!(
                            "{verb}: cannot read the stack ({e}); retrying in {} s",
                            wait.as_secs()
                        ));
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
            }
        };
        failures = 0;
        if !fresh.events.is_empty() {
            delay = Duration::from_millis(500);
        }
        for e in fresh.events {
            progress.line(&e.to_string());
            all.push(e);
        }
        if let Some(info) = fresh.ended {
            progress.finish();
            return Ok(Watched {
                stack: info,
                events: all,
            });
        }
        let done = all
            .iter()
            .filter(|e| !e.is_stack() && e.status.ends_with("_COMPLETE"))
            .count();
        let current = all
            .iter()
            .rev()
            .find(|e| !e.is_stack())
            .map(|e| format!(", last: {} {}", e.logical_id, e.status))
            .unwrap_or_default();
        progress.status(&format!(
            "{verb}: {}, {done} resources done{current}",
            fresh.status
        ));
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// The stack name in a stack id (`arn:...:stack/NAME/UUID`); a name is its own name.
fn name_of(stack_id: &str) -> &str {
    stack_id
        .split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(stack_id)
}

/// Failed polls in a row that `watch` retries before it stops following.
const WATCH_RETRIES: u32 = 4;

/// One look at a stack: its new events, its status, and the final stack once it has ended.
struct Polled {
    events: Vec<Event>,
    status: String,
    ended: Option<StackInfo>,
}

enum Poll {
    /// Expired, rejected or missing credentials: retrying cannot help.
    Credentials(String),
    Failed(Error),
}

fn poll_failure<E, R>(context: String, e: SdkError<E, R>) -> Poll
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default();
    if crate::aws::is_rejected_credentials(code) {
        Poll::Credentials(code.to_owned())
    } else if crate::aws::is_missing_credentials(&e) {
        Poll::Credentials("no credentials could be loaded".to_owned())
    } else {
        Poll::Failed(Error::aws(context, &e))
    }
}

async fn poll(
    cfn: &Client,
    stack_id: &str,
    after_event: Option<&str>,
    seen: &mut HashSet<String>,
) -> Result<Polled, Poll> {
    let mut events = new_events(cfn, stack_id, after_event, seen).await?;
    let described = cfn
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| poll_failure(format!("describe stack {stack_id}"), e))?;
    // A deleted stack looked up by name is gone; by id it reads DELETE_COMPLETE.
    let info = described
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .map_or_else(
            || StackInfo {
                status: "DELETE_COMPLETE".to_owned(),
                ..StackInfo::default()
            },
            StackInfo::from,
        );
    if classify(&info.status) == State::InProgress {
        return Ok(Polled {
            events,
            status: info.status,
            ended: None,
        });
    }
    // The last events can land between the two calls.
    events.extend(new_events(cfn, stack_id, after_event, seen).await?);
    Ok(Polled {
        events,
        status: info.status.clone(),
        ended: Some(info),
    })
}

/// Events newer than `after_event` not yet seen, oldest first.
async fn new_events(
    cfn: &Client,
    stack_id: &str,
    after_event: Option<&str>,
    seen: &mut HashSet<String>,
) -> Result<Vec<Event>, Poll> {
    let mut fresh = Vec::new();
    let mut next: Option<String> = None;
    'pages: loop {
        let resp = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| poll_failure(format!("describe events of stack {stack_id}"), e))?;
        for e in resp.stack_events.as_deref().unwrap_or_default() {
            let id = e.event_id.clone().unwrap_or_default();
            if Some(id.as_str()) == after_event || seen.contains(&id) {
                break 'pages;
            }
            seen.insert(id);
            fresh.push(Event::from(e));
        }
        match resp.next_token {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    fresh.reverse();
    Ok(fresh)
}

/// Starts an operation on a stack and follows it to its end: remembers the newest event (so only
/// this operation's events show), runs `start`, watches, and stops waiting on Ctrl-C. The final
/// stack when it ends `wanted`; otherwise an error with the first resource that failed.
pub async fn run_and_watch(
    cfn: &Client,
    stack_name: &str,
    stack_id: &str,
    verb: &'static str,
    wanted: State,
    progress: &mut Progress<'_>,
    start: impl Future<Output = Result<(), Error>>,
) -> Result<StackInfo, Error> {
    let after = newest_event(cfn, stack_id).await?;
    start.await?;
    let watched = tokio::select! {
        w = watch(cfn, stack_id, after.as_deref(), verb, progress) => w?,
        _ = tokio::signal::ctrl_c() => {
            return Err(Error::Interrupted { stack: stack_name.to_owned(), verb });
        }
    };
    if classify(&watched.stack.status) != wanted {
        return Err(Error::Failed {
            stack: stack_name.to_owned(),
            cause: root_cause(&watched.events).cloned().map(Box::new),
            status: watched.stack.status,
            status_reason: watched.stack.status_reason,
        });
    }
    Ok(watched.stack)
}

/// Executes a change set and follows the stack until it is created or updated.
pub async fn execute(
    cfn: &Client,
    stack_name: &str,
    change_set: &ChangeSet,
    verb: &'static str,
    progress: &mut Progress<'_>,
) -> Result<StackInfo, Error> {
    let start = async {
        cfn.execute_change_set()
            .change_set_name(&change_set.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::aws(format!("execute change set {}", change_set.name), &e))
    };
    run_and_watch(
        cfn,
        stack_name,
        &change_set.stack_id,
        verb,
        State::Complete,
        progress,
        start,
    )
    .await
}

/// Deletes a stack and follows it until it is gone.
pub async fn delete(
    cfn: &Client,
    stack: &StackInfo,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let start = async {
        cfn.delete_stack()
            .stack_name(&stack.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::aws(format!("delete stack {}", stack.name), &e))
    };
    run_and_watch(
        cfn,
        &stack.name,
        &stack.id,
        "deleting",
        State::Deleted,
        progress,
        start,
    )
    .await
    .map(|_| ())
}

/// Removes a change set that will not be executed, and the empty stack in REVIEW_IN_PROGRESS a
/// create change set leaves behind. Best effort: the user already has their answer.
pub async fn discard(cfn: &Client, change_set: &ChangeSet, created_stack: bool) {
    let _ = cfn
        .delete_change_set()
        .change_set_name(&change_set.id)
        .send()
        .await;
    if created_stack {
        let _ = cfn
            .delete_stack()
            .stack_name(&change_set.stack_id)
            .send()
            .await;
    }
}

/// A change set `deploy` asked for and has not seen executed: what an interrupted deploy removes.
#[derive(Clone, Debug)]
pub struct PendingChangeSet {
    pub stack_name: String,
    pub name: String,
    /// A create change set: CloudFormation made an empty REVIEW_IN_PROGRESS stack for it.
    pub creates: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Undone {
    /// What was removed, for the message; empty when nothing had been created yet.
    Removed(Vec<String>),
    /// The change set was already executing: the stack operation goes on.
    Executing,
}

/// How long `undo` waits for a change set that CloudFormation is still computing (it cannot be
/// deleted until then).
const UNDO_WAIT: Duration = Duration::from_secs(60);

/// Removes what an interrupted deploy left: its change set, unless it runs, and the stack the
/// change set created while that is still an empty REVIEW_IN_PROGRESS stack. A stack with
/// resources is never deleted.
pub async fn undo(cfn: &Client, pending: &PendingChangeSet) -> Result<Undone, Error> {
    use aws_sdk_cloudformation::types::ExecutionStatus;
    let PendingChangeSet {
        stack_name, name, ..
    } = pending;
    let started = tokio::time::Instant::now();
    let change_set = loop {
        let described = cfn
            .describe_change_set()
            .stack_name(stack_name)
            .change_set_name(name)
            .send()
            .await;
        let cs = match described {
            Ok(cs) => cs,
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_change_set_not_found_exception() || is_stack_missing(s.code(), s.message())
                }) =>
            {
                break None;
            }
            Err(e) => return Err(Error::aws(format!("describe change set {name}"), &e)),
        };
        let computing = matches!(
            cs.status,
            Some(ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress)
        );
        if !computing || started.elapsed() > UNDO_WAIT {
            break Some(cs);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let mut removed = Vec::new();
    if let Some(cs) = change_set {
        if matches!(
            cs.execution_status,
            Some(
                ExecutionStatus::ExecuteInProgress
                    | ExecutionStatus::ExecuteComplete
                    | ExecutionStatus::ExecuteFailed
            )
        ) {
            return Ok(Undone::Executing);
        }
        cfn.delete_change_set()
            .stack_name(stack_name)
            .change_set_name(name)
            .send()
            .await
            .map_err(|e| Error::aws(format!("delete change set {name}"), &e))?;
        removed.push(format!("change set {name}"));
    }
    let stack = match pending.creates {
        true => describe(cfn, stack_name).await?,
        false => None,
    };
    if let Some(stack) = stack.filter(|s| s.status == "REVIEW_IN_PROGRESS") {
        cfn.delete_stack()
            .stack_name(&stack.id)
            .send()
            .await
            .map_err(|e| Error::aws(format!("delete stack {stack_name}"), &e))?;
        removed.push(format!(
            "the empty stack {stack_name} (REVIEW_IN_PROGRESS, no resources)"
        ));
    }
    Ok(Undone::Removed(removed))
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    use super::*;

    const ID: &str = "arn:aws:cloudformation:us-east-1:000000000000:stack/demo/1";

    fn sdk_event(id: &str, logical: &str, status: ResourceStatus) -> StackEvent {
        StackEvent::builder()
            .event_id(id)
            .stack_id(ID)
            .stack_name("demo")
            .timestamp(DateTime::from_secs(1_764_072_000))
            .logical_resource_id(logical)
            .resource_type(if logical == "demo" {
                "AWS::CloudFormation::Stack"
            } else {
                "AWS::EC2::VPC"
            })
            .resource_status(status)
            .build()
    }

    /// Newest first, as CloudFormation lists them; `e0` is from before this operation.
    fn events_page(ids: &[(&str, &str, ResourceStatus)]) -> DescribeStackEventsOutput {
        let mut events: Vec<StackEvent> = ids
            .iter()
            .map(|(id, logical, status)| sdk_event(id, logical, status.clone()))
            .collect();
        events.push(sdk_event("e0", "demo", ResourceStatus::UpdateComplete));
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(events))
            .build()
    }

    fn stack_status(status: StackStatus) -> DescribeStacksOutput {
        let stack = Stack::builder()
            .stack_name("demo")
            .stack_id(ID)
            .creation_time(DateTime::from_secs(1_764_072_000))
            .stack_status(status)
            .build();
        DescribeStacksOutput::builder().stacks(stack).build()
    }

    #[tokio::test]
    async fn watch_prints_each_new_event_once_in_order_and_stops_at_the_terminal_status() {
        use ResourceStatus::{CreateComplete, CreateInProgress};
        let first = mock!(Client::describe_stack_events).then_output(|| {
            events_page(&[
                ("e2", "Vpc", CreateComplete),
                ("e1", "Vpc", CreateInProgress),
            ])
        });
        let running = mock!(Client::describe_stacks)
            .then_output(|| stack_status(StackStatus::CreateInProgress));
        let second = mock!(Client::describe_stack_events).then_output(|| {
            events_page(&[
                ("e3", "demo", CreateComplete),
                ("e2", "Vpc", CreateComplete),
                ("e1", "Vpc", CreateInProgress),
            ])
        });
        let done = mock!(Client::describe_stacks)
            .then_output(|| stack_status(StackStatus::CreateComplete));
        let last = mock!(Client::describe_stack_events).then_output(|| {
            events_page(&[
                ("e3", "demo", CreateComplete),
                ("e2", "Vpc", CreateComplete),
                ("e1", "Vpc", CreateInProgress),
            ])
        });
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&first, &running, &second, &done, &last]
        );
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        let watched = watch(&cfn, ID, Some("e0"), "creating", &mut progress)
            .await
            .unwrap();
        assert_eq!(watched.stack.status, "CREATE_COMPLETE");
        let seen: Vec<(&str, &str)> = watched
            .events
            .iter()
            .map(|e| (e.logical_id.as_str(), e.status.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("Vpc", "CREATE_IN_PROGRESS"),
                ("Vpc", "CREATE_COMPLETE"),
                ("demo", "CREATE_COMPLETE")
            ]
        );
        // Every rule used once: no polling after the terminal status.
        assert_eq!(last.num_calls(), 1);
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
    }

    fn failing_poll(code: &'static str) -> aws_smithy_mocks::Rule {
        use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsError;
        use aws_smithy_types::error::ErrorMetadata;
        mock!(Client::describe_stack_events)
            .sequence()
            .error(move || {
                DescribeStackEventsError::generic(
                    ErrorMetadata::builder()
                        .code(code)
                        .message("from the test")
                        .build(),
                )
            })
            .times(20)
            .build()
    }

    fn no_sdk_retries(
        c: aws_sdk_cloudformation::config::Builder,
    ) -> aws_sdk_cloudformation::config::Builder {
        c.retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled())
    }

    // Paused time: the back-off sleeps of `watch` pass at once.
    #[tokio::test(start_paused = true)]
    async fn a_throttled_poll_is_retried_and_the_watch_goes_on() {
        use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsError;
        use aws_smithy_types::error::ErrorMetadata;
        let throttled = mock!(Client::describe_stack_events).then_error(|| {
            DescribeStackEventsError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let events = mock!(Client::describe_stack_events)
            .then_output(|| events_page(&[("e1", "demo", ResourceStatus::CreateComplete)]));
        let done = mock!(Client::describe_stacks)
            .then_output(|| stack_status(StackStatus::CreateComplete));
        let last = mock!(Client::describe_stack_events)
            .then_output(|| events_page(&[("e1", "demo", ResourceStatus::CreateComplete)]));
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&throttled, &events, &done, &last],
            no_sdk_retries
        );
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        let watched = watch(&cfn, ID, Some("e0"), "creating", &mut progress)
            .await
            .unwrap();
        assert_eq!(watched.stack.status, "CREATE_COMPLETE");
        assert_eq!((throttled.num_calls(), last.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_that_does_not_stop_ends_the_watch_saying_the_stack_keeps_going() {
        let throttled = failing_poll("Throttling");
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&throttled],
            no_sdk_retries
        );
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        let e = watch(&cfn, ID, Some("e0"), "creating", &mut progress)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::LostTrack { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("The stack keeps creating"), "{text}");
        assert!(text.contains("enitrunk status --stack-name demo"), "{text}");
        assert!(
            text.contains("Throttling") || text.contains("from the test"),
            "{text}"
        );
        assert_eq!(throttled.num_calls(), WATCH_RETRIES as usize + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_credentials_end_the_watch_at_once_saying_log_in_and_the_stack_keeps_going() {
        let expired = failing_poll("ExpiredToken");
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&expired],
            no_sdk_retries
        );
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, false);
        let text = watch(&cfn, ID, Some("e0"), "updating", &mut progress)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("credentials stopped working (ExpiredToken); log in again"),
            "{text}"
        );
        assert!(text.contains("The stack keeps updating"), "{text}");
        assert_eq!(expired.num_calls(), 1);
    }

    fn change_set(
        status: ChangeSetStatus,
        execution: aws_sdk_cloudformation::types::ExecutionStatus,
    ) -> aws_smithy_mocks::Rule {
        use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
        mock!(Client::describe_change_set)
            .match_requests(|r| {
                r.change_set_name() == Some("enitrunk-1") && r.stack_name() == Some("demo")
            })
            .then_output(move || {
                DescribeChangeSetOutput::builder()
                    .change_set_name("enitrunk-1")
                    .stack_id(ID)
                    .status(status.clone())
                    .execution_status(execution.clone())
                    .build()
            })
    }

    fn pending(creates: bool) -> PendingChangeSet {
        PendingChangeSet {
            stack_name: "demo".into(),
            name: "enitrunk-1".into(),
            creates,
        }
    }

    fn deletes_change_set() -> aws_smithy_mocks::Rule {
        mock!(Client::delete_change_set)
            .match_requests(|r| r.change_set_name() == Some("enitrunk-1") && r.stack_name() == Some("demo"))
            .then_output(|| aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput::builder().build())
    }

    fn deletes_stack() -> aws_smithy_mocks::Rule {
        mock!(Client::delete_stack)
            .match_requests(|r| r.stack_name() == Some(ID))
            .then_output(|| {
                aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput::builder()
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn an_interrupted_create_removes_its_change_set_once_computed_and_the_empty_stack() {
        use aws_sdk_cloudformation::types::ExecutionStatus;
        let computing = change_set(
            ChangeSetStatus::CreateInProgress,
            ExecutionStatus::Unavailable,
        );
        let ready = change_set(ChangeSetStatus::CreateComplete, ExecutionStatus::Available);
        let (delete_cs, review) = (
            deletes_change_set(),
            mock!(Client::describe_stacks)
                .then_output(|| stack_status(StackStatus::ReviewInProgress)),
        );
        let delete = deletes_stack();
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&computing, &ready, &delete_cs, &review, &delete],
            no_sdk_retries
        );
        let undone = undo(&cfn, &pending(true)).await.unwrap();
        let Undone::Removed(removed) = undone else {
            panic!("{undone:?}");
        };
        assert_eq!(
            removed,
            [
                "change set enitrunk-1",
                "the empty stack demo (REVIEW_IN_PROGRESS, no resources)"
            ]
        );
        assert_eq!((delete_cs.num_calls(), delete.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_interrupted_update_removes_only_its_change_set() {
        use aws_sdk_cloudformation::types::ExecutionStatus;
        let ready = change_set(ChangeSetStatus::CreateComplete, ExecutionStatus::Available);
        let delete_cs = deletes_change_set();
        // Sequential: any further call (describing or deleting the stack) would find no rule.
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&ready, &delete_cs],
            no_sdk_retries
        );
        assert_eq!(
            undo(&cfn, &pending(false)).await.unwrap(),
            Undone::Removed(vec!["change set enitrunk-1".into()])
        );
        assert_eq!(delete_cs.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_change_set_already_executing_is_left_to_run_and_its_stack_untouched() {
        use aws_sdk_cloudformation::types::ExecutionStatus;
        let running = change_set(
            ChangeSetStatus::CreateComplete,
            ExecutionStatus::ExecuteInProgress,
        );
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&running],
            no_sdk_retries
        );
        assert_eq!(undo(&cfn, &pending(true)).await.unwrap(), Undone::Executing);
    }

    #[tokio::test]
    async fn a_change_set_not_created_yet_still_removes_the_empty_stack_and_never_a_full_one() {
        use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetError;
        use aws_sdk_cloudformation::types::error::ChangeSetNotFoundException;
        let missing = || {
            mock!(Client::describe_change_set).then_error(|| {
                DescribeChangeSetError::ChangeSetNotFoundException(
                    ChangeSetNotFoundException::builder()
                        .message("ChangeSet [enitrunk-1] does not exist")
                        .build(),
                )
            })
        };
        let (gone, review, delete) = (
            missing(),
            mock!(Client::describe_stacks)
                .then_output(|| stack_status(StackStatus::ReviewInProgress)),
            deletes_stack(),
        );
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&gone, &review, &delete],
            no_sdk_retries
        );
        assert_eq!(
            undo(&cfn, &pending(true)).await.unwrap(),
            Undone::Removed(vec![
                "the empty stack demo (REVIEW_IN_PROGRESS, no resources)".into()
            ])
        );
        assert_eq!(delete.num_calls(), 1);

        let (gone, created) = (
            missing(),
            mock!(Client::describe_stacks)
                .then_output(|| stack_status(StackStatus::CreateInProgress)),
        );
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&gone, &created],
            no_sdk_retries
        );
        assert_eq!(
            undo(&cfn, &pending(true)).await.unwrap(),
            Undone::Removed(vec![])
        );
    }

    #[test]
    fn a_stack_id_names_its_stack() {
        assert_eq!(name_of(ID), "demo");
        assert_eq!(name_of("demo"), "demo");
    }

    #[test]
    fn statuses() {
        assert_eq!(classify("CREATE_COMPLETE"), State::Complete);
        assert_eq!(
            classify("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            State::InProgress
        );
        assert_eq!(classify("ROLLBACK_COMPLETE"), State::Failed);
        assert_eq!(classify("UPDATE_ROLLBACK_COMPLETE"), State::Failed);
        assert_eq!(classify("DELETE_COMPLETE"), State::Deleted);
    }

    /// What deploy does for each status, as a word: the plan, or which refusal.
    fn deploy_does(status: Option<&str>) -> &'static str {
        match next_step("demo", status) {
            Ok(Next::Create) => "create",
            Ok(Next::Recreate) => "recreate",
            Ok(Next::Update) => "update",
            Err(Error::StackBusy { .. }) => "wait",
            Err(Error::StackStuck { hint, .. }) if hint.contains("continue-update-rollback") => {
                "continue rollback"
            }
            Err(Error::StackStuck { hint, .. }) if hint.contains("can only be deleted") => {
                "delete only"
            }
            Err(e) => panic!("unexpected refusal for {status:?}: {e}"),
        }
    }

    #[test]
    fn what_deploy_does_with_a_stack_in_each_status() {
        let expected = [
            (None, "create"),
            (Some("REVIEW_IN_PROGRESS"), "create"),
            (Some("DELETE_COMPLETE"), "create"),
            (Some("CREATE_FAILED"), "recreate"),
            (Some("ROLLBACK_COMPLETE"), "recreate"),
            (Some("CREATE_COMPLETE"), "update"),
            (Some("UPDATE_COMPLETE"), "update"),
            (Some("UPDATE_FAILED"), "update"),
            (Some("UPDATE_ROLLBACK_COMPLETE"), "update"),
            (Some("IMPORT_COMPLETE"), "update"),
            (Some("IMPORT_ROLLBACK_FAILED"), "update"),
            (Some("IMPORT_ROLLBACK_COMPLETE"), "update"),
            (Some("CREATE_IN_PROGRESS"), "wait"),
            (Some("ROLLBACK_IN_PROGRESS"), "wait"),
            (Some("DELETE_IN_PROGRESS"), "wait"),
            (Some("UPDATE_IN_PROGRESS"), "wait"),
            (Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), "wait"),
            (Some("UPDATE_ROLLBACK_IN_PROGRESS"), "wait"),
            (Some("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"), "wait"),
            (Some("IMPORT_IN_PROGRESS"), "wait"),
            (Some("IMPORT_ROLLBACK_IN_PROGRESS"), "wait"),
            (Some("UPDATE_ROLLBACK_FAILED"), "continue rollback"),
            (Some("ROLLBACK_FAILED"), "delete only"),
            (Some("DELETE_FAILED"), "delete only"),
            // Newer than the table: its suffix decides.
            (Some("SOMETHING_NEW_IN_PROGRESS"), "wait"),
        ];
        for (status, does) in expected {
            assert_eq!(deploy_does(status), does, "{status:?}");
        }
        // Every status the SDK's model knows is in the table, and in the list above.
        use aws_sdk_cloudformation::types::StackStatus;
        for status in StackStatus::values() {
            assert!(
                lookup(status).is_some(),
                "{status} is missing from STATUSES"
            );
            assert!(
                expected.iter().any(|(s, _)| *s == Some(*status)),
                "{status} is missing from this test"
            );
        }
    }

    #[test]
    fn a_refusal_says_what_to_do() {
        let e = next_step("demo", Some("UPDATE_ROLLBACK_FAILED")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stack `demo` is UPDATE_ROLLBACK_FAILED; continue the rollback in the console or with \
             `aws cloudformation continue-update-rollback --stack-name demo`, then run `enitrunk deploy` again"
        );
    }

    #[test]
    fn change_set_summary() {
        let cs = ChangeSet {
            changes: vec![
                Change {
                    symbol: "+",
                    action: "Add".into(),
                    logical_id: "Vpc".into(),
                    resource_type: "AWS::EC2::VPC".into(),
                    replacement: false,
                },
                Change {
                    symbol: ">",
                    action: "Modify".into(),
                    logical_id: "InstanceRole".into(),
                    resource_type: "AWS::IAM::Role".into(),
                    replacement: true,
                },
                Change {
                    symbol: "-",
                    action: "Remove".into(),
                    logical_id: "Old".into(),
                    resource_type: "AWS::SQS::Queue".into(),
                    replacement: false,
                },
            ],
            ..ChangeSet::default()
        };
        insta::assert_snapshot!(cs.to_string(), @r"
          + Vpc           AWS::EC2::VPC
          > InstanceRole  AWS::IAM::Role  (replacement)
          - Old           AWS::SQS::Queue
          1 to add, 1 to modify, 1 to remove (1 replaced)
        ");
    }
}
