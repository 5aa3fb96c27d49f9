//! Turns the config as written into a [`Spec`], collecting every problem with its position.

use std::collections::BTreeSet;

use custom_resource_lambda::properties::{OnDelete, Scope};

use super::diagnostic::Diagnostic;
use super::raw::{self, Loc, RawConfig, Sp};
use super::spec::{
    Cluster, Container, FunctionSpec, Network, OrgSpec, Service, Spec, Task, TrunkingSpec,
};
use crate::instance_types::{self, Accelerator, Architecture, InstanceType, Trunking};

const AMI_PARAMETER_X86_64: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
const AMI_PARAMETER_ARM64: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id";
/// The NVIDIA driver and container toolkit; x86_64 only.
const AMI_PARAMETER_GPU: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id";
/// The Neuron driver for Inferentia and Trainium; x86_64 only.
const AMI_PARAMETER_NEURON: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/neuron/recommended/image_id";

/// Task-level CPU units ECS accepts for the EC2 launch type (0.125 to 192 vCPU).
const TASK_CPU_RANGE: std::ops::RangeInclusive<u32> = 128..=196_608;
/// ECS's smallest container memory limit, in MiB.
const MIN_TASK_MEMORY: u32 = 6;

#[derive(Default)]
pub(super) struct Validator {
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl Validator {
    fn report(&mut self, at: Loc, message: impl Into<String>, help: Option<String>) {
        self.diagnostics.push(Diagnostic {
            line: at.line,
            column: at.column,
            message: message.into(),
            help,
        });
    }

    pub(super) fn spec(&mut self, raw: RawConfig) -> Option<Spec> {
        let top = Loc::START;
        let stack_name = self.stack_name(raw.stack_name);
        let region = raw.region.and_then(|r| self.region(r));
        let artifact_bucket = raw.artifact_bucket.and_then(|b| self.bucket(b));
        let cluster_loc = raw.cluster.as_ref().map_or(top, |c| c.loc);
        let cluster = self.cluster(
            raw.cluster.map(|c| c.value).unwrap_or_default(),
            cluster_loc,
            region.as_deref(),
        );
        let network = self.network(raw.network);
        let trunking = self.trunking(raw.trunking.unwrap_or_default());
        let function = self.function(raw.function.unwrap_or_default());
        let tasks = match raw.tasks {
            Some(tasks) => self.tasks(tasks, cluster.as_ref()),
            // The starter file's tasks; it has a `tasks` key, so this does not recurse.
            None => Some(super::demo().tasks),
        };
        let org = match raw.org {
            Some(o) => self.org(o),
            None => Some(OrgSpec::default()),
        };
        Some(Spec {
            stack_name: stack_name?,
            region,
            artifact_bucket,
            cluster: cluster?,
            network: network?,
            trunking: trunking?,
            function: function?,
            tasks: tasks?,
            org: org?,
        })
    }

    fn stack_name(&mut self, name: Option<Sp<String>>) -> Option<String> {
        let Some(name) = name else {
            return Some("enitrunk-demo".into());
        };
        if check_stack_name(&name.value).is_err() {
            self.report(
                name.loc,
                format!("stack_name `{}` is not a valid CloudFormation stack name", name.value),
                Some("use letters, digits and hyphens, starting with a letter, at most 128 characters".into()),
            );
            return None;
        }
        Some(name.value)
    }

    fn function(&mut self, raw: raw::RawFunction) -> Option<FunctionSpec> {
        let architecture = match raw.architecture {
            None => Architecture::X86_64,
            Some(a) => match a.value.as_str() {
                "x86_64" => Architecture::X86_64,
                "arm64" => Architecture::Arm64,
                other => {
                    self.report(
                        a.loc,
                        format!("function.architecture `{other}` is not a Lambda architecture"),
                        Some("use x86_64 or arm64".into()),
                    );
                    return None;
                }
            },
        };
        Some(FunctionSpec { architecture })
    }

    /// S3's rules for bucket names (general purpose buckets).
    fn bucket(&mut self, name: Sp<String>) -> Option<String> {
        if let Err(why) = check_bucket_name(&name.value) {
            self.report(
                name.loc,
                format!("artifact_bucket `{}` is not a valid S3 bucket name: {why}", name.value),
                Some("name an existing bucket of yours, or leave artifact_bucket out to let enitrunk create its own".into()),
            );
            return None;
        }
        Some(name.value)
    }

    fn region(&mut self, region: Sp<String>) -> Option<String> {
        if check_region_name(&region.value).is_err() {
            self.report(
                region.loc,
                format!("region `{}` is not an AWS region name", region.value),
                Some("write it like `eu-west-1` or `us-east-2`, or leave it out to use AWS_REGION or your profile's region".into()),
            );
            return None;
        }
        Some(region.value)
    }

    /// `org:`: each id checked where it is written; targets one kind or the other.
    fn org(&mut self, raw: Sp<raw::RawOrg>) -> Option<OrgSpec> {
        let (at, raw) = (raw.loc, raw.value);
        let before = self.diagnostics.len();
        let mut list = |key: &str,
                        items: Option<Sp<Vec<Sp<String>>>>,
                        check: fn(&str) -> Result<(), &'static str>,
                        help: &str|
         -> (Vec<String>, Option<Loc>) {
            let Some(items) = items else {
                return (Vec::new(), None);
            };
            let mut out = Vec::new();
            for item in items.value {
                match check(&item.value) {
                    Ok(()) => out.push(item.value),
                    Err(why) => self.report(
                        item.loc,
                        format!("org.{key}: `{}` {why}", item.value),
                        Some(help.into()),
                    ),
                }
            }
            (out, Some(items.loc))
        };
        let (accounts, _) = list(
            "accounts",
            raw.accounts,
            check_account_id,
            "copy the 12 digits from the account; quoting them (\"012345678901\") keeps a leading zero in any YAML reader",
        );
        let (ous, ous_at) = list(
            "ous",
            raw.ous,
            check_ou_id,
            "copy the id from AWS Organizations (`aws organizations list-organizational-units-for-parent`)",
        );
        let (regions, _) = list(
            "regions",
            raw.regions,
            check_region_name,
            "write each region like `eu-west-1`",
        );
        if !accounts.is_empty() && !ous.is_empty() {
            self.report(
                ous_at.unwrap_or(at),
                "org.accounts and org.ous are both set",
                Some("a stack set is self-managed (accounts) or service-managed (ous), not both: keep one".into()),
            );
        }
        let percent =
            |v: &mut Self, p: Option<Sp<u32>>, key: &str, range: std::ops::RangeInclusive<u32>| {
                let p = p?;
                if range.contains(&p.value) {
                    return Some(p.value);
                }
                v.report(
                    p.loc,
                    format!(
                        "org.{key} is {}; it is a percentage from {} to {}",
                        p.value,
                        range.start(),
                        range.end()
                    ),
                    None,
                );
                None
            };
        let max_concurrent_percent = percent(
            self,
            raw.max_concurrent_percent,
            "max_concurrent_percent",
            1..=100,
        );
        let failure_tolerance_percent = percent(
            self,
            raw.failure_tolerance_percent,
            "failure_tolerance_percent",
            0..=100,
        );
        let retain = raw.retain_stacks_on_account_removal;
        let delegated = raw
            .call_as
            .as_ref()
            .filter(|c| c.value == raw::CallAs::DelegatedAdmin);
        // Service-managed only (API_CreateStackSet: AutoDeployment, CallAs DELEGATED_ADMIN).
        if !accounts.is_empty() {
            if let Some(r) = retain.as_ref().filter(|r| r.value) {
                self.report(
                    r.loc,
                    "org.retain_stacks_on_account_removal is for org.ous (service-managed) only",
                    Some("remove it, or target OUs instead of accounts".into()),
                );
            }
            if let Some(c) = delegated {
                self.report(
                    c.loc,
                    "org.call_as DELEGATED_ADMIN is for org.ous (service-managed) only",
                    Some("remove it, or target OUs instead of accounts".into()),
                );
            }
        }
        let delegated_admin = delegated.is_some();
        (self.diagnostics.len() == before).then_some(OrgSpec {
            accounts,
            ous,
            regions,
            max_concurrent_percent,
            failure_tolerance_percent,
            retain_stacks_on_account_removal: retain.is_some_and(|r| r.value),
            delegated_admin,
        })
    }

    fn cluster(&mut self, raw: raw::RawCluster, at: Loc, region: Option<&str>) -> Option<Cluster> {
        let names = raw
            .instance_types
            .unwrap_or_else(|| Sp::new(vec![Sp::new("m5.large".into(), at)], at));
        if names.value.is_empty() {
            self.report(
                names.loc,
                "cluster.instance_types is empty",
                Some(
                    "name at least one instance type that supports ENI trunking, e.g. [m5.large]"
                        .into(),
                ),
            );
            return None;
        }
        let types = self.instance_types(&names, region);
        let architecture = self.architecture(&types);
        if let Some(desired) = raw.desired_capacity {
            self.report(
                desired.loc,
                "cluster.desired_capacity is not set by enitrunk: the capacity provider's managed scaling sizes the group, and a desired capacity in the template would reset it on every stack update",
                Some("remove it; the group starts with min_size instances".into()),
            );
        }
        let (min_size, max_size) = self.sizes(raw.min_size, raw.max_size, at);
        let ami_parameter = self.ami_parameter(raw.ami_parameter, architecture?, &types)?;
        if types.len() != names.value.len() {
            return None;
        }
        Some(Cluster {
            instance_types: types.into_iter().map(|(t, _)| t).collect(),
            architecture: architecture?,
            min_size,
            max_size,
            ami_parameter,
        })
    }

    /// The listed types that exist, support trunking and are offered in `region` (when the config
    /// names one), each with its position.
    fn instance_types(
        &mut self,
        names: &Sp<Vec<Sp<String>>>,
        region: Option<&str>,
    ) -> Vec<(&'static InstanceType, Loc)> {
        let mut types = Vec::new();
        let mut seen = BTreeSet::new();
        for name in &names.value {
            if !seen.insert(name.value.clone()) {
                self.report(
                    name.loc,
                    format!("instance type `{}` is listed twice", name.value),
                    None,
                );
                continue;
            }
            let Some(t) = instance_types::get(&name.value) else {
                let similar = instance_types::similar_names(&name.value, 3);
                let help = if similar.is_empty() {
                    "use an EC2 instance type name such as m5.large; `enitrunk plan` lists supported types".to_owned()
                } else {
                    format!("did you mean {}?", or_list(&similar))
                };
                self.report(
                    name.loc,
                    format!("unknown instance type `{}`", name.value),
                    Some(help),
                );
                continue;
            };
            if let Trunking::Unsupported(why) = t.trunking() {
                self.unsupported(t, &why, name.loc);
                continue;
            }
            if let Some(Err(e)) = region.map(|r| instance_types::check_offered(t, r)) {
                self.report(name.loc, e.message, Some(e.help));
                continue;
            }
            types.push((t, name.loc));
        }
        types
    }

    fn unsupported(&mut self, t: &InstanceType, why: &str, at: Loc) {
        let alts: Vec<&str> = instance_types::alternatives(t, 3)
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        let help = if alts.is_empty() {
            "pick a type that supports trunking; `enitrunk plan` compares them".to_owned()
        } else {
            format!(
                "similar-sized types that support trunking: {} ({} vCPU, {} MiB)",
                alts.join(", "),
                t.vcpu,
                t.memory_mib
            )
        };
        self.report(
            at,
            format!("instance type `{}` cannot use ENI trunking: {why}", t.name),
            Some(help),
        );
    }

    /// One launch template has one AMI: every type must share the first one's architecture.
    fn architecture(&mut self, types: &[(&'static InstanceType, Loc)]) -> Option<Architecture> {
        let (first, _) = types.first()?;
        let arch = first.architecture();
        for (t, loc) in &types[1..] {
            if t.architecture() != arch {
                self.report(
                    *loc,
                    format!(
                        "instance type `{}` is {}, but `{}` is {arch}",
                        t.name,
                        t.architecture(),
                        first.name
                    ),
                    Some("one launch template has one AMI: use types of one architecture".into()),
                );
            }
        }
        Some(arch)
    }

    /// min and max, defaulted and checked to be in order.
    fn sizes(&mut self, min: Option<Sp<u32>>, max: Option<Sp<u32>>, at: Loc) -> (u32, u32) {
        let min = min.map_or((1, at), |s| (s.value, s.loc));
        let max = max.map_or((min.0.max(2), at), |s| (s.value, s.loc));
        if max.0 == 0 {
            self.report(
                max.1,
                "cluster.max_size is 0: the cluster could never start an instance",
                Some("set max_size to 1 or more".into()),
            );
        }
        if min.0 > max.0 {
            self.report(
                min.1,
                format!(
                    "cluster.min_size ({}) is larger than max_size ({})",
                    min.0, max.0
                ),
                Some("min_size <= max_size".into()),
            );
        }
        (min.0, max.0)
    }

    /// The config's parameter, else the ECS-optimized AMI the types need (one for all of them).
    fn ami_parameter(
        &mut self,
        raw: Option<Sp<String>>,
        architecture: Architecture,
        types: &[(&'static InstanceType, Loc)],
    ) -> Option<String> {
        match raw {
            Some(p) if !p.value.starts_with('/') => {
                self.report(
                    p.loc,
                    format!(
                        "cluster.ami_parameter `{}` is not an SSM parameter path",
                        p.value
                    ),
                    Some(format!(
                        "use a public parameter path such as {AMI_PARAMETER_X86_64}"
                    )),
                );
                None
            }
            Some(p) => Some(p.value),
            None => self.ecs_optimized_ami(architecture, types),
        }
    }

    fn ecs_optimized_ami(
        &mut self,
        architecture: Architecture,
        types: &[(&'static InstanceType, Loc)],
    ) -> Option<String> {
        let (first, _) = types.first()?;
        let own_ami = "or set cluster.ami_parameter to an AMI with its driver and the ECS agent";
        for (t, loc) in &types[1..] {
            if t.accelerator() != first.accelerator() {
                self.report(
                    *loc,
                    format!(
                        "instance type `{}` needs {}, but `{}` needs {}",
                        t.name,
                        ami_name(t.accelerator()),
                        first.name,
                        ami_name(first.accelerator())
                    ),
                    Some(
                        "one launch template has one AMI: use types that need the same one, or set cluster.ami_parameter to one that serves them all".into(),
                    ),
                );
                return None;
            }
        }
        let parameter = match (first.accelerator(), architecture) {
            (None, Architecture::X86_64) => AMI_PARAMETER_X86_64,
            (None, Architecture::Arm64) => AMI_PARAMETER_ARM64,
            (Some(Accelerator::NvidiaGpu), Architecture::X86_64) => AMI_PARAMETER_GPU,
            (Some(Accelerator::Neuron), Architecture::X86_64) => AMI_PARAMETER_NEURON,
            (Some(Accelerator::Other), _) | (Some(_), Architecture::Arm64) => {
                let at = types[0].1;
                self.report(
                    at,
                    format!(
                        "instance type `{}` has an accelerator no ECS-optimized Amazon Linux 2023 AMI supports ({architecture})",
                        first.name
                    ),
                    Some(format!("use an x86_64 NVIDIA GPU, Inferentia or Trainium type, {own_ami}")),
                );
                return None;
            }
        };
        Some(parameter.into())
    }

    fn network(&mut self, raw: Option<raw::RawNetwork>) -> Option<Network> {
        let Some(raw) = raw else {
            return Some(Network::Demo);
        };
        let (vpc, subnets) = (raw.vpc_id, raw.subnet_ids);
        match (vpc, subnets) {
            (None, None) => Some(Network::Demo),
            (Some(v), None) => {
                self.report(v.loc, "network.vpc_id is set but network.subnet_ids is not", Some("list the private subnets (with a NAT route) for the instances and tasks, or remove `network` to create a demo VPC".into()));
                None
            }
            (None, Some(s)) => {
                self.report(
                    s.loc,
                    "network.subnet_ids is set but network.vpc_id is not",
                    Some("add the VPC those subnets are in: the security groups need it".into()),
                );
                None
            }
            (Some(v), Some(s)) => {
                let mut ok = true;
                if !is_aws_id(&v.value, "vpc-") {
                    self.report(
                        v.loc,
                        format!("network.vpc_id `{}` is not a VPC id", v.value),
                        Some("a VPC id looks like vpc-0123456789abcdef0".into()),
                    );
                    ok = false;
                }
                if s.value.is_empty() {
                    self.report(s.loc, "network.subnet_ids is empty", Some("list at least one subnet; two in different Availability Zones survive an AZ outage".into()));
                    ok = false;
                }
                let mut seen = BTreeSet::new();
                for id in &s.value {
                    if !is_aws_id(&id.value, "subnet-") {
                        self.report(
                            id.loc,
                            format!("`{}` is not a subnet id", id.value),
                            Some("a subnet id looks like subnet-0123456789abcdef0".into()),
                        );
                        ok = false;
                    } else if !seen.insert(&id.value) {
                        self.report(
                            id.loc,
                            format!("subnet `{}` is listed twice", id.value),
                            None,
                        );
                        ok = false;
                    }
                }
                ok.then(|| Network::Existing {
                    vpc_id: v.value,
                    subnet_ids: s.value.into_iter().map(|s| s.value).collect(),
                })
            }
        }
    }

    fn trunking(&mut self, raw: raw::RawTrunking) -> Option<TrunkingSpec> {
        let scope = raw.scope.as_ref().map_or(Scope::Role, |s| s.value);
        if let Some(name) = &raw.instance_role_name {
            let valid = !name.value.is_empty()
                && name.value.len() <= 64
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !valid {
                self.report(
                    name.loc,
                    format!(
                        "trunking.instance_role_name `{}` is not a valid IAM role name",
                        name.value
                    ),
                    Some("1 to 64 letters, digits and + = , . @ _ -".into()),
                );
                return None;
            }
        }
        Some(TrunkingSpec {
            scope,
            on_delete: raw.on_delete.map_or(OnDelete::Retain, |o| o.value),
            instance_role_name: raw.instance_role_name.map(|n| n.value),
        })
    }

    fn tasks(&mut self, raw: Vec<raw::RawTask>, cluster: Option<&Cluster>) -> Option<Vec<Task>> {
        let before = self.diagnostics.len();
        let mut families = BTreeSet::new();
        let mut logical = BTreeSet::new();
        let mut tasks = Vec::new();
        for t in raw {
            let family = t.family.value.clone();
            let logical_name = pascal_case(&family);
            self.family(&t.family, &logical_name, &mut families, &mut logical);
            self.task_size(&t.cpu, &t.memory, cluster);
            if t.containers.value.is_empty() {
                self.report(
                    t.containers.loc,
                    format!("task `{family}` has no containers"),
                    Some("add at least one container with a name and an image".into()),
                );
            }
            let containers = self.containers(t.containers.value, &family);
            if let (Some(desired), Some(cluster)) = (
                t.service.as_ref().and_then(|s| s.desired_count.as_ref()),
                cluster,
            ) {
                self.placeable(desired, &family, t.cpu.value, t.memory.value, cluster);
            }
            tasks.push(Task {
                family,
                logical_name,
                cpu: t.cpu.value,
                memory: t.memory.value,
                containers,
                service: t.service.map(|s| Service {
                    desired_count: s.desired_count.map_or(1, |d| d.value),
                }),
            });
        }
        (self.diagnostics.len() == before).then_some(tasks)
    }

    /// A service that cannot run its desired count on `max_size` instances of the roomiest type,
    /// even with trunking, would wait forever: refused. (A bound for one service alone: several
    /// services share the instances, which `enitrunk plan` sizes.)
    fn placeable(
        &mut self,
        desired: &Sp<u32>,
        family: &str,
        cpu: u32,
        memory: u32,
        cluster: &Cluster,
    ) {
        if cpu == 0 || memory == 0 {
            return;
        }
        let per_instance = |t: &InstanceType| {
            let (by_cpu, by_memory) = t.resource_fit(cpu, memory);
            let enis = t.tasks_with_trunking().unwrap_or(t.tasks_without_trunking);
            enis.min(by_cpu).min(by_memory)
        };
        let Some(best) = cluster
            .instance_types
            .iter()
            .copied()
            .max_by_key(|t| per_instance(t))
        else {
            return;
        };
        let per = per_instance(best);
        let most = per.saturating_mul(cluster.max_size);
        if desired.value > most {
            let help = if per == 0 {
                "choose larger instance types".to_owned()
            } else {
                format!(
                    "raise cluster.max_size to {} or more, choose larger instance types, or lower desired_count",
                    desired.value.div_ceil(per)
                )
            };
            self.report(
                desired.loc,
                format!(
                    "the service of task `{family}` wants {} tasks, but at most {most} fit on cluster.max_size ({}) instances even with trunking ({per} per {}): the rest would never be placed",
                    desired.value, cluster.max_size, best.name
                ),
                Some(help),
            );
        }
    }

    /// A valid family, unique, and unique once made a logical id.
    fn family(
        &mut self,
        family: &Sp<String>,
        logical_name: &str,
        families: &mut BTreeSet<String>,
        logical: &mut BTreeSet<String>,
    ) {
        let name = &family.value;
        let valid = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.report(
                family.loc,
                format!("task family `{name}` is not valid"),
                Some("use 1 to 255 letters, digits, hyphens and underscores".into()),
            );
        } else if !families.insert(name.clone()) {
            self.report(
                family.loc,
                format!("task family `{name}` is defined twice"),
                Some("give each task definition its own family".into()),
            );
        } else if !logical.insert(logical_name.to_owned()) {
            self.report(
                family.loc,
                format!("task family `{name}` differs from another only in punctuation or case"),
                Some("CloudFormation logical ids are built from the family: rename one".into()),
            );
        }
    }

    /// CPU and memory within what ECS accepts, and small enough for the smallest type.
    fn task_size(&mut self, cpu: &Sp<u32>, memory: &Sp<u32>, cluster: Option<&Cluster>) {
        let cpu_ok = TASK_CPU_RANGE.contains(&cpu.value);
        if !cpu_ok {
            self.report(
                cpu.loc,
                format!(
                    "task cpu {} is outside the {}..={} CPU units ECS accepts for EC2",
                    cpu.value,
                    TASK_CPU_RANGE.start(),
                    TASK_CPU_RANGE.end()
                ),
                Some("1024 units = 1 vCPU; e.g. 256 for a quarter vCPU".into()),
            );
        }
        if memory.value < MIN_TASK_MEMORY {
            self.report(
                memory.loc,
                format!(
                    "task memory {} MiB is below the {MIN_TASK_MEMORY} MiB ECS accepts",
                    memory.value
                ),
                Some("memory is in MiB, e.g. 512".into()),
            );
        }
        let Some(cluster) = cluster else { return };
        let small = cluster.smallest_type();
        if cpu_ok && u64::from(cpu.value) > u64::from(small.vcpu) * 1024 {
            self.report(
                cpu.loc,
                format!(
                    "task cpu {} does not fit on {} ({} vCPU = {} units): ECS could never place it",
                    cpu.value,
                    small.name,
                    small.vcpu,
                    small.vcpu * 1024
                ),
                Some("lower the task's cpu or choose larger instance types".into()),
            );
        }
        let mem = small.schedulable_memory_mib();
        if u64::from(memory.value) > mem {
            self.report(memory.loc, format!("task memory {} MiB does not fit on {}: about {mem} of its {} MiB are available to tasks (estimate)", memory.value, small.name, small.memory_mib), Some("lower the task's memory or choose larger instance types".into()));
        }
    }

    fn containers(&mut self, raw: Vec<raw::RawContainer>, family: &str) -> Vec<Container> {
        let mut names = BTreeSet::new();
        // awsvpc: all containers of a task share one network namespace, so one port space.
        let mut ports = BTreeSet::new();
        let mut containers = Vec::new();
        for c in raw {
            if !names.insert(c.name.value.clone()) {
                self.report(
                    c.name.loc,
                    format!(
                        "container name `{}` is used twice in task `{family}`",
                        c.name.value
                    ),
                    None,
                );
            }
            if c.name.value.is_empty()
                || c.name.value.len() > 255
                || !c
                    .name
                    .value
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                self.report(
                    c.name.loc,
                    format!("container name `{}` is not valid", c.name.value),
                    Some("use 1 to 255 letters, digits, hyphens and underscores".into()),
                );
            }
            if c.image.value.trim().is_empty() {
                self.report(
                    c.image.loc,
                    "container image is empty",
                    Some("name an image, e.g. public.ecr.aws/nginx/nginx:stable".into()),
                );
            }
            let mut cports = Vec::new();
            for p in c.ports.map(|p| p.value).unwrap_or_default() {
                if p.value == 0 {
                    self.report(
                        p.loc,
                        "port 0 is not a valid container port",
                        Some("use 1 to 65535".into()),
                    );
                } else if !ports.insert(p.value) {
                    self.report(p.loc, format!("port {} is used twice in task `{family}` (its containers share one network interface)", p.value), None);
                }
                cports.push(p.value);
            }
            containers.push(Container {
                name: c.name.value,
                image: c.image.value,
                ports: cports,
            });
        }
        containers
    }
}

fn is_aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// `web-api_v2` → `WebApiV2`.
pub fn pascal_case(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().expect("non-empty").to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// CloudFormation's rule for stack names: "A stack name can contain only alphanumeric
/// characters (case-sensitive) and hyphens. It must start with an alphabetic character and can't
/// be longer than 128 characters" (CreateStack, `StackName`).
pub fn check_stack_name(name: &str) -> Result<(), &'static str> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("use letters, digits and hyphens, starting with a letter, at most 128 characters")
    }
}

/// A region's name: lowercase parts joined by hyphens, the last a number (`us-gov-west-1`).
pub fn check_region_name(name: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("is not a region name: a region looks like us-east-1")
    }
}

/// An AWS account id: 12 digits.
pub fn check_account_id(id: &str) -> Result<(), &'static str> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("is not an account id: an account id is 12 digits")
    }
}

/// An organizational unit (`ou-<root part>-<ou part>`) or a root (`r-...`), as
/// API_DeploymentTargets' `OrganizationalUnitIds` takes them.
pub fn check_ou_id(id: &str) -> Result<(), &'static str> {
    let ok = (id.starts_with("ou-") && id.matches('-').count() == 2 || id.starts_with("r-"))
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("is not an organizational unit id: one looks like ou-abcd-12345678 (or a root, r-abcd)")
    }
}

/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>
pub fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("it must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err("it may hold only lowercase letters, digits, dots and hyphens");
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(name.as_bytes()[0]) || !alnum(name.as_bytes()[name.len() - 1]) {
        return Err("it must begin and end with a letter or a digit");
    }
    if name.contains("..") {
        return Err("it must not hold two adjacent dots");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("it must not look like an IP address");
    }
    Ok(())
}

fn ami_name(accelerator: Option<Accelerator>) -> &'static str {
    match accelerator {
        None => "the ECS-optimized AMI",
        Some(Accelerator::NvidiaGpu) => "the ECS GPU-optimized AMI",
        Some(Accelerator::Neuron) => "the ECS Neuron AMI",
        Some(Accelerator::Other) => "an AMI ECS does not publish",
    }
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!(
            "{} or `{last}`",
            init.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
