//! Harness for enitrunk's end-to-end tests: one LocalStack, one async runtime, one set of AWS
//! clients and one uploaded Lambda package per test process, shared by tests running in parallel.

pub mod localstack;
pub mod stack;

use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use enitrunk::aws::{Aws, RemoteArgs};
pub use enitrunk::package::CodeLocation;
use enitrunk::progress::Progress;

/// The region every test deploys to.
pub const REGION: &str = "us-east-1";
/// The ECS account setting the template turns on.
pub const TRUNKING: &str = "awsvpcTrunking";

/// What every test shares.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    /// The clients `enitrunk --local` builds, so the tests see what the CLI sees.
    pub aws: Aws,
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
        // `--local`: LocalStack's endpoint, region us-east-1, its test credentials (account
        // 000000000000), whatever AWS_PROFILE or AWS_REGION a developer has set.
        let remote = RemoteArgs {
            local: true,
            region: Some(REGION.to_owned()),
            ..RemoteArgs::default()
        };
        let aws = runtime
            .block_on(Aws::connect(&remote, None))
            .unwrap_or_else(|e| panic!("AWS clients for LocalStack: {}", enitrunk::report(&e)));
        let started = Instant::now();
        let mut stderr = std::io::stderr();
        let mut progress = Progress::new(&mut stderr, false);
        // The deployer's own packaging: reproducible zip, content-addressed key, the bucket.
        let code = runtime
            .block_on(enitrunk::package::upload(
                &aws,
                "000000000000",
                None,
                bootstrap,
                &mut progress,
            ))
            .unwrap_or_else(|e| panic!("upload the function code: {}", enitrunk::report(&e)));
        localstack::progress(&format!(
            "function code at s3://{}/{} ({:.1}s)",
            code.bucket,
            code.key,
            started.elapsed().as_secs_f64()
        ));
        Harness {
            logs: aws_sdk_cloudwatchlogs::Client::new(&aws.sdk),
            aws,
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

    /// Sets the principal's own `awsvpcTrunking`, as the root user (who may name any principal).
    pub async fn set_trunking(&self, principal: &str, value: &str) {
        self.aws
            .ecs
            .put_account_setting()
            .name(aws_sdk_ecs::types::SettingName::from(TRUNKING))
            .value(value)
            .principal_arn(principal)
            .send()
            .await
            .unwrap_or_else(|e| panic!("set awsvpcTrunking={value} for {principal}: {e:?}"));
    }

    /// The principal's own `awsvpcTrunking` value, if it has one.
    pub async fn own_trunking(&self, principal: &str) -> Option<String> {
        self.list_trunking(principal, false).await
    }

    async fn list_trunking(&self, principal: &str, effective: bool) -> Option<String> {
        let out = self
            .aws
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
