//! `enitrunk roll`: replace the instances of the stack's Auto Scaling group when some have no
//! trunk interface (launched before `awsvpcTrunking` was on for their role: they never get one),
//! with an Auto Scaling instance refresh, then wait until the new instances have registered and
//! show each one's trunk.
//!
//! With `--asg GROUP --cluster CLUSTER` it rolls a group enitrunk did not create, the same way;
//! `--role` names the instances' role so its setting is checked first, when it may be read.
//!
//! An instance refresh replaces every instance of the group, trunked ones too: Auto Scaling
//! cannot refresh some of them. ECS drains each container instance before it is terminated
//! (capacity provider managed draining), so tasks move rather than stop.

use std::fmt;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::aws::{self, Aws, RemoteArgs, Session};
use crate::cluster;
use crate::config::Spec;
use crate::container_instances::Context;
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
    /// Roll this Auto Scaling group instead of the stack's, one enitrunk did not create (with
    /// --cluster)
    #[arg(long, value_name = "GROUP", requires = "cluster")]
    pub asg: Option<String>,
    /// The ECS cluster the group's instances join (with --asg)
    #[arg(long, value_name = "CLUSTER", requires = "asg")]
    pub cluster: Option<String>,
    /// The group's instance role (name or ARN, with --asg): its awsvpcTrunking must be enabled,
    /// checked first when the credentials may read it (the role's own, or the root user's)
    #[arg(long, value_name = "ROLE", requires = "asg")]
    pub role: Option<String>,
}

impl RollArgs {
    /// `(cluster, group)` with `--asg`.
    pub fn group(&self) -> Option<(&str, &str)> {
        Some((self.cluster.as_deref()?, self.asg.as_deref()?))
    }
}

/// What is rolled: the group of enitrunk's stack (from the config), or one named on the command
/// line.
pub enum Target<'a> {
    Stack(&'a Spec),
    Group { cluster: &'a str, group: &'a str },
}

#[derive(Debug, Serialize)]
pub struct RollReport {
    /// The stack whose group was rolled; none with `--asg`.
    pub stack_name: Option<String>,
    /// `nothing to do` or `rolled`
    pub result: &'static str,
    pub refresh: Option<Refresh>,
    /// EC2 ids of the instances that had no trunk.
    pub replaced: Vec<String>,
    pub proof: Proof,
}

impl RollReport {
    fn subject(&self) -> String {
        match &self.stack_name {
            Some(s) => format!("stack {s}"),
            None => format!("Auto Scaling group {}", self.proof.fleet.auto_scaling_group),
        }
    }

    /// The roll succeeded only if every instance now has its trunk.
    pub fn require_trunks(&self) -> Result<(), Error> {
        match self.proof.untrunked() {
            0 => Ok(()),
            untrunked => Err(Error::NotTrunked {
                of: self.subject(),
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
                "{}: every container instance has a trunk, nothing to do",
                self.subject()
            )?,
            Some(r) => writeln!(
                f,
                "{}: instance refresh {} {}; replaced {} instance(s) without a trunk: {}",
                self.subject(),
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
    target: Target<'_>,
    remote: &RemoteArgs,
    args: &RollArgs,
    progress: &mut Progress<'_>,
    prompt: &mut Prompt<'_>,
) -> Result<RollReport, Error> {
    let (aws, stack_name, fleet, cx) = match target {
        Target::Stack(spec) => {
            let (aws, stack_name, fleet, cx) = of_stack(spec, remote).await?;
            (aws, Some(stack_name), fleet, cx)
        }
        Target::Group { cluster, group } => {
            let (aws, account) = aws::outside(remote).await?;
            // A cluster that is not there is said now, not after a refresh.
            cluster::capacity_providers(&aws, cluster).await?;
            let fleet = Fleet {
                cluster: cluster.to_owned(),
                auto_scaling_group: group.to_owned(),
            };
            let mut cx = of_role(&aws, &account, args.role.as_deref(), progress).await?;
            let role = args.role.clone().unwrap_or_else(|| "ROLE".into());
            cx.outside = Some((group.to_owned(), cluster.to_owned(), role));
            (aws, None, fleet, cx)
        }
    };
    let aws = &aws;
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
            stack_name,
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
        stack_name,
        result: "rolled",
        refresh: Some(refresh),
        replaced,
        proof: after,
    })
}

async fn of_stack(
    spec: &Spec,
    remote: &RemoteArgs,
) -> Result<(Aws, String, Fleet, Context), Error> {
    let Session {
        aws, stack_name, ..
    } = Session::existing(spec, remote).await?;
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Err(Error::NoStack(stack_name));
    };
    let fleet = Fleet::of(&info.outputs).ok_or_else(|| Error::NoFleet {
        stack: stack_name.clone(),
    })?;
    // New instances register with the setting as it is now: it must be on first.
    let trunking = verify::read(&aws, &stack_name, &info.outputs).await?;
    if trunking.value != "enabled" {
        return Err(Error::SettingOff {
            principal: trunking.principal_arn,
            value: trunking.value,
        });
    }
    let cx = proof::context(&aws, &stack_name, &trunking.value).await?;
    Ok((aws, stack_name, fleet, cx))
}

/// The role's setting must be on before its instances are replaced; read it when it may be read
/// (only the role itself or the root user may), else say the roll goes on unchecked.
async fn of_role(
    aws: &Aws,
    account: &str,
    role: Option<&str>,
    progress: &mut Progress<'_>,
) -> Result<Context, Error> {
    let Some(role) = role else {
        progress.line(
            "awsvpcTrunking not checked first: --role ROLE names the instances' role to check it",
        );
        return Ok(Context::default());
    };
    let arn = verify::role_arn(aws, account, role);
    match verify::role_setting(aws, &arn).await {
        Ok(Some(v)) if v == "enabled" => Ok(Context {
            setting: Some(v),
            ..Context::default()
        }),
        Ok(v) => Err(Error::SettingOff {
            principal: arn,
            value: v.unwrap_or_else(|| "not set".into()),
        }),
        Err(why) => {
            progress.line(&format!(
                "awsvpcTrunking for {arn} not checked first ({why}); the new instances show whether they got trunks"
            ));
            Ok(Context::default())
        }
    }
}
