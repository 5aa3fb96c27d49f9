//! `enitrunk status`: the stack, the effective `awsvpcTrunking` for its instance role, and each
//! container instance: trunked or not, running tasks, task limit.

use std::fmt;

use serde::Serialize;

use crate::aws::{Aws, RemoteArgs};
use crate::config::Spec;
use crate::deploy::{connect_to_existing, effective_trunking};
use crate::error::Error;
use crate::instance_types;
use crate::stack::{self, StackInfo};

/// Attribute ECS sets on a container instance that has a trunk interface.
const TRUNK_ATTRIBUTE: &str = "ecs.awsvpc-trunk-id";

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub stack: Option<StackInfo>,
    pub trunking: Option<String>,
    pub instance_role_arn: Option<String>,
    pub cluster: Option<String>,
    pub instances: Vec<Instance>,
}

#[derive(Debug, Serialize)]
pub struct Instance {
    pub ec2_instance_id: String,
    pub instance_type: String,
    pub status: String,
    pub trunk_id: Option<String>,
    pub running_tasks: i32,
    /// awsvpc tasks the instance can hold: with trunking if it has a trunk, else without.
    pub task_limit: Option<u32>,
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

pub async fn status(spec: &Spec, remote: &RemoteArgs) -> Result<StatusReport, Error> {
    let (aws, stack_name) = connect_to_existing(spec, remote).await?;
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
        report.trunking = Some(effective_trunking(&aws, role).await?);
        report.instance_role_arn = Some(role.clone());
    }
    if let Some(cluster) = info.outputs.get("ClusterName") {
        report.instances = instances(&aws, cluster).await?;
        report.cluster = Some(cluster.clone());
    }
    report.stack = Some(info);
    Ok(report)
}

async fn instances(aws: &Aws, cluster: &str) -> Result<Vec<Instance>, Error> {
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let page = aws
            .ecs
            .list_container_instances()
            .cluster(cluster)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                Error::aws(format!("list container instances of cluster {cluster}"), &e)
            })?;
        arns.extend(page.container_instance_arns.unwrap_or_default());
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    // DescribeContainerInstances takes at most 100 at a time.
    for chunk in arns.chunks(100) {
        let resp = aws
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                Error::aws(
                    format!("describe container instances of cluster {cluster}"),
                    &e,
                )
            })?;
        for ci in resp.container_instances.unwrap_or_default() {
            let attr = |name: &str| {
                ci.attributes
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .find(|a| a.name == name)
                    .and_then(|a| a.value.clone())
            };
            let instance_type = attr("ecs.instance-type").unwrap_or_default();
            let trunk_id = attr(TRUNK_ATTRIBUTE);
            let task_limit = instance_types::get(&instance_type).and_then(|t| match trunk_id {
                Some(_) => t.tasks_with_trunking(),
                None => Some(t.tasks_without_trunking),
            });
            out.push(Instance {
                ec2_instance_id: ci.ec2_instance_id.clone().unwrap_or_default(),
                instance_type,
                status: ci.status.clone().unwrap_or_default(),
                trunk_id,
                running_tasks: ci.running_tasks_count,
                task_limit,
            });
        }
    }
    out.sort_by(|a, b| a.ec2_instance_id.cmp(&b.ec2_instance_id));
    Ok(out)
}
