//! `AWS::CloudFormation::StackSet`, service-managed: one template deployed by CloudFormation
//! StackSets to every account of some organizational units, in some regions.

use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackSet {
    pub stack_set_name: Expr,
    pub description: String,
    pub permission_model: &'static str,
    pub auto_deployment: AutoDeployment,
    pub call_as: Expr,
    pub capabilities: Vec<&'static str>,
    pub managed_execution: ManagedExecution,
    pub operation_preferences: OperationPreferences,
    pub parameters: Vec<StackSetParameter>,
    pub stack_instances_group: Vec<StackInstances>,
    pub template_body: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoDeployment {
    pub enabled: bool,
    pub retain_stacks_on_account_removal: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedExecution {
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationPreferences {
    pub max_concurrent_percentage: Expr,
    pub failure_tolerance_percentage: Expr,
    pub region_concurrency_type: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackSetParameter {
    pub parameter_key: &'static str,
    pub parameter_value: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackInstances {
    pub deployment_targets: DeploymentTargets,
    pub regions: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentTargets {
    pub organizational_unit_ids: Expr,
}
