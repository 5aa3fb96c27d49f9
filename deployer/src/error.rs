//! The CLI's errors. `Display` says what failed and what to do; sources are printed as a chain
//! by the reporter in `main`.

use std::path::PathBuf;

use crate::config::LoadError;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error(
        "{} differ from what `enitrunk render` produces: {}; run `enitrunk render --out {}` and commit the result",
        dir.display(), files.join(", "), dir.display()
    )]
    Stale { dir: PathBuf, files: Vec<String> },
    #[error("no template named `{0}`; the templates are eni-trunking.yaml and ecs-cluster.yaml")]
    NoSuchTemplate(String),
    #[error("the rendered templates have problems:\n  {}", .0.join("\n  "))]
    Template(Vec<String>),
}

impl Error {
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Exit status: 1 for a failed check or operation, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Stale { .. } | Error::Template(_) | Error::Io { .. } => 1,
            _ => 2,
        }
    }
}
