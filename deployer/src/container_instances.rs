//! The container instances of an ECS cluster as enitrunk reports them: trunked or not (the
//! `ecs.awsvpc-trunk-id` attribute), running tasks, and the task limit that follows.

use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;
use crate::instance_types;

/// Attribute ECS sets on a container instance that has a trunk interface.
pub const TRUNK_ATTRIBUTE: &str = "ecs.awsvpc-trunk-id";

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

/// Every container instance of `cluster`, sorted by EC2 instance id.
pub async fn list(aws: &Aws, cluster: &str) -> Result<Vec<Instance>, Error> {
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
