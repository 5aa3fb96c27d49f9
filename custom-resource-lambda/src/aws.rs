//! The AWS calls the function makes: STS to become the instance role, ECS to change and read the
//! setting. Clients are built once and passed in, so tests hand in mocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ecs::types::SettingName;

use crate::error::{Error, is_access_denied};

/// Builds an ECS client for a region, as the function itself (`None`) or with assumed credentials.
pub type EcsFactory = dyn Fn(Option<Credentials>, &str) -> aws_sdk_ecs::Client + Send + Sync;

/// The clients of one function instance, shared by its invocations.
#[derive(Clone)]
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    ecs: Arc<EcsFactory>,
    /// The function's own region: the default for the `Region` property.
    pub region: String,
}

impl Clients {
    pub fn new(sts: aws_sdk_sts::Client, region: impl Into<String>, ecs: Arc<EcsFactory>) -> Self {
        Clients {
            sts,
            ecs,
            region: region.into(),
        }
    }

    /// Clients from the Lambda environment. `AWS_ENDPOINT_URL` is honoured by aws-config, so the
    /// same binary runs against LocalStack.
    pub async fn from_env() -> Result<Self, String> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            // Throttling and transient errors are retried by the SDK; AccessDenied is not.
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            )
            .load()
            .await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or("no region: AWS_REGION is not set")?;
        let sts = aws_sdk_sts::Client::new(&config);
        Ok(Clients::new(sts, region, Arc::new(ecs_factory(config))))
    }

    pub fn ecs(&self, credentials: Option<Credentials>, region: &str) -> aws_sdk_ecs::Client {
        (self.ecs)(credentials, region)
    }
}

fn ecs_factory(config: SdkConfig) -> impl Fn(Option<Credentials>, &str) -> aws_sdk_ecs::Client {
    move |credentials, region| {
        let mut builder =
            aws_sdk_ecs::config::Builder::from(&config).region(Region::new(region.to_owned()));
        if let Some(credentials) = credentials {
            builder = builder.credentials_provider(credentials);
        }
        aws_sdk_ecs::Client::from_conf(builder.build())
    }
}

/// How long the function keeps trying things; shortened by tests.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// How long `AccessDenied` on `AssumeRole` is retried: a role created moments ago may not be
    /// assumable yet while IAM propagates.
    pub assume_role_budget: Duration,
    pub assume_role_first_backoff: Duration,
    /// How long before the Lambda deadline the guard answers FAILED.
    pub guard_margin: Duration,
    pub put_first_backoff: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            assume_role_budget: Duration::from_secs(60),
            assume_role_first_backoff: Duration::from_secs(1),
            guard_margin: Duration::from_secs(5),
            put_first_backoff: Duration::from_millis(200),
        }
    }
}

/// Doubling backoff, capped, whose delays add up to no more than `budget`.
pub fn backoff_schedule(first: Duration, budget: Duration) -> Vec<Duration> {
    let cap = Duration::from_secs(10).max(first);
    let mut delays = Vec::new();
    let (mut next, mut total) = (first, Duration::ZERO);
    while !next.is_zero() && total + next <= budget {
        delays.push(next);
        total += next;
        next = (next * 2).min(cap);
    }
    delays
}

/// The session name the function assumes the instance role with. The role's templates allow
/// changing the setting only to sessions of this name (EC2's sessions are named after the
/// instance), so it is part of the contract with them.
pub const SESSION_NAME: &str = "enitrunk-custom-resource";

/// Assumes `role_arn`, retrying `AccessDenied` through `schedule`.
pub async fn assume_role(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    session_name: &str,
    schedule: &[Duration],
) -> Result<Credentials, Error> {
    let mut waited = Duration::ZERO;
    let mut delays = schedule.iter();
    loop {
        let result = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                let c = out.credentials().ok_or_else(|| Error::Aws {
                    action: "sts:AssumeRole",
                    target: role_arn.to_owned(),
                    detail: "the response carried no credentials".into(),
                    code: None,
                })?;
                return Ok(Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_owned()),
                    std::time::SystemTime::try_from(*c.expiration()).ok(),
                    "enitrunk-assume-role",
                ));
            }
            Err(err) => Error::aws("sts:AssumeRole", role_arn, err),
        };
        if !is_access_denied(err.code()) {
            return Err(err);
        }
        let Some(delay) = delays.next() else {
            let Error::Aws { detail, .. } = err else {
                unreachable!()
            };
            return Err(Error::AssumeRoleDenied {
                role_arn: role_arn.to_owned(),
                waited,
                message: detail,
            });
        };
        tracing::warn!(
            role_arn,
            retry_in_ms = delay.as_millis() as u64,
            "AssumeRole denied; IAM may still be propagating"
        );
        tokio::time::sleep(*delay).await;
        waited += *delay;
    }
}

pub async fn put_setting(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    value: &str,
    principal: &str,
) -> Result<(), Error> {
    ecs.put_account_setting()
        .name(SettingName::from(name))
        .value(value)
        .send()
        .await
        .map(drop)
        .map_err(|e| Error::aws("ecs:PutAccountSetting", principal, e).for_setting(name))
}

pub async fn put_default(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    value: &str,
    principal: &str,
) -> Result<(), Error> {
    ecs.put_account_setting_default()
        .name(SettingName::from(name))
        .value(value)
        .send()
        .await
        .map(drop)
        .map_err(|e| Error::aws("ecs:PutAccountSettingDefault", principal, e).for_setting(name))
}

pub async fn delete_setting(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    principal: &str,
) -> Result<(), Error> {
    ecs.delete_account_setting()
        .name(SettingName::from(name))
        .send()
        .await
        .map(drop)
        .map_err(|e| Error::aws("ecs:DeleteAccountSetting", principal, e).for_setting(name))
}

/// The value in force for the caller: its own setting, else the account default, else AWS's.
/// No `principalArn`: only the root user or the principal itself may name one, so naming none
/// is what works for every caller. `about` names whose setting that is, for errors.
pub async fn own_effective_setting(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    about: &str,
) -> Result<Option<String>, Error> {
    let out = ecs
        .list_account_settings()
        .name(SettingName::from(name))
        .effective_settings(true)
        .send()
        .await
        .map_err(|e| Error::aws("ecs:ListAccountSettings", about, e))?;
    Ok(out
        .settings()
        .iter()
        .find(|s| s.name().is_some_and(|n| n.as_str() == name))
        .and_then(|s| s.value().map(str::to_owned)))
}

/// Every effective setting of the caller, by name: what the read action returns.
pub async fn own_effective_settings(
    ecs: &aws_sdk_ecs::Client,
    about: &str,
) -> Result<BTreeMap<String, String>, Error> {
    let mut settings = BTreeMap::new();
    let mut next = None;
    loop {
        let out = ecs
            .list_account_settings()
            .effective_settings(true)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| Error::aws("ecs:ListAccountSettings", about, e))?;
        for s in out.settings() {
            if let (Some(name), Some(value)) = (s.name(), s.value()) {
                settings.insert(name.as_str().to_owned(), value.to_owned());
            }
        }
        next = out.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(settings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_assume_role_schedule_stays_within_a_minute() {
        let t = Tuning::default();
        let s = backoff_schedule(t.assume_role_first_backoff, t.assume_role_budget);
        let total: Duration = s.iter().sum();
        assert!(
            total <= Duration::from_secs(60) && total >= Duration::from_secs(45),
            "{s:?}"
        );
        assert_eq!(s[..4], [1, 2, 4, 8].map(Duration::from_secs));
        assert!(s.iter().all(|d| *d <= Duration::from_secs(10)));
    }

    #[test]
    fn zero_budget_means_no_retries() {
        assert!(backoff_schedule(Duration::from_secs(1), Duration::ZERO).is_empty());
    }
}
