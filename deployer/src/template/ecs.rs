//! `AWS::ECS::{Cluster, CapacityProvider, ClusterCapacityProviderAssociations, TaskDefinition,
//! Service}`.

use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cluster {
    pub cluster_name: Expr,
    pub cluster_settings: Vec<ClusterSetting>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterSetting {
    pub name: &'static str,
    pub value: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityProvider {
    pub auto_scaling_group_provider: AutoScalingGroupProvider,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoScalingGroupProvider {
    pub auto_scaling_group_arn: Expr,
    pub managed_scaling: ManagedScaling,
    pub managed_termination_protection: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedScaling {
    pub status: &'static str,
    pub target_capacity: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterCapacityProviderAssociations {
    pub cluster: Expr,
    pub capacity_providers: Vec<Expr>,
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: Expr,
    pub weight: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDefinition {
    pub family: String,
    /// Task-level cpu and memory are strings in the resource specification.
    pub cpu: String,
    pub memory: String,
    pub network_mode: &'static str,
    pub requires_compatibilities: Vec<&'static str>,
    pub container_definitions: Vec<ContainerDefinition>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    pub essential: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Service {
    pub cluster: Expr,
    pub task_definition: Expr,
    pub desired_count: u32,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub network_configuration: NetworkConfiguration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsvpcConfiguration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsvpcConfiguration {
    pub assign_public_ip: &'static str,
    pub security_groups: Vec<Expr>,
    pub subnets: Vec<Expr>,
}
