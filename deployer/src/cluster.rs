//! An ECS cluster by name, enitrunk's or not: that it is there, and its capacity providers with
//! their Auto Scaling groups.

use aws_sdk_ecs::types::ClusterField;
use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;

#[derive(Debug, Serialize)]
pub struct CapacityProvider {
    pub name: String,
    /// `auto_scaling_group`, `managed_instances` or `fargate`.
    pub kind: &'static str,
    pub auto_scaling_group: Option<String>,
}

pub async fn capacity_providers(aws: &Aws, cluster: &str) -> Result<Vec<CapacityProvider>, Error> {
    let described = aws
        .ecs
        .describe_clusters()
        .clusters(cluster)
        .include(ClusterField::Settings)
        .send()
        .await
        .map_err(|e| Error::aws(format!("describe cluster {cluster}"), &e))?;
    let Some(c) = described.clusters().first() else {
        return Err(Error::NoCluster(cluster.to_owned()));
    };
    if c.status() == Some("INACTIVE") {
        return Err(Error::NoCluster(cluster.to_owned()));
    }
    let names = c.capacity_providers().to_vec();
    let mut out = Vec::new();
    let (fargate, own): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| n.starts_with("FARGATE"));
    out.extend(fargate.into_iter().map(|name| CapacityProvider {
        name,
        kind: "fargate",
        auto_scaling_group: None,
    }));
    if !own.is_empty() {
        let resp = aws
            .ecs
            .describe_capacity_providers()
            .set_capacity_providers(Some(own))
            .send()
            .await
            .map_err(|e| Error::aws(format!("describe capacity providers of {cluster}"), &e))?;
        for cp in resp.capacity_providers() {
            let group = cp.auto_scaling_group_provider().map(|g| {
                let arn = g.auto_scaling_group_arn();
                arn.rsplit_once("autoScalingGroupName/")
                    .map_or(arn, |(_, name)| name)
                    .to_owned()
            });
            out.push(CapacityProvider {
                name: cp.name().unwrap_or_default().to_owned(),
                kind: match (&group, cp.managed_instances_provider()) {
                    (_, Some(_)) => "managed_instances",
                    (Some(_), None) => "auto_scaling_group",
                    (None, None) => "fargate",
                },
                auto_scaling_group: group,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
