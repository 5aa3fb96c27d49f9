//! `enitrunk.yaml`: parsing with positions, validation into a [`Spec`], and error messages that
//! point at file, line and column and say what to do.

mod raw;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use custom_resource_lambda::properties::{OnDelete, Scope};
use serde::Serialize;

use crate::instance_types::{self, Architecture, InstanceType, Trunking};
use raw::{Loc, RawConfig, Sp};

/// The commented starter file `enitrunk init` writes; also the built-in demo config.
pub const STARTER: &str = include_str!("starter.yaml");
pub const DEFAULT_FILE: &str = "enitrunk.yaml";
/// Label for the built-in config in messages.
pub const BUILT_IN: &str = "<built-in demo config>";

const AMI_PARAMETER_X86_64: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
const AMI_PARAMETER_ARM64: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id";

/// Task-level CPU units ECS accepts for the EC2 launch type (0.125 to 192 vCPU).
const TASK_CPU_RANGE: std::ops::RangeInclusive<u32> = 128..=196_608;
/// ECS's smallest container memory limit, in MiB.
const MIN_TASK_MEMORY: u32 = 6;

/// A validated configuration: everything the templates and commands need.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spec {
    pub stack_name: String,
    pub region: Option<String>,
    pub cluster: Cluster,
    pub network: Network,
    pub trunking: TrunkingSpec,
    pub tasks: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    #[serde(serialize_with = "type_names")]
    pub instance_types: Vec<&'static InstanceType>,
    pub architecture: Architecture,
    pub min_size: u32,
    pub desired_capacity: u32,
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

/// Memory ECS can schedule on a type: the OS and the agent keep some of it. 8 % is an estimate
/// (an m5.large with 8192 MiB registers about 7,500).
pub fn schedulable_memory_mib(t: &InstanceType) -> u64 {
    t.memory_mib - t.memory_mib * 8 / 100
}

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub help: Option<String>,
}

/// Every problem found in one config file, rendered `file:line:column: message` with the line
/// and a caret, then what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.source_text.lines().collect();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
            if let Some(text) = d.line.checked_sub(1).and_then(|l| lines.get(l as usize)) {
                let num = d.line.to_string();
                let pad = " ".repeat(num.len());
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {text}")?;
                let caret_at = (d.column.max(1) - 1) as usize;
                writeln!(f, "{pad} | {}^", " ".repeat(caret_at))?;
            }
            if let Some(help) = &d.help {
                writeln!(f, "  help: {help}")?;
            }
        }
        if self.diagnostics.len() > 1 {
            write!(f, "{} problems in {}", self.diagnostics.len(), self.file)?;
        }
        Ok(())
    }
}

/// Where a config came from, for messages and for `validate`'s report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum Origin {
    File(PathBuf),
    BuiltIn,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::BuiltIn => f.write_str(BUILT_IN),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// The config named by `--config`, else `./enitrunk.yaml` if it exists, else the built-in demo.
pub fn load(path: Option<&Path>) -> Result<(Spec, Origin), LoadError> {
    let path = match path {
        Some(p) => p.to_owned(),
        None if Path::new(DEFAULT_FILE).exists() => PathBuf::from(DEFAULT_FILE),
        None => return Ok((parse(BUILT_IN, STARTER)?, Origin::BuiltIn)),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    Ok((
        parse(&path.display().to_string(), &text)?,
        Origin::File(path),
    ))
}

/// The built-in demo config, validated.
pub fn demo() -> Spec {
    parse(BUILT_IN, STARTER).expect("the built-in config is valid")
}

/// Parse and validate one config text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Spec, ConfigError> {
    let error = |diagnostics| ConfigError {
        file: file.to_owned(),
        source_text: text.to_owned(),
        diagnostics,
    };
    let raw = raw::parse(text).map_err(|d| error(vec![d]))?;
    let mut v = Validator::default();
    let spec = v.spec(raw);
    match spec {
        Some(spec) if v.diagnostics.is_empty() => Ok(spec),
        _ => Err(error(v.diagnostics)),
    }
}

#[derive(Default)]
struct Validator {
    diagnostics: Vec<Diagnostic>,
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

    fn spec(&mut self, raw: RawConfig) -> Option<Spec> {
        let top = Loc::START;
        let stack_name = self.stack_name(raw.stack_name);
        let region = raw.region.and_then(|r| self.region(r));
        let cluster_loc = raw.cluster.as_ref().map_or(top, |c| c.loc);
        let cluster = self.cluster(
            raw.cluster.map(|c| c.value).unwrap_or_default(),
            cluster_loc,
        );
        let network = self.network(raw.network);
        let trunking = self.trunking(raw.trunking.unwrap_or_default());
        let tasks = match raw.tasks {
            Some(tasks) => self.tasks(tasks, cluster.as_ref()),
            // The starter file's tasks; it has a `tasks` key, so this does not recurse.
            None => Some(demo().tasks),
        };
        Some(Spec {
            stack_name: stack_name?,
            region,
            cluster: cluster?,
            network: network?,
            trunking: trunking?,
            tasks: tasks?,
        })
    }

    fn stack_name(&mut self, name: Option<Sp<String>>) -> Option<String> {
        let Some(name) = name else {
            return Some("enitrunk-demo".into());
        };
        let ok = name.value.len() <= 128
            && name.value.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            self.report(
                name.loc,
                format!("stack_name `{}` is not a valid CloudFormation stack name", name.value),
                Some("use letters, digits and hyphens, starting with a letter, at most 128 characters".into()),
            );
            return None;
        }
        Some(name.value)
    }

    fn region(&mut self, region: Sp<String>) -> Option<String> {
        let parts: Vec<&str> = region.value.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            self.report(
                region.loc,
                format!("region `{}` is not an AWS region name", region.value),
                Some("write it like `eu-west-1` or `us-east-2`, or leave it out to use AWS_REGION or your profile's region".into()),
            );
            return None;
        }
        Some(region.value)
    }

    fn cluster(&mut self, raw: raw::RawCluster, at: Loc) -> Option<Cluster> {
        let types_loc = raw.instance_types.as_ref().map_or(at, |t| t.loc);
        let names: Vec<Sp<String>> = raw
            .instance_types
            .map(|t| t.value)
            .unwrap_or_else(|| vec![Sp::new("m5.large".into(), at)]);
        if names.is_empty() {
            self.report(
                types_loc,
                "cluster.instance_types is empty",
                Some(
                    "name at least one instance type that supports ENI trunking, e.g. [m5.large]"
                        .into(),
                ),
            );
            return None;
        }
        let mut types = Vec::new();
        let mut seen = BTreeSet::new();
        for name in &names {
            if !seen.insert(name.value.clone()) {
                self.report(
                    name.loc,
                    format!("instance type `{}` is listed twice", name.value),
                    None,
                );
                continue;
            }
            match instance_types::get(&name.value) {
                None => {
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
                }
                Some(t) => match t.trunking() {
                    Trunking::Unsupported(why) => {
                        let alts: Vec<&str> = instance_types::alternatives(t, 3)
                            .iter()
                            .map(|a| a.name.as_str())
                            .collect();
                        let help = if alts.is_empty() {
                            "pick a type that supports trunking; `enitrunk plan` compares them"
                                .to_owned()
                        } else {
                            format!(
                                "similar-sized types that support trunking: {} ({} vCPU, {} MiB)",
                                alts.join(", "),
                                t.vcpu,
                                t.memory_mib
                            )
                        };
                        self.report(
                            name.loc,
                            format!(
                                "instance type `{}` cannot use ENI trunking: {why}",
                                name.value
                            ),
                            Some(help),
                        );
                    }
                    _ => types.push((t, name.loc)),
                },
            }
        }
        let architecture = types.first().map(|(t, _)| t.architecture());
        if let Some(arch) = architecture {
            for (t, loc) in &types[1..] {
                if t.architecture() != arch {
                    self.report(
                        *loc,
                        format!(
                            "instance type `{}` is {}, but `{}` is {arch}",
                            t.name,
                            t.architecture(),
                            types[0].0.name
                        ),
                        Some(
                            "one launch template has one AMI: use types of one architecture".into(),
                        ),
                    );
                }
            }
        }
        let min = raw.min_size.map_or((1, at), |s| (s.value, s.loc));
        let desired = raw
            .desired_capacity
            .map_or((min.0.max(1), at), |s| (s.value, s.loc));
        let max = raw
            .max_size
            .map_or((desired.0.max(2), at), |s| (s.value, s.loc));
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
                Some("min_size <= desired_capacity <= max_size".into()),
            );
        } else if desired.0 < min.0 || desired.0 > max.0 {
            self.report(
                desired.1,
                format!(
                    "cluster.desired_capacity ({}) is outside min_size..max_size ({}..{})",
                    desired.0, min.0, max.0
                ),
                Some("min_size <= desired_capacity <= max_size".into()),
            );
        }
        let architecture = architecture?;
        let ami_parameter = match raw.ami_parameter {
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
                return None;
            }
            Some(p) => p.value,
            None => match architecture {
                Architecture::X86_64 => AMI_PARAMETER_X86_64.into(),
                Architecture::Arm64 => AMI_PARAMETER_ARM64.into(),
            },
        };
        if types.len() != names.len() {
            return None;
        }
        Some(Cluster {
            instance_types: types.into_iter().map(|(t, _)| t).collect(),
            architecture,
            min_size: min.0,
            desired_capacity: desired.0,
            max_size: max.0,
            ami_parameter,
        })
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
            let family_ok = !family.is_empty()
                && family.len() <= 255
                && family
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let logical_name = pascal_case(&family);
            if !family_ok {
                self.report(
                    t.family.loc,
                    format!("task family `{family}` is not valid"),
                    Some("use 1 to 255 letters, digits, hyphens and underscores".into()),
                );
            } else if !families.insert(family.clone()) {
                self.report(
                    t.family.loc,
                    format!("task family `{family}` is defined twice"),
                    Some("give each task definition its own family".into()),
                );
            } else if !logical.insert(logical_name.clone()) {
                self.report(
                    t.family.loc,
                    format!(
                        "task family `{family}` differs from another only in punctuation or case"
                    ),
                    Some("CloudFormation logical ids are built from the family: rename one".into()),
                );
            }
            if !TASK_CPU_RANGE.contains(&t.cpu.value) {
                self.report(
                    t.cpu.loc,
                    format!(
                        "task cpu {} is outside the {}..={} CPU units ECS accepts for EC2",
                        t.cpu.value,
                        TASK_CPU_RANGE.start(),
                        TASK_CPU_RANGE.end()
                    ),
                    Some("1024 units = 1 vCPU; e.g. 256 for a quarter vCPU".into()),
                );
            }
            if t.memory.value < MIN_TASK_MEMORY {
                self.report(
                    t.memory.loc,
                    format!(
                        "task memory {} MiB is below the {MIN_TASK_MEMORY} MiB ECS accepts",
                        t.memory.value
                    ),
                    Some("memory is in MiB, e.g. 512".into()),
                );
            }
            if let Some(cluster) = cluster {
                let small = cluster.smallest_type();
                if TASK_CPU_RANGE.contains(&t.cpu.value)
                    && u64::from(t.cpu.value) > u64::from(small.vcpu) * 1024
                {
                    self.report(t.cpu.loc, format!("task cpu {} does not fit on {} ({} vCPU = {} units): ECS could never place it", t.cpu.value, small.name, small.vcpu, small.vcpu * 1024), Some("lower the task's cpu or choose larger instance types".into()));
                }
                let mem = schedulable_memory_mib(small);
                if u64::from(t.memory.value) > mem {
                    self.report(t.memory.loc, format!("task memory {} MiB does not fit on {}: about {mem} of its {} MiB are available to tasks (estimate)", t.memory.value, small.name, small.memory_mib), Some("lower the task's memory or choose larger instance types".into()));
                }
            }
            if t.containers.value.is_empty() {
                self.report(
                    t.containers.loc,
                    format!("task `{family}` has no containers"),
                    Some("add at least one container with a name and an image".into()),
                );
            }
            let mut names = BTreeSet::new();
            let mut ports = BTreeSet::new();
            let mut containers = Vec::new();
            for c in t.containers.value {
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
                        // awsvpc: all containers of a task share one network namespace.
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

#[cfg(test)]
mod tests;
