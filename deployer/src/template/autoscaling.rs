//! `AWS::AutoScaling::AutoScalingGroup`.

use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoScalingGroup {
    /// Strings in the resource specification.
    pub min_size: String,
    pub max_size: String,
    #[serde(rename = "VPCZoneIdentifier")]
    pub vpc_zone_identifier: Vec<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<LaunchTemplateSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mixed_instances_policy: Option<MixedInstancesPolicy>,
    pub tags: Vec<TagProperty>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateSpecification {
    pub launch_template_id: Expr,
    pub version: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixedInstancesPolicy {
    pub launch_template: MixedLaunchTemplate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixedLaunchTemplate {
    pub launch_template_specification: LaunchTemplateSpecification,
    pub overrides: Vec<Override>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Override {
    pub instance_type: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagProperty {
    pub key: String,
    pub value: Expr,
    pub propagate_at_launch: bool,
}
