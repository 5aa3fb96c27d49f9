//! `enitrunk status`: the stack, the effective `awsvpcTrunking` for its instance role, and each
//! container instance: trunked or not, running tasks, task limit.

use std::fmt;

use serde::Serialize;

use crate::aws::{RemoteArgs, Session};
use crate::config::Spec;
use crate::container_instances::{self, Instance};
use crate::error::Error;
use crate::stack::{self, StackInfo};
use crate::verify::{self, Trunking};

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub stack: Option<StackInfo>,
    /// Read as the role through the stack's function, with drift against the stack.
    pub trunking: Option<Trunking>,
    /// Why the setting could not be read, when it could not.
    pub trunking_error: Option<String>,
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
        if let Some(t) = &self.trunking {
            write_trunking(f, t)?;
        }
        if let Some(e) = &self.trunking_error {
            writeln!(f, "awsvpcTrunking: cannot read it: {e}")?;
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
    let mut report = StatusReport {
        stack_name: stack_name.clone(),
        stack: None,
        trunking: None,
        trunking_error: None,
        instance_role_arn: None,
        cluster: None,
        instances: Vec::new(),
    };
    let Some(info) = stack::describe(&aws.cfn, &stack_name).await? else {
        return Ok(report);
    };
    if let Some(role) = info.outputs.get("InstanceRoleArn") {
        match verify::read(&aws, &stack_name, &info.outputs).await {
            Ok(t) => report.trunking = Some(t),
            // The rest of the report still helps; the reason says what to fix.
            Err(e) => report.trunking_error = Some(e.to_string()),
        }
        report.instance_role_arn = Some(role.clone());
    }
    if let Some(cluster) = info.outputs.get("ClusterName") {
        report.instances = container_instances::list(&aws, cluster).await?;
        report.cluster = Some(cluster.clone());
    }
    report.stack = Some(info);
    Ok(report)
}
