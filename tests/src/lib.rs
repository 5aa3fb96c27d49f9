//! Harness for enitrunk's end-to-end tests: one LocalStack, one async runtime, one set of AWS
//! clients and one uploaded Lambda package per test process, shared by tests running in parallel.

pub mod localstack;
pub mod package;
pub mod stack;

use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub use package::CodeLocation;

/// The region every test deploys to.
pub const REGION: &str = "us-east-1";
/// The ECS account setting the template turns on.
pub const TRUNKING: &str = "awsvpcTrunking";

/// What every test shares.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    pub cfn: aws_sdk_cloudformation::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The uploaded `bootstrap` package.
    pub code: CodeLocation,
}

/// The harness, set up by the first test that asks: LocalStack running, clients built, the
/// function code (`bootstrap`, the binary Cargo built for these tests) uploaded. If that fails,
/// every test fails with the same message (a failed setup is not retried by each test).
pub fn harness(bootstrap: &str) -> &'static Harness {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    let result = HARNESS.get_or_init(|| {
        std::panic::catch_unwind(|| Harness::new(Path::new(bootstrap))).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "harness setup panicked".to_owned())
        })
    });
    match result {
        Ok(h) => h,
        Err(message) => panic!("end-to-end harness setup failed: {message}"),
    }
}

impl Harness {
    fn new(bootstrap: &Path) -> Harness {
        localstack::ensure_running();
        // One multi-threaded runtime for every test thread: the SDK's HTTP connection pool
        // belongs to the runtime it was first used on, so clients cannot hop between the
        // per-test runtimes `#[tokio::test]` would create.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build the tokio runtime");
        let config = runtime.block_on(sdk_config());
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                // LocalStack serves virtual-hosted buckets only under its own domain.
                .force_path_style(true)
                .build(),
        );
        let started = Instant::now();
        let code = runtime.block_on(package::upload(&s3, bootstrap));
        localstack::progress(&format!(
            "function code at s3://{}/{} ({:.1}s)",
            code.bucket,
            code.key,
            started.elapsed().as_secs_f64()
        ));
        Harness {
            cfn: aws_sdk_cloudformation::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            s3,
            code,
            runtime,
        }
    }

    /// Runs a test body on the shared runtime.
    pub fn block_on<F: Future>(&self, body: F) -> F::Output {
        self.runtime.block_on(body)
    }

    /// The template's code parameters plus `extra`.
    pub fn parameters<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("CodeBucket", self.code.bucket.as_str()),
            ("CodeKey", self.code.key.as_str()),
        ];
        params.extend_from_slice(extra);
        params
    }

    /// `ListAccountSettings(awsvpcTrunking, principal, effectiveSettings=true)`: the principal's
    /// own value, else the account default, else AWS's default.
    pub async fn effective_trunking(&self, principal: &str) -> String {
        self.list_trunking(principal, true)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "ListAccountSettings with effectiveSettings returned nothing for {principal}"
                )
            })
    }

    /// The principal's own `awsvpcTrunking` value, if it has one.
    pub async fn own_trunking(&self, principal: &str) -> Option<String> {
        self.list_trunking(principal, false).await
    }

    async fn list_trunking(&self, principal: &str, effective: bool) -> Option<String> {
        let out = self
            .ecs
            .list_account_settings()
            .name(aws_sdk_ecs::types::SettingName::from(TRUNKING))
            .principal_arn(principal)
            .effective_settings(effective)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ListAccountSettings {TRUNKING} for {principal}: {}",
                    aws_sdk_ecs::error::DisplayErrorContext(&e)
                )
            });
        let settings = out.settings();
        assert!(
            settings.len() <= 1,
            "ListAccountSettings for one name and principal returned {settings:?}"
        );
        settings.first().map(|s| {
            assert_eq!(
                s.principal_arn(),
                // The effective value may be the account default, reported for the principal.
                Some(principal),
                "ListAccountSettings for {principal} answered for another principal: {s:?}"
            );
            s.value().unwrap_or_default().to_owned()
        })
    }

    /// The messages of every event in `group`, waiting up to `timeout` for at least one
    /// (LocalStack stores a function's logs shortly after the invocation ends).
    pub async fn log_messages(&self, group: &str, timeout: Duration) -> Vec<String> {
        let started = Instant::now();
        loop {
            let mut messages = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .logs
                    .filter_log_events()
                    .log_group_name(group)
                    .set_next_token(token)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "FilterLogEvents {group}: {}",
                            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
                        )
                    });
                messages.extend(
                    page.events()
                        .iter()
                        .filter_map(|e| e.message().map(str::to_owned)),
                );
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            if !messages.is_empty() || started.elapsed() >= timeout {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// One SDK configuration for LocalStack: its endpoint, the test region, LocalStack's test
/// credentials (account 000000000000). Explicit values, so a developer's `AWS_PROFILE` or
/// `AWS_REGION` cannot point the tests at a real account.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(localstack::ENDPOINT)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "enitrunk-e2e"))
        .load()
        .await
}
