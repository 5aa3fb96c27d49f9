//! enitrunk: render, validate and deploy Amazon ECS clusters with ENI trunking turned on.

pub mod cli;
pub mod config;
pub mod error;
pub mod instance_types;
pub mod plan;
pub mod render;
pub mod template;

pub use error::Error;

/// `error: ...` with each cause on its own line, as the CLI prints it.
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("error: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    s
}
