//! `enitrunk destroy`: delete the stack and wait for it, following its events.

use std::fmt;

use clap::Args;
use serde::Serialize;

use crate::aws::{RemoteArgs, Session};
use crate::config::Spec;
use crate::error::Error;
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::stack;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Delete without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    /// deleted, or absent when there was no stack
    pub result: &'static str,
}

impl fmt::Display for DestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result {
            "absent" => writeln!(
                f,
                "stack {}: does not exist, nothing to delete",
                self.stack_name
            ),
            _ => writeln!(f, "stack {}: deleted", self.stack_name),
        }
    }
}

pub async fn run(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &DestroyArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<DestroyReport, Error> {
    let Session {
        aws, stack_name, ..
    } = Session::existing(spec, remote).await?;
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(DestroyReport {
            stack_name,
            result: "absent",
        });
    };
    let question = format!("delete stack {stack_name} and everything in it?");
    if !args.yes && !prompt.confirm(&question, "destroy").await? {
        return Err(Error::NeedsYes("destroy (answered no)"));
    }
    stack::delete(&aws.cfn, &info, progress).await?;
    Ok(DestroyReport {
        stack_name,
        result: "deleted",
    })
}
