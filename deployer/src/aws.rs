//! One `SdkConfig` from the command line (profile, region, endpoint, `--local`), the clients
//! built from it, the session a command on one stack works in, the account's preconditions, and
//! the small predicates that classify AWS errors.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_iam::error::ProvideErrorMetadata;
use clap::Args;

use crate::config::Spec;
use crate::error::Error;
use crate::progress::Progress;

const LOCAL_REGION: &str = "us-east-1";

/// AWS connection options, shared by every command that calls AWS.
#[derive(Clone, Debug, Default, Args)]
pub struct RemoteArgs {
    /// AWS profile [default: AWS_PROFILE or the default profile]
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region [default: the config's region, else AWS_REGION or the profile's]
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (--local overrides it)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Use LocalStack on 127.0.0.1:4566 with test credentials, starting it if it is not running
    /// (port: ENITRUNK_LOCALSTACK_PORT)
    #[arg(long, global = true)]
    pub local: bool,
    /// Stack name [default: the config's stack_name]
    #[arg(value_parser = stack_name_arg)]
    #[arg(long, global = true)]
    pub stack_name: Option<String>,
}

/// The clients every command uses, built once.
#[derive(Clone, Debug)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub region: String,
    pub endpoint_url: Option<String>,
    pub cfn: aws_sdk_cloudformation::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub organizations: aws_sdk_organizations::Client,
}

fn stack_name_arg(name: &str) -> Result<String, String> {
    crate::config::check_stack_name(name)
        .map(|()| name.to_owned())
        .map_err(|why| format!("not a CloudFormation stack name: {why}"))
}

/// The partition of `region`, as ARNs name it.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl Aws {
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    pub async fn connect(args: &RemoteArgs, config_region: Option<&str>) -> Result<Aws, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let endpoint_url = if args.local {
            Some(crate::localstack::endpoint())
        } else {
            args.endpoint_url.clone()
        };
        if args.local {
            // LocalStack accepts any key; fixed ones keep a user's real credentials out of it.
            loader = loader.credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "enitrunk-local",
            ));
        } else if let Some(p) = &args.profile {
            loader = loader.profile_name(p);
        }
        let region = args
            .region
            .clone()
            .or_else(|| config_region.map(str::to_owned))
            .or_else(|| args.local.then(|| LOCAL_REGION.to_owned()));
        if let Some(r) = &region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let region = sdk.region().map(|r| r.to_string()).ok_or(Error::NoRegion)?;
        if sdk.credentials_provider().is_none() {
            return Err(Error::NoCredentials);
        }
        Ok(Aws::from_sdk(sdk, region, endpoint_url))
    }

    /// The same credentials and endpoint in another region: for what is per region (a stack
    /// set's artifact buckets).
    pub fn in_region(&self, region: &str) -> Aws {
        let sdk = self
            .sdk
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build();
        Aws::from_sdk(sdk, region.to_owned(), self.endpoint_url.clone())
    }

    /// The same endpoint as another principal, in `region`: what an account of a stack set
    /// sees with its own credentials.
    pub fn as_principal(&self, credentials: Credentials, region: &str) -> Aws {
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .region(Region::new(region.to_owned()))
            .build();
        Aws::from_sdk(sdk, region.to_owned(), self.endpoint_url.clone())
    }

    fn from_sdk(sdk: SdkConfig, region: String, endpoint_url: Option<String>) -> Aws {
        // Path-style: LocalStack and other endpoints do not serve bucket-name subdomains.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(endpoint_url.is_some())
            .build();
        Aws {
            cfn: aws_sdk_cloudformation::Client::new(&sdk),
            autoscaling: aws_sdk_autoscaling::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            organizations: aws_sdk_organizations::Client::new(&sdk),
            sdk,
            region,
            endpoint_url,
        }
    }
}

#[cfg(test)]
impl Aws {
    /// Clients that reach nothing; tests put mocked clients in the fields they use.
    pub async fn for_tests() -> Aws {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(LOCAL_REGION))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url("http://127.0.0.1:9")
            .load()
            .await;
        Aws {
            cfn: aws_sdk_cloudformation::Client::new(&sdk),
            autoscaling: aws_sdk_autoscaling::Client::new(&sdk),
            s3: aws_sdk_s3::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            organizations: aws_sdk_organizations::Client::new(&sdk),
            region: LOCAL_REGION.to_owned(),
            endpoint_url: None,
            sdk,
        }
    }
}

/// Credentials AWS refused: expired, unknown, or signed with the wrong secret.
pub fn is_rejected_credentials(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
    )
}

/// The service's error code of a failed call, if it got that far.
pub fn error_code<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code())
}

/// No credentials found at all: the SDK fails before sending, and says so only in its message.
pub fn is_missing_credentials<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    matches!(
        e,
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_)
    ) && aws_smithy_types::error::display::DisplayErrorContext(e)
        .to_string()
        .contains("credentials")
}

/// `DescribeStacks` on a stack that does not exist: a `ValidationError` whose only
/// distinguishing mark is its message.
pub fn is_stack_missing(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

/// A change set with nothing to do fails with this reason; CloudFormation has no status code
/// for it. <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html>
pub fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// What a command on one stack works with: the clients, the stack name (`--stack-name`, else
/// the config's), and the account the credentials belong to.
pub struct Session {
    pub aws: Aws,
    pub stack_name: String,
    pub account: String,
}

/// For commands on a cluster that is not enitrunk's: with `--local`, LocalStack must be running
/// (there is nothing of the user's in one that is not); the account id proves the credentials.
pub async fn outside(remote: &RemoteArgs) -> Result<(Aws, String), Error> {
    local_must_run(remote, "start it with `localstack/run start`")?;
    let aws = Aws::connect(remote, None).await?;
    let account = account_id(&aws).await?;
    Ok((aws, account))
}

/// With `--local`, a LocalStack that is not running is said (with `then`), not started.
fn local_must_run(remote: &RemoteArgs, then: &str) -> Result<(), Error> {
    if remote.local && !crate::localstack::healthy() {
        return Err(Error::LocalStack(format!(
            "not running at {}, {then}",
            crate::localstack::endpoint()
        )));
    }
    Ok(())
}

impl Session {
    /// For `deploy`: with `--local`, LocalStack is started if it is not running.
    pub async fn start(
        spec: &Spec,
        remote: &RemoteArgs,
        progress: &mut Progress<'_>,
    ) -> Result<Session, Error> {
        if remote.local {
            crate::localstack::ensure_running(progress)?;
        }
        Session::connect(spec, remote).await
    }

    /// For commands on a stack that should already exist: with `--local`, a LocalStack that is
    /// not running has no stack, which is said rather than started.
    pub async fn existing(spec: &Spec, remote: &RemoteArgs) -> Result<Session, Error> {
        local_must_run(
            remote,
            "so there is no local stack; `enitrunk deploy --local` starts it",
        )?;
        Session::connect(spec, remote).await
    }

    async fn connect(spec: &Spec, remote: &RemoteArgs) -> Result<Session, Error> {
        let aws = Aws::connect(remote, spec.region.as_deref()).await?;
        let account = account_id(&aws).await?;
        Ok(Session {
            aws,
            stack_name: remote
                .stack_name
                .clone()
                .unwrap_or_else(|| spec.stack_name.clone()),
            account,
        })
    }
}

/// The account id of the credentials in use; the first call, so it also proves they work.
pub async fn account_id(aws: &Aws) -> Result<String, Error> {
    let who = aws.sts.get_caller_identity().send().await.map_err(|e| {
        let code = e
            .as_service_error()
            .and_then(|s| s.code())
            .unwrap_or_default();
        if is_rejected_credentials(code) {
            Error::BadCredentials(code.to_owned())
        } else if is_missing_credentials(&e) {
            Error::NoCredentials
        } else {
            Error::aws("check the AWS credentials (sts:GetCallerIdentity)", &e)
        }
    })?;
    Ok(who.account.unwrap_or_default())
}

/// ECS needs its service-linked role before it can manage capacity providers and tasks' network
/// interfaces; a new account may not have it yet.
pub async fn ensure_ecs_service_linked_role(
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
