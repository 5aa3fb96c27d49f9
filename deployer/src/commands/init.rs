//! `enitrunk init`: write the commented starter `enitrunk.yaml`.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::config;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it
    #[arg(long, default_value = config::DEFAULT_FILE)]
    pub path: PathBuf,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

#[derive(Serialize)]
pub struct Written {
    path: PathBuf,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "wrote {}: edit it, then `enitrunk validate` and `enitrunk plan`",
            self.path.display()
        )
    }
}

pub fn run(args: &InitArgs) -> Result<Written, Error> {
    if args.path.exists() && !args.force {
        return Err(Error::Exists(args.path.clone()));
    }
    std::fs::write(&args.path, config::STARTER).map_err(Error::io("write", &args.path))?;
    Ok(Written {
        path: args.path.clone(),
    })
}
