//! `enitrunk plan`: tasks per instance without and with trunking, and instances needed, for the
//! config's workload or the one on the command line.

use clap::Args;

use crate::config::Spec;
use crate::error::Error;
use crate::plan::{self, Overrides, Plan, Workload};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Instance type to compare (repeatable) [default: the config's types and a spread of others]
    #[arg(long = "instance-type", short = 't', value_name = "TYPE")]
    pub instance_types: Vec<String>,
    /// Task CPU units (1024 = 1 vCPU) [default: from the config]
    #[arg(long)]
    pub cpu: Option<u32>,
    /// Task memory in MiB [default: from the config]
    #[arg(long)]
    pub memory: Option<u32>,
    /// Number of tasks to place [default: the config services' desired counts]
    #[arg(long)]
    pub count: Option<u32>,
}

pub fn run(spec: &Spec, args: &PlanArgs) -> Result<Plan, Error> {
    let overrides = Overrides {
        cpu: args.cpu,
        memory: args.memory,
        count: args.count,
    };
    let workload = Workload::with_overrides(spec, &overrides)?;
    let types = plan::resolve_types(&plan::type_names(spec, &args.instance_types))?;
    Ok(plan::plan(workload, &types)?)
}
