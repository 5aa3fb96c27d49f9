//! Command-line arguments, dispatch to the commands, and printing their results as text or
//! JSON.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::aws::RemoteArgs;
use crate::commands::deploy::DeployArgs;
use crate::commands::destroy::DestroyArgs;
use crate::commands::enable::{DisableArgs, EnableArgs};
use crate::commands::init::InitArgs;
use crate::commands::inspect::InspectArgs;
use crate::commands::org::{OrgArgs, OrgCommand};
use crate::commands::plan::PlanArgs;
use crate::commands::render::{Outcome, RenderArgs};
use crate::commands::roll::RollArgs;
use crate::commands::status::StatusArgs;
use crate::commands::{
    deploy, destroy, enable, init, inspect, org, plan, render, roll, status, validate,
};
use crate::config;
use crate::error::Error;
use crate::progress::Progress;
use crate::prompt::Prompt;

/// Deploy Amazon ECS clusters with ENI trunking turned on, and prove it worked.
#[derive(Debug, Parser)]
#[command(name = "enitrunk", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Config file [default: ./enitrunk.yaml if it exists, else the built-in demo config]
    #[arg(long, global = true, env = "ENITRUNK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format of the command's result
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter enitrunk.yaml
    Init(InitArgs),
    /// Tasks per instance without and with trunking, and instances needed, per instance type
    Plan(PlanArgs),
    /// Write the CloudFormation templates (or print one, or check templates/ is current)
    Render(RenderArgs),
    /// Check the config and the templates rendered from it; no AWS calls
    Validate,
    /// Build and upload the function, create and execute a change set, follow it, verify trunking,
    /// wait for the instances to register with trunks
    Deploy(DeployArgs),
    /// The stack, awsvpcTrunking read as its instance role, its container instances and services
    /// (or with --cluster, any cluster's)
    Status(StatusArgs),
    /// Replace the stack's instances (or with --asg, any group's) when some have no trunk
    /// (launched before the setting), with an Auto Scaling instance refresh, and show the new
    /// instances' trunks
    Roll(RollArgs),
    /// Delete the stack and wait for it, following its events
    Destroy(DestroyArgs),
    /// Trunking for an instance role enitrunk did not create: adds a statement trusting the
    /// function to the role's trust policy, then deploys existing-role.yaml
    Enable(EnableArgs),
    /// Undo `enable --role`: delete its stack and put the role's trust policy back as it was
    Disable(DisableArgs),
    /// Any ECS cluster, read only: instances and their trunks, services waiting for interfaces,
    /// capacity providers, the setting, and what to fix
    Inspect(InspectArgs),
    /// Trunking in many accounts and regions of an organization, with a CloudFormation stack set
    Org(OrgArgs),
}

/// Runs a long command's future, then ends its progress line (on success and on error alike).
macro_rules! waited {
    ($progress:ident, $future:expr) => {{
        let done = block_on($future);
        $progress.finish();
        done
    }};
}

/// Runs a command, writing its result to `out`; progress and questions go to stderr.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Error> {
    let json = cli.global.output == Output::Json;
    let remote = &cli.global.remote;
    match &cli.command {
        Command::Init(args) => return emit(out, json, &init::run(args)?),
        // Needs no config: the cluster is not enitrunk's.
        Command::Inspect(args) => return emit(out, json, &block_on(inspect::run(remote, args))?),
        _ => {}
    }
    // `roll --asg` and `status --cluster` need no config either, but share what follows.
    let loaded = match &cli.command {
        Command::Roll(args) if args.group().is_some() => None,
        Command::Status(args) if args.cluster.is_some() => None,
        _ => Some(config::load(cli.global.config.as_deref())?),
    };
    let mut stderr = std::io::stderr();
    let mut progress = Progress::new(&mut stderr, Progress::stderr_is_interactive());
    let mut asking = std::io::stderr();
    let interactive = std::io::stdin().is_terminal();
    let input = Box::new(std::io::BufReader::new(std::io::stdin()));
    let mut prompt = Prompt::new(input, &mut asking, interactive);
    let Some((spec, origin)) = loaded else {
        return match &cli.command {
            Command::Status(StatusArgs {
                cluster: Some(cluster),
                role,
            }) => {
                let report = block_on(status::of_cluster(remote, cluster, role.as_deref()))?;
                emit(out, json, &report)
            }
            Command::Roll(args) => {
                let (cluster, group) = args.group().expect("checked above");
                let target = roll::Target::Group { cluster, group };
                roll(out, json, remote, args, target, &mut progress, &mut prompt)
            }
            _ => unreachable!("only roll --asg and status --cluster run without a config"),
        };
    };
    match &cli.command {
        Command::Init(_) | Command::Inspect(_) => unreachable!("handled above: no config"),
        Command::Plan(args) => emit(out, json, &plan::run(&spec, args)?),
        Command::Render(args) => match render::run(&spec, &origin, args)? {
            Outcome::Print(r) => out
                .write_all(r.text.as_bytes())
                .map_err(Error::io("write", "stdout")),
            Outcome::Files(report) => emit(out, json, &report),
        },
        Command::Validate => emit(out, json, &validate::run(&spec, &origin)?),
        Command::Deploy(args) => {
            let report = waited!(
                progress,
                deploy::run(&spec, &origin, remote, args, &mut progress, &mut prompt)
            )?;
            emit(out, json, &report)?;
            report.require_trunks()
        }
        Command::Status(_) => emit(out, json, &block_on(status::run(&spec, remote))?),
        Command::Roll(args) => roll(
            out,
            json,
            remote,
            args,
            roll::Target::Stack(&spec),
            &mut progress,
            &mut prompt,
        ),
        Command::Enable(args) => {
            let report = waited!(
                progress,
                enable::run(&spec, &origin, remote, args, &mut progress, &mut prompt)
            )?;
            emit(out, json, &report)
        }
        Command::Disable(args) => {
            let report = waited!(
                progress,
                enable::disable(&spec, remote, args, &mut progress, &mut prompt)
            )?;
            emit(out, json, &report)
        }
        Command::Destroy(args) => {
            let report = waited!(
                progress,
                destroy::run(&spec, remote, args, &mut progress, &mut prompt)
            )?;
            emit(out, json, &report)
        }
        Command::Org(OrgArgs { command }) => match command {
            OrgCommand::Deploy(args) => {
                let report = waited!(
                    progress,
                    org::deploy(&spec, remote, args, &mut progress, &mut prompt)
                )?;
                emit(out, json, &report)?;
                report.require_success()
            }
            OrgCommand::Status(args) => {
                emit(out, json, &block_on(org::status(&spec, remote, args))?)
            }
            OrgCommand::Destroy(args) => {
                let report = waited!(
                    progress,
                    org::destroy(&spec, remote, args, &mut progress, &mut prompt)
                )?;
                emit(out, json, &report)
            }
        },
    }
}

fn roll(
    out: &mut dyn Write,
    json: bool,
    remote: &RemoteArgs,
    args: &RollArgs,
    target: roll::Target<'_>,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<(), Error> {
    let report = waited!(progress, roll::run(target, remote, args, progress, prompt))?;
    emit(out, json, &report)?;
    report.require_trunks()
}

/// Runs a command's future. The runtime is shut down without waiting for its blocking threads:
/// a prompt abandoned on Ctrl-C still has one reading stdin.
fn block_on<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("start", "the async runtime"))?;
    let result = runtime.block_on(f);
    runtime.shutdown_background();
    result
}

/// A command's result: pretty JSON with `--output json`, else its `Display`.
fn emit<T: Serialize + std::fmt::Display>(
    out: &mut dyn Write,
    json: bool,
    value: &T,
) -> Result<(), Error> {
    let result = if json {
        serde_json::to_writer_pretty(&mut *out, value)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write!(out, "{value}")
    };
    result.map_err(Error::io("write", "stdout"))
}
