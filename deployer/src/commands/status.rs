//! `enitrunk status`: the stack, the effective `awsvpcTrunking` for its instance role, and each
//! container instance: trunked or not, running tasks, task limit.

use std::fmt;

use serde::Serialize;

use crate::aws::{RemoteArgs, Session};
use crate::config::Spec;
use crate::container_instances::{self, Instance};
use crate::error::Error;
use crate::stack::{self, StackInfo};
use crate::verify;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub stack: Option<StackInfo>,
    pub trunking: Option<String>,
    pub instance_role_arn: Option<String>,
    pub cluster: Option<String>,
    pub instances: Vec<Instance>,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(s) = &self.stack else {
            return writeln!(
                f,
                "stack {}: does not exist (deploy it with `enitrunk deploy`)",
                self.stack_name
            );
        };
        write!(f, "stack {}: {}", s.name, s.status)?;
        if let Some(r) = &s.status_reason {
            write!(f, " ({r})")?;
        }
        writeln!(f)?;
        if let (Some(role), Some(value)) = (&self.instance_role_arn, &self.trunking) {
            writeln!(f, "awsvpcTrunking for {role}: {value}")?;
        }
        if let Some(cluster) = &self.cluster {
            writeln!(
                f,
                "cluster {cluster}: {} container instances",
                self.instances.len()
            )?;
            if self.instances.is_empty() {
                writeln!(
                    f,
                    "  (instances appear once their ECS agent registers them with the cluster)"
                )?;
            }
            for i in &self.instances {
                let trunk = match &i.trunk_id {
                    Some(id) => format!("trunked ({id})"),
                    None => "not trunked".into(),
                };
                let limit = i.task_limit.map_or("?".into(), |l| l.to_string());
                writeln!(
                    f,
                    "  {}  {}  {}  {}  {}/{} tasks",
                    i.ec2_instance_id, i.instance_type, i.status, trunk, i.running_tasks, limit
                )?;
            }
        }
        Ok(())
    }
}

pub async fn run(spec: &Spec, remote: &RemoteArgs) -> Result<StatusReport, Error> {
    let Session {
        aws, stack_name, ..
    } = Session::existing(spec, remote).await?;
    let mut report = StatusReport {
        stack_name: stack_name.clone(),
        stack: None,
        trunking: None,
        instance_role_arn: None,
        cluster: None,
        instances: Vec::new(),
    };
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(report);
    };
    if let Some(role) = info.outputs.get("InstanceRoleArn") {
        report.trunking = Some(verify::effective_trunking(&aws, role).await?);
        report.instance_role_arn = Some(role.clone());
    }
    if let Some(cluster) = info.outputs.get("ClusterName") {
        report.instances = container_instances::list(&aws, cluster).await?;
        report.cluster = Some(cluster.clone());
    }
    report.stack = Some(info);
    Ok(report)
}
