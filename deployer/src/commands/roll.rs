//! `enitrunk roll`: replace the instances of the stack's Auto Scaling group when some have no
//! trunk interface (launched before `awsvpcTrunking` was on for their role: they never get one),
//! with an Auto Scaling instance refresh, then wait until the new instances have registered and
//! show each one's trunk.
//!
//! An instance refresh replaces every instance of the group, trunked ones too: Auto Scaling
//! cannot refresh some of them. ECS drains each container instance before it is terminated
//! (capacity provider managed draining), so tasks move rather than stop.

use std::fmt;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::aws::{RemoteArgs, Session};
use crate::config::Spec;
use crate::error::Error;
use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::proof::{self, Fleet, Proof};
use crate::refresh::{self, Preferences, Refresh};
use crate::stack;
use crate::verify;

#[derive(Debug, Args)]
pub struct RollArgs {
    /// Share of the group's desired capacity kept in service while instances are replaced
    #[arg(long, value_name = "PERCENT", default_value_t = 90,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_healthy_percent: u8,
    /// Share of the desired capacity the group may grow to while replacing [default: the minimum
    /// plus 100, at most 200: each new instance is in service before the one it replaces goes]
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(100..=200))]
    pub max_healthy_percent: Option<u8>,
    /// Seconds a new instance is given before it counts as in service [default: the group's]
    #[arg(long, value_name = "SECONDS")]
    pub instance_warmup: Option<u32>,
    /// Seconds to wait for the instances to register with the cluster, before and after
    #[arg(long, value_name = "SECONDS", default_value_t = proof::DEFAULT_WAIT_SECONDS)]
    pub wait: u64,
    /// Start the refresh without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
pub struct RollReport {
    pub stack_name: String,
    /// `nothing to do` or `rolled`
    pub result: &'static str,
    pub refresh: Option<Refresh>,
    /// EC2 ids of the instances that had no trunk.
    pub replaced: Vec<String>,
    pub proof: Proof,
}

impl RollReport {
    /// The roll succeeded only if every instance now has its trunk.
    pub fn require_trunks(&self) -> Result<(), Error> {
        match self.proof.untrunked() {
            0 => Ok(()),
            untrunked => Err(Error::NotTrunked {
                stack: self.stack_name.clone(),
                untrunked,
                total: self.proof.container_instances.len(),
            }),
        }
    }
}

impl fmt::Display for RollReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.refresh {
            None => writeln!(
                f,
                "stack {}: every container instance has a trunk, nothing to do",
                self.stack_name
            )?,
            Some(r) => writeln!(
                f,
                "stack {}: instance refresh {} {}; replaced {} instance(s) without a trunk: {}",
                self.stack_name,
                r.id,
                r.status,
                self.replaced.len(),
                self.replaced.join(", ")
            )?,
        }
        write!(f, "{}", self.proof)
    }
}

pub async fn run(
    spec: &Spec,
    remote: &RemoteArgs,
    args: &RollArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<RollReport, Error> {
    let session = Session::existing(spec, remote).await?;
    let (aws, stack_name) = (&session.aws, session.stack_name.as_str());
    let Some(info) = stack::describe(&aws.cfn, stack_name).await? else {
        return Err(Error::NoStack(stack_name.to_owned()));
    };
    let fleet = Fleet::of(&info.outputs).ok_or_else(|| Error::NoFleet {
        stack: stack_name.to_owned(),
    })?;
    // New instances register with the setting as it is now: it must be on first.
    let trunking = verify::read(aws, stack_name, &info.outputs).await?;
    if trunking.value != "enabled" {
        return Err(Error::SettingOff {
            principal: trunking.principal_arn,
            value: trunking.value,
        });
    }
    let cx = proof::context(aws, stack_name, &trunking.value).await?;
    let wait = Duration::from_secs(args.wait);
    let before = proof::wait(aws, &fleet, &cx, wait, progress).await?;
    let replaced: Vec<String> = before
        .container_instances
        .iter()
        .filter(|i| i.trunk_id.is_none())
        .map(|i| i.ec2_instance_id.clone())
        .collect();
    if replaced.is_empty() {
        return Ok(RollReport {
            stack_name: stack_name.to_owned(),
            result: "nothing to do",
            refresh: None,
            replaced,
            proof: before,
        });
    }
    progress.line(&format!("{before}"));
    let question = format!(
        "replace all {} instances of {} ({} without a trunk) with an instance refresh?",
        before.container_instances.len(),
        fleet.auto_scaling_group,
        replaced.len()
    );
    if !args.yes && !prompt.confirm(&question, "roll").await? {
        return Err(Error::NeedsYes("roll (answered no)"));
    }
    let prefs = Preferences {
        min_healthy_percent: args.min_healthy_percent,
        // Auto Scaling takes at most 100 points between the two.
        max_healthy_percent: args
            .max_healthy_percent
            .unwrap_or_else(|| (args.min_healthy_percent.saturating_add(100)).min(200)),
        instance_warmup: args.instance_warmup,
    };
    let group = &fleet.auto_scaling_group;
    let id = refresh::start(aws, group, prefs).await?;
    progress.line(&format!("started instance refresh {id} of {group}"));
    let refresh = refresh::follow(aws, group, &id, progress).await?;
    if refresh.status != "Successful" {
        return Err(Error::RefreshFailed {
            group: group.clone(),
            id,
            status: refresh.status,
            reason: refresh.status_reason,
        });
    }
    let after = proof::wait(aws, &fleet, &cx, wait, progress).await?;
    Ok(RollReport {
        stack_name: stack_name.to_owned(),
        result: "rolled",
        refresh: Some(refresh),
        replaced,
        proof: after,
    })
}
