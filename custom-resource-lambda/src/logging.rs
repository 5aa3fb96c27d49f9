//! Log setup: JSON lines for CloudWatch, our own events only.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Logs this crate's events as JSON at the level Lambda's logging controls ask for
/// (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO). Other crates are held at WARN whatever
/// the level: the SDK and HTTP clients log request details (signed URLs, headers) at DEBUG.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::new(format!(
        "warn,custom_resource_lambda={level},bootstrap={level}"
    ));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}
