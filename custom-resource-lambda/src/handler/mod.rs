//! What the function does for Create, Update and Delete, and the guarantee around it: every
//! request that carries a `ResponseURL` is answered, whether the work succeeds, fails, panics or
//! runs out of time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::Instrument;

use crate::aws::{self, Clients, Tuning};
use crate::error::{Error, is_setting_gone};
use crate::physical_id::{self, PhysicalId, Target};
use crate::properties::{OnDelete, ResourceProperties, Scope, Spec};
use crate::read::{ReadRequest, ReadResponse};
use crate::request::{self, Action, Meta};
use crate::response::{self, Outcome, Status};

/// Keys of `Data`, readable with `Fn::GetAtt Resource.<Key>`.
pub const DATA_SETTING_NAME: &str = "SettingName";
pub const DATA_VALUE: &str = "Value";
pub const DATA_PRINCIPAL_ARN: &str = "PrincipalArn";

/// Kept until the PUT is done: time for it after the guard fires.
const PUT_RESERVE: Duration = Duration::from_millis(500);

/// What the work is doing now, so a timeout can say where it stalled; and, once it has changed
/// a setting, the physical id that names the change, so that a failure after it (read-back,
/// deadline) still answers with it and the rollback's Delete can undo it.
#[derive(Clone, Default)]
pub struct Progress {
    step: Arc<Mutex<String>>,
    changed: Arc<Mutex<Option<String>>>,
}

impl Progress {
    pub fn set(&self, step: impl Into<String>) {
        let step = step.into();
        tracing::info!("{step}");
        *self.step.lock().unwrap_or_else(|e| e.into_inner()) = step;
    }
    pub fn get(&self) -> String {
        self.step.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn changed(&self, physical_id: String) {
        *self.changed.lock().unwrap_or_else(|e| e.into_inner()) = Some(physical_id);
    }
    /// The id to answer a failure with: the change's, once there is one, else `fallback`.
    fn id_or(&self, fallback: String) -> String {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or(fallback)
    }
}

/// One function instance: its clients and settings, shared by its invocations.
#[derive(Clone)]
pub struct Function {
    pub clients: Clients,
    pub http: reqwest::Client,
    pub tuning: Tuning,
}

impl Function {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let clients = Clients::from_env().await?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Function {
            clients,
            http,
            tuning: Tuning::default(),
        })
    }

    /// The Lambda handler. A CloudFormation request gets `Ok` once CloudFormation has been
    /// answered (or cannot be): an `Err` would make Lambda invoke again, twice, a minute apart.
    /// A read request (a synchronous invocation, not retried) gets its settings or an error.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let (payload, context) = event.into_parts();
        let deadline = instant_of(context.deadline());
        if let Some(read) = ReadRequest::from_json(&payload) {
            let span = tracing::info_span!("read", lambda_request_id = %context.request_id);
            return async {
                let answer = match read {
                    Ok(request) => self.read(&request).await,
                    Err(e) => Err(e),
                };
                answer
                    .and_then(|r| {
                        serde_json::to_value(r).map_err(|e| Error::Request(e.to_string()))
                    })
                    .map_err(|e| {
                        tracing::error!(error = %e, "read failed");
                        Diagnostic {
                            error_type: "EniTrunking.ReadFailed".into(),
                            error_message: e.to_string(),
                        }
                    })
            }
            .instrument(span)
            .await;
        }
        let Some(meta) = Meta::from_json(&payload) else {
            tracing::error!(
                request_id = %context.request_id,
                "the event has no ResponseURL: it is not a CloudFormation custom resource request, and there is nowhere to answer"
            );
            return Ok(json!({"Status": "IGNORED", "Reason": "no ResponseURL in the event"}));
        };
        let span = tracing::info_span!(
            "request",
            request_type = meta.request_type.map(|t| t.as_str()).unwrap_or("?"),
            stack_id = %meta.stack_id,
            logical_resource_id = %meta.logical_resource_id,
            request_id = %meta.request_id,
            lambda_request_id = %context.request_id,
        );
        async move {
            let outcome = self.decide_within(payload, &meta, deadline).await;
            self.answer(&meta, &outcome, deadline).await;
            Ok(json!({
                "Status": match outcome.status { Status::Success => "SUCCESS", Status::Failed => "FAILED" },
                "PhysicalResourceId": outcome.physical_resource_id,
            }))
        }
        .instrument(span)
        .await
    }

    /// Runs the work with a panic catcher and a deadline guard around it.
    pub async fn decide_within(&self, payload: Value, meta: &Meta, deadline: Instant) -> Outcome {
        let progress = Progress::default();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let guard_at = deadline - self.tuning.guard_margin.min(remaining / 2);
        let work = {
            let (this, meta, progress) = (self.clone(), meta.clone(), progress.clone());
            tokio::spawn(
                async move { this.decide(payload, &meta, &progress).await }.in_current_span(),
            )
        };
        let abort = work.abort_handle();
        let fallback_id = || progress.id_or(fallback_physical_id(meta));
        tokio::select! {
            joined = work => match joined {
                Ok(outcome) => outcome,
                Err(e) => {
                    let panic = e.try_into_panic().map(panic_message).unwrap_or_else(|_| "cancelled".into());
                    tracing::error!(%panic, "the handler panicked");
                    Outcome::failed(fallback_id(), format!("enitrunk custom resource crashed while {}: {panic}; this is a bug, please report it", progress.get()))
                }
            },
            _ = tokio::time::sleep_until(guard_at) => {
                abort.abort();
                let step = progress.get();
                tracing::error!(%step, "no result before the deadline guard");
                Outcome::failed(fallback_id(), format!(
                    "timed out while {step}: the function was about to reach its own timeout; AWS may be slow or unreachable from the function (check its VPC/NAT and endpoint settings), or raise the function's Timeout"
                ))
            }
        }
    }

    /// Sends the answer, retrying until just before the Lambda deadline; logs if it cannot.
    pub async fn answer(&self, meta: &Meta, outcome: &Outcome, deadline: Instant) {
        let body = response::body(meta, outcome);
        let give_up_at = deadline.checked_sub(PUT_RESERVE).unwrap_or(deadline);
        match response::send(
            &self.http,
            &meta.response_url,
            body,
            self.tuning.put_first_backoff,
            give_up_at,
        )
        .await
        {
            Ok(attempts) => tracing::info!(
                status = ?outcome.status,
                physical_resource_id = %outcome.physical_resource_id,
                reason = outcome.reason.as_deref().unwrap_or(""),
                attempts,
                "answered CloudFormation"
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not answer CloudFormation; the stack will wait for its ServiceTimeout")
            }
        }
    }

    /// The decision for one request; every error becomes a FAILED outcome.
    pub async fn decide(&self, payload: Value, meta: &Meta, progress: &Progress) -> Outcome {
        progress.set("reading the request");
        let result = match request::parse(payload) {
            Ok(Action::Create { properties }) => self.create(&properties, meta, progress).await,
            Ok(Action::Update { properties, .. }) => self.update(&properties, meta, progress).await,
            Ok(Action::Delete { properties }) => self.delete(&properties, meta, progress).await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            Outcome::failed(progress.id_or(fallback_physical_id(meta)), e.to_string())
        })
    }

    async fn create(
        &self,
        properties: &Value,
        meta: &Meta,
        progress: &Progress,
    ) -> Result<Outcome, Error> {
        let spec = ResourceProperties::from_json(properties)?.validate()?;
        let target = self.target(&spec, meta)?;
        let (data, id) = self
            .apply(&target, &spec, Previous::Record, progress)
            .await?;
        Ok(Outcome::success(id, data))
    }

    /// Same target: change it in place and keep the id (and the recorded previous default).
    /// Another target: a replacement; CloudFormation then deletes the old id.
    async fn update(
        &self,
        properties: &Value,
        meta: &Meta,
        progress: &Progress,
    ) -> Result<Outcome, Error> {
        let spec = ResourceProperties::from_json(properties)?.validate()?;
        let target = self.target(&spec, meta)?;
        let old = PhysicalId::parse(meta.physical_resource_id.as_deref().unwrap_or_default());
        let in_place = old.target() == Some(&target);
        if !in_place {
            tracing::info!(old_physical_id = %old, "the update names another setting or principal: replacing");
        }
        let previous = match old {
            PhysicalId::Setting { previous, .. } if in_place => Previous::Keep(previous),
            _ => Previous::Record,
        };
        let (data, id) = self.apply(&target, &spec, previous, progress).await?;
        Ok(Outcome::success(id, data))
    }

    /// Acts only on what the physical id names: after a replacement, that is the old principal.
    async fn delete(
        &self,
        properties: &Value,
        meta: &Meta,
        progress: &Progress,
    ) -> Result<Outcome, Error> {
        let id_str = meta.physical_resource_id.clone().unwrap_or_default();
        let (target, previous) = match PhysicalId::parse(&id_str) {
            PhysicalId::Setting { target, previous } => (target, previous),
            PhysicalId::CreateFailed { .. } => {
                return Ok(Outcome::success(id_str, BTreeMap::new())
                    .with_reason("the Create failed, so there is nothing to undo"));
            }
            PhysicalId::Foreign(_) => {
                return Ok(Outcome::success(id_str, BTreeMap::new()).with_reason(
                    "this physical id was not written by the enitrunk function; nothing to undo",
                ));
            }
        };
        // A Delete must not fail on properties a failed Update left behind: fall back to Retain.
        let on_delete = match ResourceProperties::from_json(properties).and_then(|p| p.validate()) {
            Ok(Spec { on_delete, .. }) => on_delete,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable properties on Delete; retaining the setting");
                OnDelete::Retain
            }
        };
        if on_delete == OnDelete::Retain {
            return Ok(
                Outcome::success(id_str, BTreeMap::new()).with_reason(format!(
                    "OnDelete is Retain: {} left as it is",
                    target.setting_name
                )),
            );
        }
        let note = self.reset(&target, previous.as_deref(), progress).await?;
        Ok(Outcome::success(id_str, BTreeMap::new()).with_reason(note))
    }

    /// The read action: the effective settings of `RoleArn`, read as that role (or, without
    /// one, as the function itself).
    pub async fn read(&self, request: &ReadRequest) -> Result<ReadResponse, Error> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.clients.region.clone());
        let progress = Progress::default();
        let (ecs, about) = match &request.role_arn {
            Some(role) => {
                let role = crate::properties::check_role_arn(role)?;
                let ecs = self.ecs_as_role(&role, &region, false, &progress).await?;
                (ecs, role)
            }
            None => (
                self.clients.ecs(None, &region),
                "the function's role".to_owned(),
            ),
        };
        progress.set(format!(
            "reading the effective settings of {about} in {region}"
        ));
        let settings = aws::own_effective_settings(&ecs, &about).await?;
        Ok(ReadResponse {
            role_arn: request.role_arn.clone(),
            region,
            settings,
        })
    }

    fn target(&self, spec: &Spec, meta: &Meta) -> Result<Target, Error> {
        let principal_arn = match (spec.scope, &spec.role_arn) {
            (Scope::Role, Some(role)) => role.clone(),
            (Scope::Role, None) => unreachable!("validate() requires RoleArn for scope Role"),
            (Scope::AccountDefault, _) => request::account_root(&meta.stack_id)?,
        };
        Ok(Target {
            scope: spec.scope,
            region: spec
                .region
                .clone()
                .unwrap_or_else(|| self.clients.region.clone()),
            setting_name: spec.setting_name.clone(),
            principal_arn,
        })
    }

    /// Sets the value and reads back the effective setting, as the principal that holds it.
    /// Returns `Data` and the physical id, which names the default found before the change
    /// when `AccountDefault` records it.
    async fn apply(
        &self,
        target: &Target,
        spec: &Spec,
        previous: Previous,
        progress: &Progress,
    ) -> Result<(BTreeMap<String, String>, String), Error> {
        let Target {
            region,
            setting_name: name,
            principal_arn: principal,
            ..
        } = target;
        let value = &spec.setting_value;
        let id = |previous| {
            checked_id(PhysicalId::Setting {
                target: target.clone(),
                previous,
            })
        };
        // Refused before anything changes: an id CloudFormation cannot take cannot be undone.
        id(None)?;
        let (ecs, action, id) = match target.scope {
            Scope::Role => {
                let ecs = self.ecs_as_role(principal, region, true, progress).await?;
                progress.set(format!(
                    "calling ecs:PutAccountSetting {name}={value} as {principal} in {region}"
                ));
                aws::put_setting(&ecs, name, value, principal).await?;
                (ecs, "PutAccountSetting", id(None)?)
            }
            Scope::AccountDefault => {
                let ecs = self.clients.ecs(None, region);
                let previous = match previous {
                    Previous::Keep(kept) => kept,
                    Previous::Record => {
                        progress.set(format!("reading the account default of {name} in {region}"));
                        let found = aws::own_effective_setting(&ecs, name, principal).await?;
                        // Already the value to set (a default set earlier, or a repeated
                        // Create that sees its own change): nothing to restore.
                        found.filter(|v| v != value)
                    }
                };
                progress.set(format!(
                    "calling ecs:PutAccountSettingDefault {name}={value} in {region}"
                ));
                aws::put_default(&ecs, name, value, principal).await?;
                (ecs, "PutAccountSettingDefault", id(previous)?)
            }
        };
        progress.changed(id.clone());
        progress.set(format!("reading back the effective {name} for {principal}"));
        let actual = aws::own_effective_setting(&ecs, name, principal)
            .await?
            .unwrap_or_else(|| "(none)".into());
        if &actual != value {
            return Err(Error::NotEffective {
                action,
                setting_name: name.clone(),
                principal_arn: principal.clone(),
                expected: value.clone(),
                actual,
            });
        }
        let data = BTreeMap::from([
            (DATA_SETTING_NAME.to_owned(), name.clone()),
            (DATA_VALUE.to_owned(), actual),
            (DATA_PRINCIPAL_ARN.to_owned(), principal.clone()),
        ]);
        Ok((data, id))
    }

    /// Undoes the setting for `OnDelete: Reset`. Whatever is already gone counts as done.
    async fn reset(
        &self,
        target: &Target,
        previous: Option<&str>,
        progress: &Progress,
    ) -> Result<String, Error> {
        let Target {
            region,
            setting_name: name,
            principal_arn: principal,
            ..
        } = target;
        match target.scope {
            Scope::Role => {
                let ecs = match self.ecs_as_role(principal, region, false, progress).await {
                    Ok(ecs) => ecs,
                    Err(Error::AssumeRoleDenied { .. }) => {
                        return Ok(format!(
                            "{principal} cannot be assumed (deleted, or no longer trusts this function): its {name} setting goes with it"
                        ));
                    }
                    Err(e) => return Err(e),
                };
                progress.set(format!(
                    "calling ecs:DeleteAccountSetting {name} as {principal} in {region}"
                ));
                match aws::delete_setting(&ecs, name, principal).await {
                    Ok(()) => Ok(format!(
                        "{name} of {principal} reset to the account default"
                    )),
                    Err(e) if is_setting_gone(&e) => {
                        Ok(format!("{principal} had no {name} setting of its own"))
                    }
                    Err(e) => Err(e),
                }
            }
            Scope::AccountDefault => {
                let Some(previous) = previous else {
                    return Ok(format!(
                        "no account default of {name} was recorded at Create; left as it is"
                    ));
                };
                let ecs = self.clients.ecs(None, region);
                progress.set(format!(
                    "calling ecs:PutAccountSettingDefault {name}={previous} in {region}"
                ));
                aws::put_default(&ecs, name, previous, principal).await?;
                Ok(format!(
                    "account default of {name} restored to `{previous}`"
                ))
            }
        }
    }

    /// An ECS client acting as `role_arn`. On Create/Update `AccessDenied` is retried while IAM
    /// propagates; on Delete a role that cannot be assumed is not coming back.
    async fn ecs_as_role(
        &self,
        role_arn: &str,
        region: &str,
        retry_denied: bool,
        progress: &Progress,
    ) -> Result<aws_sdk_ecs::Client, Error> {
        progress.set(format!("assuming role {role_arn}"));
        let schedule = if retry_denied {
            aws::backoff_schedule(
                self.tuning.assume_role_first_backoff,
                self.tuning.assume_role_budget,
            )
        } else {
            Vec::new()
        };
        let credentials =
            aws::assume_role(&self.clients.sts, role_arn, aws::SESSION_NAME, &schedule).await?;
        Ok(self.clients.ecs(Some(credentials), region))
    }
}

/// For `AccountDefault`: the default to restore on `Reset`, read before the change or kept from
/// the physical id of an in-place update.
enum Previous {
    Record,
    Keep(Option<String>),
}

/// The id to answer with when the work produced none: the existing one on Update and Delete
/// (CloudFormation keeps it), a marker on Create whose Delete does nothing.
fn fallback_physical_id(meta: &Meta) -> String {
    match (&meta.physical_resource_id, meta.request_type) {
        (Some(id), _) if !id.is_empty() => id.clone(),
        _ => PhysicalId::CreateFailed {
            request_id: meta.request_id.clone(),
        }
        .to_string(),
    }
}

fn checked_id(id: PhysicalId) -> Result<String, Error> {
    let id = id.to_string();
    if id.len() > physical_id::MAX_LEN {
        return Err(Error::PhysicalIdTooLong(id.len()));
    }
    Ok(id)
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Converts the Lambda deadline (wall clock) into a monotonic instant.
pub fn instant_of(deadline: SystemTime) -> Instant {
    let remaining = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + remaining
}

#[cfg(test)]
mod tests;
