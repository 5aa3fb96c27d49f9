//! `enitrunk status`: the stack, the effective `awsvpcTrunking` for its instance role (read as
//! the role, with drift), each container instance (trunk or why not, running tasks, task limits
//! with and without trunking), and each service (desired, running, pending, the latest reason a
//! task could not be placed).
//!
//! With `--cluster NAME` (and `--role ROLE`), the same for a cluster enitrunk did not create: no
//! stack, and the role's setting read with the caller's credentials where they may read it.

use std::fmt;

use clap::Args;
use serde::Serialize;

use crate::aws::{self, Aws, RemoteArgs, Session};
use crate::cluster;
use crate::config::Spec;
use crate::container_instances::{self, Context, Instance, Table};
use crate::ecs_services::{self, Service};
use crate::error::Error;
use crate::proof;
use crate::stack::{self, StackInfo};
use crate::verify::{self, Trunking};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// An ECS cluster enitrunk did not create (name or ARN): its instances and services instead
    /// of the stack's
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// The cluster's instance role (name or ARN, with --cluster), to read awsvpcTrunking for it:
    /// the credentials must be the role's own or the root user's
    #[arg(long, value_name = "ROLE", requires = "cluster")]
    pub role: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// None with `--cluster`.
    pub stack_name: Option<String>,
    pub stack: Option<StackInfo>,
    /// Read as the role through the stack's function, with drift against the stack; with
    /// `--cluster`, read with the caller's credentials.
    pub trunking: Option<Trunking>,
    /// Why the setting could not be read, when it could not.
    pub trunking_error: Option<String>,
    pub instance_role_arn: Option<String>,
    pub cluster: Option<String>,
    pub container_instances: Vec<Instance>,
    pub services: Vec<Service>,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.stack_name, &self.stack) {
            (Some(name), None) => {
                return writeln!(
                    f,
                    "stack {name}: does not exist (deploy it with `enitrunk deploy`)"
                );
            }
            (_, Some(s)) => {
                write!(f, "stack {}: {}", s.name, s.status)?;
                if let Some(r) = &s.status_reason {
                    write!(f, " ({r})")?;
                }
                writeln!(f)?;
            }
            (None, None) => {}
        }
        match (&self.trunking, self.stack.is_some()) {
            (Some(t), true) => write_trunking(f, t)?,
            (Some(t), false) => writeln!(f, "awsvpcTrunking for {}: {}", t.principal_arn, t.value)?,
            (None, _) => {}
        }
        if let Some(e) = &self.trunking_error {
            writeln!(f, "awsvpcTrunking: cannot read it: {e}")?;
        }
        if let Some(cluster) = &self.cluster {
            let n = self.container_instances.len();
            let noun = if n == 1 { "instance" } else { "instances" };
            writeln!(f, "cluster {cluster}: {n} container {noun}")?;
            if self.container_instances.is_empty() {
                writeln!(
                    f,
                    "  (instances appear once their ECS agent registers them with the cluster)"
                )?;
            }
            write!(f, "{}", Table(&self.container_instances))?;
            for s in &self.services {
                writeln!(f, "{s}")?;
            }
        }
        Ok(())
    }
}

fn write_trunking(f: &mut fmt::Formatter<'_>, t: &Trunking) -> fmt::Result {
    if t.is_account_default() {
        writeln!(
            f,
            "awsvpcTrunking account default ({}): {} (read by the stack's function)",
            t.principal_arn, t.value
        )?;
    } else {
        writeln!(
            f,
            "awsvpcTrunking for {}: {} (read as the role)",
            t.principal_arn, t.value
        )?;
    }
    if let (true, Some(stack_value)) = (t.drift, &t.stack_value) {
        writeln!(
            f,
            "  drift: the stack left it `{stack_value}`, it is `{}` now: changed outside CloudFormation; instances launched from now on follow `{}`",
            t.value, t.value
        )?;
    }
    Ok(())
}

pub async fn run(spec: &Spec, remote: &RemoteArgs) -> Result<StatusReport, Error> {
    let Session {
        aws, stack_name, ..
    } = Session::existing(spec, remote).await?;
    let mut report = StatusReport::empty(Some(stack_name.clone()));
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(report);
    };
    // Every stack of enitrunk's has the function; the account default's alone has no role.
    if info.outputs.contains_key("TrunkingFunctionName") {
        match verify::read(&aws, &stack_name, &info.outputs).await {
            Ok(t) => report.trunking = Some(t),
            // The rest of the report still helps; the reason says what to fix.
            Err(e) => report.trunking_error = Some(e.to_string()),
        }
        report.instance_role_arn = info.outputs.get("InstanceRoleArn").cloned();
    }
    if let Some(cluster) = info.outputs.get("ClusterName") {
        let cx = match &report.trunking {
            Some(t) => proof::context(&aws, &stack_name, &t.value).await?,
            None => Context::default(),
        };
        report.read_cluster(&aws, cluster, &cx).await?;
    }
    report.stack = Some(info);
    Ok(report)
}

/// `status --cluster NAME [--role ROLE]`.
pub async fn of_cluster(
    remote: &RemoteArgs,
    cluster: &str,
    role: Option<&str>,
) -> Result<StatusReport, Error> {
    let (aws, account) = aws::outside(remote).await?;
    // Says a cluster that is not there as such, rather than as an empty one.
    let providers = cluster::capacity_providers(&aws, cluster).await?;
    let groups: Vec<&str> = providers
        .iter()
        .filter_map(|p| p.auto_scaling_group.as_deref())
        .collect();
    let mut report = StatusReport::empty(None);
    let mut cx = Context {
        outside: Some((
            match groups.as_slice() {
                [one] => (*one).to_owned(),
                _ => "GROUP".to_owned(),
            },
            cluster.to_owned(),
            role.unwrap_or("ROLE").to_owned(),
        )),
        ..Context::default()
    };
    if let Some(role) = role {
        let arn = verify::role_arn(&aws, &account, role);
        match verify::role_setting(&aws, &arn).await {
            Ok(value) => {
                cx.setting.clone_from(&value);
                report.trunking = value.map(|value| Trunking {
                    principal_arn: arn.clone(),
                    value,
                    stack_value: None,
                    drift: false,
                });
            }
            Err(why) => report.trunking_error = Some(format!("for {arn}: {why}")),
        }
        report.instance_role_arn = Some(arn);
    }
    report.read_cluster(&aws, cluster, &cx).await?;
    Ok(report)
}

impl StatusReport {
    fn empty(stack_name: Option<String>) -> StatusReport {
        StatusReport {
            stack_name,
            stack: None,
            trunking: None,
            trunking_error: None,
            instance_role_arn: None,
            cluster: None,
            container_instances: Vec::new(),
            services: Vec::new(),
        }
    }

    async fn read_cluster(&mut self, aws: &Aws, cluster: &str, cx: &Context) -> Result<(), Error> {
        self.container_instances = container_instances::list(aws, cluster)
            .await?
            .into_iter()
            .map(|mut i| {
                i.why_no_trunk = container_instances::why_no_trunk(&i, cx);
                i
            })
            .collect();
        self.services = ecs_services::list(aws, cluster).await?;
        self.cluster = Some(cluster.to_owned());
        Ok(())
    }
}
