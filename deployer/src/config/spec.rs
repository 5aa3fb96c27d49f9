//! The validated configuration: what the templates and commands are built from.

use custom_resource_lambda::properties::{OnDelete, Scope};
use serde::Serialize;

use crate::instance_types::{Architecture, InstanceType};

/// A validated configuration: everything the templates and commands need.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spec {
    pub stack_name: String,
    pub region: Option<String>,
    /// A bucket of the user's for the function's code, used as it is; else enitrunk's own.
    pub artifact_bucket: Option<String>,
    pub cluster: Cluster,
    pub network: Network,
    pub trunking: TrunkingSpec,
    pub function: FunctionSpec,
    pub tasks: Vec<Task>,
    pub org: OrgSpec,
}

/// `enitrunk org`'s defaults from the config (`org:`); empty when it has none.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OrgSpec {
    /// Self-managed targets; at most one of `accounts` and `ous` is set.
    pub accounts: Vec<String>,
    /// Service-managed targets.
    pub ous: Vec<String>,
    pub regions: Vec<String>,
    pub max_concurrent_percent: Option<u32>,
    pub failure_tolerance_percent: Option<u32>,
    pub retain_stacks_on_account_removal: bool,
    pub delegated_admin: bool,
}

/// The custom resource's function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FunctionSpec {
    /// Its Lambda architecture; arm64 (Graviton) costs less per millisecond.
    pub architecture: Architecture,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    #[serde(serialize_with = "type_names")]
    pub instance_types: Vec<&'static InstanceType>,
    pub architecture: Architecture,
    /// The group starts with this many instances; ECS managed scaling sizes it afterwards.
    pub min_size: u32,
    pub max_size: u32,
    pub ami_parameter: String,
}

fn type_names<S: serde::Serializer>(
    types: &[&'static InstanceType],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(types.iter().map(|t| &t.name))
}

impl Cluster {
    /// The type with the least memory, then the fewest vCPUs: every task must fit on it.
    pub fn smallest_type(&self) -> &'static InstanceType {
        self.instance_types
            .iter()
            .copied()
            .min_by_key(|t| (t.memory_mib, t.vcpu))
            .expect("validated: at least one instance type")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// A VPC created by the stack.
    Demo,
    Existing {
        vpc_id: String,
        subnet_ids: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrunkingSpec {
    pub scope: Scope,
    pub on_delete: OnDelete,
    pub instance_role_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub family: String,
    /// PascalCase of the family, for logical ids.
    pub logical_name: String,
    pub cpu: u32,
    pub memory: u32,
    pub containers: Vec<Container>,
    pub service: Option<Service>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub ports: Vec<u16>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    pub desired_count: u32,
}
