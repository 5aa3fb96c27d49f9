//! `enitrunk plan`: tasks per instance without and with trunking, what bounds them, and how many
//! instances a workload needs either way.

use std::fmt;

use serde::Serialize;

use crate::config::Spec;
use crate::instance_types::{self, InstanceType, Trunking};

/// Types compared when neither the command line nor the config narrows it: small to medium
/// general-purpose and compute sizes of both architectures, and one newer (estimated) family.
pub const DEFAULT_TYPES: &[&str] = &[
    "c6g.medium",
    "c5.large",
    "m5.large",
    "m6i.large",
    "m6g.large",
    "r5.large",
    "m7i.large",
    "m5.xlarge",
    "c6i.xlarge",
    "m5.2xlarge",
    "m5.4xlarge",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub task_cpu: u32,
    pub task_memory: u32,
    pub task_count: u32,
    /// Where the figures came from, e.g. "task web in the config".
    pub source: String,
}

impl Workload {
    /// The config's tasks: one shape if there is one task; otherwise the largest cpu and memory
    /// of any task (a conservative bound) and the sum of the services' desired counts.
    pub fn from_spec(spec: &Spec) -> Option<Workload> {
        let first = spec.tasks.first()?;
        let count: u32 = spec
            .tasks
            .iter()
            .map(|t| t.service.as_ref().map_or(1, |s| s.desired_count))
            .sum();
        if spec.tasks.len() == 1 {
            return Some(Workload {
                task_cpu: first.cpu,
                task_memory: first.memory,
                task_count: count,
                source: format!("task `{}` in the config", first.family),
            });
        }
        Some(Workload {
            task_cpu: spec.tasks.iter().map(|t| t.cpu).max()?,
            task_memory: spec.tasks.iter().map(|t| t.memory).max()?,
            task_count: count,
            source: format!(
                "{} tasks in the config, each sized as the largest (conservative)",
                spec.tasks.len()
            ),
        })
    }
}

/// Command-line figures that replace the config's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub count: Option<u32>,
}

impl Workload {
    /// The config's workload with `overrides` applied; with both cpu and memory given, the
    /// config needs no tasks.
    pub fn with_overrides(spec: &Spec, overrides: &Overrides) -> Result<Workload, PlanError> {
        let from_config = Workload::from_spec(spec);
        let Overrides { cpu, memory, count } = overrides.clone();
        match (cpu, memory, from_config) {
            (Some(cpu), Some(memory), from_config) => Ok(Workload {
                task_cpu: cpu,
                task_memory: memory,
                task_count: count
                    .or(from_config.as_ref().map(|w| w.task_count))
                    .unwrap_or(1),
                source: "command line".into(),
            }),
            (cpu, memory, Some(w)) => Ok(Workload {
                task_cpu: cpu.unwrap_or(w.task_cpu),
                task_memory: memory.unwrap_or(w.task_memory),
                task_count: count.unwrap_or(w.task_count),
                source: if cpu.is_some() || memory.is_some() || count.is_some() {
                    format!("{}, with command-line overrides", w.source)
                } else {
                    w.source
                },
            }),
            (_, _, None) => Err(PlanError::Workload(
                "the config has no tasks: pass --cpu and --memory (and --count)".into(),
            )),
        }
    }
}

/// The types to compare: those asked for, else the config's followed by [`DEFAULT_TYPES`].
pub fn type_names(spec: &Spec, requested: &[String]) -> Vec<String> {
    if !requested.is_empty() {
        return requested.to_vec();
    }
    let mut names: Vec<String> = spec
        .cluster
        .instance_types
        .iter()
        .map(|t| t.name.clone())
        .collect();
    for d in DEFAULT_TYPES {
        if !names.iter().any(|n| n == d) {
            names.push((*d).to_owned());
        }
    }
    names
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub instance_type: String,
    pub vcpu: u32,
    pub memory_mib: u64,
    /// Task limit from network interfaces, without and with trunking.
    pub eni_limit_without_trunking: u32,
    pub eni_limit_with_trunking: u32,
    pub cpu_limit: u32,
    pub memory_limit: u32,
    pub tasks_without_trunking: u32,
    pub tasks_with_trunking: u32,
    /// What bounds tasks per instance with trunking: `eni`, `cpu` or `memory`.
    pub bound_with_trunking: &'static str,
    pub instances_without_trunking: Option<u32>,
    pub instances_with_trunking: Option<u32>,
    pub estimate: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub workload: Workload,
    pub rows: Vec<Row>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown instance type `{name}`{}", suggest(.similar))]
    Unknown {
        name: String,
        similar: Vec<&'static str>,
    },
    #[error("instance type `{name}` cannot use ENI trunking: {why}{}", instead(.alternatives))]
    Unsupported {
        name: String,
        why: String,
        alternatives: Vec<String>,
    },
    #[error("{0}")]
    Workload(String),
}

fn suggest(similar: &[&str]) -> String {
    if similar.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", similar.join(", "))
    }
}

fn instead(alternatives: &[String]) -> String {
    if alternatives.is_empty() {
        String::new()
    } else {
        format!(
            "; similar-sized types that support it: {}",
            alternatives.join(", ")
        )
    }
}

pub fn resolve_types(names: &[String]) -> Result<Vec<&'static InstanceType>, PlanError> {
    names
        .iter()
        .map(|name| {
            let t = instance_types::get(name).ok_or_else(|| PlanError::Unknown {
                name: name.clone(),
                similar: instance_types::similar_names(name, 3),
            })?;
            match t.trunking() {
                Trunking::Unsupported(why) => Err(PlanError::Unsupported {
                    name: name.clone(),
                    why,
                    alternatives: instance_types::alternatives(t, 3)
                        .iter()
                        .map(|a| a.name.clone())
                        .collect(),
                }),
                _ => Ok(t),
            }
        })
        .collect()
}

pub fn plan(workload: Workload, types: &[&InstanceType]) -> Result<Plan, PlanError> {
    if workload.task_cpu == 0 || workload.task_memory == 0 {
        return Err(PlanError::Workload(
            "task cpu and memory must be at least 1 (cpu in units, 1024 = 1 vCPU; memory in MiB)"
                .into(),
        ));
    }
    let rows = types
        .iter()
        .map(|t| {
            let (eni_with, estimate) = match t.trunking() {
                Trunking::Documented(n) => (n, None),
                Trunking::Estimated(n, why) => (n, Some(why)),
                Trunking::Unsupported(_) => unreachable!("resolve_types refuses unsupported types"),
            };
            let (cpu_limit, memory_limit) = t.resource_fit(workload.task_cpu, workload.task_memory);
            let resources = cpu_limit.min(memory_limit);
            let without = t.tasks_without_trunking.min(resources);
            let with = eni_with.min(resources);
            let bound = if eni_with <= resources {
                "eni"
            } else if cpu_limit <= memory_limit {
                "cpu"
            } else {
                "memory"
            };
            let needed = |per: u32| (per > 0).then(|| workload.task_count.div_ceil(per));
            Row {
                instance_type: t.name.clone(),
                vcpu: t.vcpu,
                memory_mib: t.memory_mib,
                eni_limit_without_trunking: t.tasks_without_trunking,
                eni_limit_with_trunking: eni_with,
                cpu_limit,
                memory_limit,
                tasks_without_trunking: without,
                tasks_with_trunking: with,
                bound_with_trunking: bound,
                instances_without_trunking: needed(without),
                instances_with_trunking: needed(with),
                estimate,
            }
        })
        .collect();
    Ok(Plan { workload, rows })
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.workload;
        writeln!(
            f,
            "{} tasks of {} CPU units and {} MiB ({})",
            w.task_count, w.task_cpu, w.task_memory, w.source
        )?;
        writeln!(f)?;
        self.write_table(f)?;
        writeln!(f)?;
        self.write_notes(f)
    }
}

impl Plan {
    /// One row per type, columns aligned: names left, figures right.
    fn write_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "instance type",
            "vCPU",
            "MiB",
            "ENI limit",
            "cpu fit",
            "mem fit",
            "tasks/instance",
            "bound",
            "instances",
        ];
        let mut table: Vec<[String; 9]> = vec![header.map(String::from)];
        for r in &self.rows {
            let star = if r.estimate.is_some() { "*" } else { "" };
            let inst = |n: Option<u32>| n.map_or("-".into(), |n| n.to_string());
            table.push([
                format!("{}{star}", r.instance_type),
                r.vcpu.to_string(),
                r.memory_mib.to_string(),
                format!(
                    "{} -> {}",
                    r.eni_limit_without_trunking, r.eni_limit_with_trunking
                ),
                r.cpu_limit.to_string(),
                r.memory_limit.to_string(),
                format!("{} -> {}", r.tasks_without_trunking, r.tasks_with_trunking),
                r.bound_with_trunking.to_string(),
                format!(
                    "{} -> {}",
                    inst(r.instances_without_trunking),
                    inst(r.instances_with_trunking)
                ),
            ]);
        }
        let widths: Vec<usize> = (0..9)
            .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        for row in &table {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == 0 || c == 7 {
                        format!("{cell:<w$}", w = widths[c])
                    } else {
                        format!("{cell:>w$}", w = widths[c])
                    }
                })
                .collect();
            writeln!(f, "{}", line.join("  ").trim_end())?;
        }
        Ok(())
    }

    /// What the columns mean, and why estimated rows are estimates.
    fn write_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "a -> b: without trunking -> with trunking. ENI limit: awsvpc tasks the instance's network interfaces allow;"
        )?;
        writeln!(
            f,
            "cpu/mem fit: tasks its CPU and memory hold (memory assumes 8% kept by the OS and ECS agent, an estimate)."
        )?;
        if self.rows.iter().any(|r| r.estimate.is_some()) {
            writeln!(
                f,
                "* estimate: ENI limit with trunking = branch interfaces + interfaces - 2 (at most 120, the most ECS documents), not from the ECS documentation:"
            )?;
            let mut seen = Vec::new();
            for r in self.rows.iter().filter(|r| r.estimate.is_some()) {
                let why = r.estimate.unwrap_or_default();
                if !seen.contains(&why) {
                    seen.push(why);
                }
            }
            for why in seen {
                let types: Vec<&str> = self
                    .rows
                    .iter()
                    .filter(|r| r.estimate == Some(why))
                    .map(|r| r.instance_type.as_str())
                    .collect();
                writeln!(f, "  {}: {why}", types.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(cpu: u32, memory: u32, count: u32) -> Workload {
        Workload {
            task_cpu: cpu,
            task_memory: memory,
            task_count: count,
            source: "test".into(),
        }
    }

    fn row(name: &str, w: Workload) -> Row {
        let types = resolve_types(&[name.to_owned()]).unwrap();
        plan(w, &types).unwrap().rows.remove(0)
    }

    #[test]
    fn agrees_with_the_documented_eni_limits() {
        // Tiny tasks, so the ENI limit is what binds.
        for (name, without, with) in crate::instance_types::DOCUMENTED_LIMITS {
            let r = row(name, workload(128, 64, 100));
            assert_eq!(
                (r.tasks_without_trunking, r.tasks_with_trunking),
                (without, with),
                "{name}"
            );
            assert_eq!(r.bound_with_trunking, "eni", "{name}");
            assert_eq!(r.estimate, None, "{name}");
        }
    }

    #[test]
    fn cpu_bounds_before_the_eni_limit() {
        let r = row("m5.large", workload(512, 512, 10));
        assert_eq!(r.cpu_limit, 4);
        assert_eq!((r.tasks_without_trunking, r.tasks_with_trunking), (2, 4));
        assert_eq!(r.bound_with_trunking, "cpu");
        assert_eq!(
            (r.instances_without_trunking, r.instances_with_trunking),
            (Some(5), Some(3))
        );
    }

    #[test]
    fn memory_bound() {
        let r = row("c5.large", workload(128, 1024, 1));
        assert_eq!(r.bound_with_trunking, "memory");
        assert_eq!(r.memory_limit, 3);
    }

    #[test]
    fn undocumented_types_are_estimates() {
        let r = row("m7i.large", workload(128, 64, 1));
        assert_eq!(r.tasks_with_trunking, 10);
        assert!(r.estimate.is_some());
    }

    #[test]
    fn unsupported_and_unknown_types_are_refused() {
        let err = resolve_types(&["t3.large".into()]).unwrap_err();
        assert!(
            matches!(&err, PlanError::Unsupported { alternatives, .. } if alternatives.len() == 3),
            "{err}"
        );
        let err = resolve_types(&["m5.larg".into()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown instance type `m5.larg`; did you mean m5.large"),
            "{err}"
        );
    }

    #[test]
    fn default_types_are_all_supported() {
        let names: Vec<String> = DEFAULT_TYPES.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(resolve_types(&names).unwrap().len(), DEFAULT_TYPES.len());
    }
}
