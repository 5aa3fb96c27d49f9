//! `enitrunk.yaml`: where the config comes from, parsing it with positions, and validating it
//! into a [`Spec`] whose errors point at file, line and column and say what to do.
//!
//! `raw` is the file as written, `validator` turns it into the types of `spec`, and
//! `diagnostic` renders the problems.

mod diagnostic;
mod raw;
mod spec;
mod validator;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use diagnostic::{ConfigError, Diagnostic};
pub use spec::{
    Cluster, Container, FunctionSpec, Network, OrgSpec, Service, Spec, Task, TrunkingSpec,
};
pub use validator::{
    check_account_id, check_bucket_name, check_ou_id, check_region_name, check_stack_name,
    pascal_case,
};

/// The commented starter file `enitrunk init` writes; also the built-in demo config.
pub const STARTER: &str = include_str!("starter.yaml");
pub const DEFAULT_FILE: &str = "enitrunk.yaml";
/// Label for the built-in config in messages.
pub const BUILT_IN: &str = "<built-in demo config>";

/// Where a config came from, for messages and for `validate`'s report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum Origin {
    File(PathBuf),
    BuiltIn,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::BuiltIn => f.write_str(BUILT_IN),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// The config named by `--config`, else `./enitrunk.yaml` if it exists, else the built-in demo.
pub fn load(path: Option<&Path>) -> Result<(Spec, Origin), LoadError> {
    let path = match path {
        Some(p) => p.to_owned(),
        None if Path::new(DEFAULT_FILE).exists() => PathBuf::from(DEFAULT_FILE),
        None => return Ok((parse(BUILT_IN, STARTER)?, Origin::BuiltIn)),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    Ok((
        parse(&path.display().to_string(), &text)?,
        Origin::File(path),
    ))
}

/// The built-in demo config, validated.
pub fn demo() -> Spec {
    parse(BUILT_IN, STARTER).expect("the built-in config is valid")
}

/// Parse and validate one config text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Spec, ConfigError> {
    let error = |diagnostics| ConfigError {
        file: file.to_owned(),
        source_text: text.to_owned(),
        diagnostics,
    };
    let raw = raw::parse(text).map_err(|d| error(vec![d]))?;
    let mut v = validator::Validator::default();
    let spec = v.spec(raw);
    match spec {
        Some(spec) if v.diagnostics.is_empty() => Ok(spec),
        _ => Err(error(v.diagnostics)),
    }
}

#[cfg(test)]
mod tests;
