//! One `SdkConfig` from the command line (profile, region, endpoint, `--local`), the clients
//! built from it, and the small predicates that classify AWS errors.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use clap::Args;

use crate::error::Error;

/// LocalStack's port for `--local`: 4566, or `ENITRUNK_LOCALSTACK_PORT` (which `localstack/run`
/// also reads), so two checkouts can each run one.
pub fn local_port() -> u16 {
    std::env::var("ENITRUNK_LOCALSTACK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4566)
}

pub fn local_endpoint() -> String {
    format!("http://127.0.0.1:{}", local_port())
}
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
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Aws {
    pub async fn connect(args: &RemoteArgs, config_region: Option<&str>) -> Result<Aws, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let endpoint_url = if args.local {
            Some(local_endpoint())
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
        // Path-style: LocalStack and other endpoints do not serve bucket-name subdomains.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(endpoint_url.is_some())
            .build();
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            sdk,
            region,
            endpoint_url,
        })
    }
}

/// An SDK error as one line: each cause's message, without the raw response that
/// `DisplayErrorContext` appends in debug form.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
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

/// Credentials AWS refused: expired, unknown, or signed with the wrong secret.
pub fn is_rejected_credentials(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId" | "SignatureDoesNotMatch"
    )
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
