//! The embedded EC2 instance-type table (ENI limits, trunking support, size) and what ECS can
//! place on each type. Data and provenance: `deployer/data/`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

const CSV: &str = include_str!("../data/ec2-eni-trunking-limits.csv");
/// Types and families the ECS developer guide names as unsupported, even where its own table (or
/// limits.go) lists them.
const UNSUPPORTED_CSV: &str = include_str!("../data/ecs-trunking-unsupported.csv");
/// Which region offers which type (`scripts/update-instance-offerings`, from cfn-lint's copy of the
/// AWS Price List): offline, so `validate` can refuse a type the region does not have.
const REGIONS_CSV: &str = include_str!("../data/ec2-instance-type-regions.csv");

/// The most `awsvpc` tasks ECS documents for any type with trunking (120 branch interfaces): no
/// estimate goes above it.
pub const MAX_TASKS_WITH_TRUNKING: u32 = 120;

/// `(name, scope)` rows of [`UNSUPPORTED_CSV`], scope `type` or `family`.
fn documented_unsupported() -> impl Iterator<Item = (&'static str, &'static str)> {
    UNSUPPORTED_CSV
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    pub name: String,
    pub max_enis: u32,
    pub trunking_compatible: bool,
    pub branch_enis: u32,
    pub tasks_without_trunking: u32,
    /// The ECS documentation's figure, verbatim (it has anomalies, see [`Trunking`]).
    pub documented_tasks_with_trunking: Option<i64>,
    pub vcpu: u32,
    pub memory_mib: u64,
    pub bare_metal: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// As Lambda and the ECS-optimized AMIs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The Rust target a Lambda function of this architecture is built for.
    pub fn linux_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// This machine's, when it is one of the two.
    pub fn host() -> Option<Architecture> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Architecture::X86_64),
            "aarch64" => Some(Architecture::Arm64),
            _ => None,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The accelerator a type carries, which decides the ECS-optimized AMI it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accelerator {
    /// NVIDIA GPUs (the G and P families): the ECS GPU-optimized AMI.
    NvidiaGpu,
    /// AWS Inferentia and Trainium: the ECS Neuron AMI.
    Neuron,
    /// Accelerators no ECS-optimized AMI serves (AMD GPUs, Gaudi, FPGAs, video transcoders).
    Other,
}

/// What ECS can do with trunking on a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trunking {
    /// The ECS documentation's task limit with trunking.
    Documented(u32),
    /// `branch_enis + max_enis - 2`, with why it is an estimate.
    Estimated(u32, &'static str),
    Unsupported(String),
}

impl InstanceType {
    pub fn family(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// Graviton families carry a `g` right after the generation digits (m6g, c7gn, x2gd, is4gen).
    pub fn architecture(&self) -> Architecture {
        let family = self.family();
        if family == "a1" {
            return Architecture::Arm64;
        }
        let after_digits = family
            .trim_start_matches(|c: char| c.is_ascii_lowercase() || c == '-')
            .trim_start_matches(|c: char| c.is_ascii_digit());
        if after_digits.starts_with('g') && !family.starts_with("u-") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        }
    }

    pub fn accelerator(&self) -> Option<Accelerator> {
        let family = self.family();
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| family.starts_with(p));
        if starts(&["inf", "trn"]) {
            Some(Accelerator::Neuron)
        } else if starts(&["g4ad", "dl", "f1", "f2", "vt1"]) {
            Some(Accelerator::Other)
        } else if starts(&["g", "p"]) {
            Some(Accelerator::NvidiaGpu)
        } else {
            None
        }
    }

    fn formula(&self) -> u32 {
        (self.branch_enis + self.max_enis).saturating_sub(2)
    }

    pub fn trunking(&self) -> Trunking {
        if !self.trunking_compatible {
            return Trunking::Unsupported(format!(
                "the {} family does not support it",
                self.family()
            ));
        }
        if self.family().starts_with("mac") {
            return Trunking::Unsupported(
                "it runs macOS, and trunking is for Linux container instances".into(),
            );
        }
        for (name, scope) in documented_unsupported() {
            if scope == "type" && name == self.name {
                return Trunking::Unsupported(
                    "the ECS developer guide names this size as not supported".into(),
                );
            }
            if scope == "family" && name == self.family() {
                return Trunking::Unsupported(format!(
                    "the ECS developer guide names the {} family as not supported",
                    self.family()
                ));
            }
        }
        let estimate = self.formula().min(MAX_TASKS_WITH_TRUNKING);
        if let Some(documented) = self.documented_tasks_with_trunking {
            return match u32::try_from(documented) {
                Ok(n) if n == self.formula() && n <= MAX_TASKS_WITH_TRUNKING => {
                    Trunking::Documented(n)
                }
                Ok(n) if n <= self.tasks_without_trunking => Trunking::Unsupported(format!(
                    "the ECS documentation gives it {n} tasks with trunking and {} without: no gain",
                    self.tasks_without_trunking
                )),
                _ => Trunking::Estimated(
                    estimate,
                    "the ECS documentation's figure contradicts the interface limits",
                ),
            };
        }
        if documented_families().contains(self.family()) {
            return Trunking::Unsupported(format!(
                "ECS documents it for other {} sizes, not this one",
                self.family()
            ));
        }
        Trunking::Estimated(estimate, "newer than the ECS documentation's table")
    }

    pub fn supports_trunking(&self) -> bool {
        !matches!(self.trunking(), Trunking::Unsupported(_))
    }

    /// Memory ECS can schedule: the OS and the agent keep some of it. 8 % is an estimate (an
    /// m5.large with 8192 MiB registers about 7,500).
    pub fn schedulable_memory_mib(&self) -> u64 {
        self.memory_mib - self.memory_mib * 8 / 100
    }

    /// How many tasks of `cpu` units and `memory` MiB its CPU and its schedulable memory hold
    /// (both non-zero): `(by cpu, by memory)`.
    pub fn resource_fit(&self, cpu: u32, memory: u32) -> (u32, u32) {
        let by_memory = u32::try_from(self.schedulable_memory_mib() / u64::from(memory));
        (self.vcpu * 1024 / cpu, by_memory.unwrap_or(u32::MAX))
    }

    /// Task limit with trunking, when supported.
    pub fn tasks_with_trunking(&self) -> Option<u32> {
        match self.trunking() {
            Trunking::Documented(n) | Trunking::Estimated(n, _) => Some(n),
            Trunking::Unsupported(_) => None,
        }
    }
}

pub struct Table {
    pub types: Vec<InstanceType>,
    by_name: HashMap<String, usize>,
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse(CSV))
}

/// Families with at least one size in the ECS documentation's table.
fn documented_families() -> &'static HashSet<&'static str> {
    static FAMILIES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        table()
            .types
            .iter()
            .filter(|t| t.documented_tasks_with_trunking.is_some())
            .map(|t| t.family())
            .collect()
    })
}

pub fn get(name: &str) -> Option<&'static InstanceType> {
    let t = table();
    t.by_name.get(name).map(|&i| &t.types[i])
}

fn parse(csv: &str) -> Table {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name} missing from the embedded table"))
    };
    let (name, max_enis, compat, branch, without, with, vcpu, mem, metal) = (
        col("instance_type"),
        col("max_enis"),
        col("trunking_compatible"),
        col("branch_enis"),
        col("ecs_tasks_without_trunking"),
        col("ecs_tasks_with_trunking"),
        col("vcpu"),
        col("memory_mib"),
        col("bare_metal"),
    );
    let mut types = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        // One row (mac-m4max.metal) has no size; macOS types are refused anyway.
        let num = |c: usize| -> u64 {
            if f[c].is_empty() {
                return 0;
            }
            f[c].parse()
                .unwrap_or_else(|_| panic!("embedded table line {}: bad number {:?}", i + 2, f[c]))
        };
        types.push(InstanceType {
            name: f[name].to_owned(),
            max_enis: num(max_enis) as u32,
            trunking_compatible: f[compat] == "true",
            branch_enis: num(branch) as u32,
            tasks_without_trunking: num(without) as u32,
            documented_tasks_with_trunking: f[with].parse().ok(),
            vcpu: num(vcpu) as u32,
            memory_mib: num(mem),
            bare_metal: f[metal] == "true",
        });
    }
    let by_name = types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    Table { types, by_name }
}

/// Whether a region offers a type, as far as the embedded data knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offering {
    Offered,
    /// Not offered there; the regions that do offer it.
    NotOffered(Vec<&'static str>),
    /// The data has no list for the region (newer than the data, or not a region): not checked.
    UnknownRegion,
}

struct Offerings {
    regions: Vec<&'static str>,
    by_type: HashMap<&'static str, Vec<bool>>,
}

fn offerings() -> &'static Offerings {
    static OFFERINGS: OnceLock<Offerings> = OnceLock::new();
    OFFERINGS.get_or_init(|| {
        let mut lines = REGIONS_CSV.lines();
        let regions: Vec<&str> = lines.next().expect("header").split(',').skip(1).collect();
        let by_type = lines
            .map(|line| {
                let mut f = line.split(',');
                let name = f.next().expect("instance type");
                (name, f.map(|c| c == "y").collect())
            })
            .collect();
        Offerings { regions, by_type }
    })
}

/// Whether `region` offers the type `name` (a type the data lacks counts as not offered).
pub fn offering(name: &str, region: &str) -> Offering {
    let o = offerings();
    let Some(column) = o.regions.iter().position(|r| *r == region) else {
        return Offering::UnknownRegion;
    };
    match o.by_type.get(name) {
        Some(offered) if offered[column] => Offering::Offered,
        offered => Offering::NotOffered(offered.map_or_else(Vec::new, |offered| {
            o.regions
                .iter()
                .zip(offered)
                .filter(|(_, y)| **y)
                .map(|(r, _)| *r)
                .collect()
        })),
    }
}

/// Why a region cannot run a type, and what to pick instead.
#[derive(Debug)]
pub struct NotOffered {
    pub message: String,
    pub help: String,
}

/// `Ok` when `region` offers `t` or the data does not know the region.
pub fn check_offered(t: &InstanceType, region: &str) -> Result<(), NotOffered> {
    let Offering::NotOffered(elsewhere) = offering(&t.name, region) else {
        return Ok(());
    };
    let alts: Vec<&str> = alternatives_in(t, region, 3)
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let mut help = if alts.is_empty() {
        format!("pick a type {region} offers; `enitrunk plan` compares them")
    } else {
        format!("similar-sized types {region} offers: {}", alts.join(", "))
    };
    match elsewhere.as_slice() {
        [] => help.push_str(&format!(
            "; no region in enitrunk's data offers `{}`",
            t.name
        )),
        some => {
            let shown = some.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            let more = if some.len() > 5 {
                format!(" and {} more", some.len() - 5)
            } else {
                String::new()
            };
            help.push_str(&format!("; `{}` is offered in {shown}{more}", t.name));
        }
    }
    Err(NotOffered {
        message: format!(
            "instance type `{}` is not offered in {region} (per the AWS Price List data enitrunk ships)",
            t.name
        ),
        help,
    })
}

/// [`alternatives`] other than `to`, limited to types `region` offers.
pub fn alternatives_in(to: &InstanceType, region: &str, n: usize) -> Vec<&'static InstanceType> {
    alternatives(to, usize::MAX)
        .into_iter()
        .filter(|t| {
            t.name != to.name
                && matches!(
                    offering(&t.name, region),
                    Offering::Offered | Offering::UnknownRegion
                )
        })
        .take(n)
        .collect()
}

/// Supported types of the same architecture and about the same size (vCPU and memory within a
/// factor of two), closest first: what to suggest instead of an unsupported type.
pub fn alternatives(to: &InstanceType, n: usize) -> Vec<&'static InstanceType> {
    let mut candidates: Vec<(u64, &InstanceType)> = table()
        .types
        .iter()
        .filter(|t| {
            t.architecture() == to.architecture()
                && !t.bare_metal
                && t.vcpu * 2 >= to.vcpu
                && t.vcpu <= to.vcpu * 2
                && t.memory_mib * 2 >= to.memory_mib
                && t.memory_mib <= to.memory_mib * 2
                && matches!(t.trunking(), Trunking::Documented(_))
        })
        .map(|t| {
            let distance =
                t.vcpu.abs_diff(to.vcpu) as u64 * 4096 + t.memory_mib.abs_diff(to.memory_mib);
            (distance, t)
        })
        .collect();
    // Common general-purpose families first among equals, then by name for determinism.
    candidates.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(family_rank(a.1).cmp(&family_rank(b.1)))
            .then(a.1.name.cmp(&b.1.name))
    });
    candidates.into_iter().take(n).map(|(_, t)| t).collect()
}

fn family_rank(t: &InstanceType) -> u8 {
    match t.family() {
        "m6i" | "m6g" | "m5" | "c6i" | "c6g" | "r6i" | "r6g" => 0,
        f if f.len() == 2 => 1,
        _ => 2,
    }
}

/// Known names closest in spelling, for "unknown instance type" errors.
pub fn similar_names(name: &str, n: usize) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &str)> = table()
        .types
        .iter()
        .map(|t| (edit_distance(name, &t.name), t.name.as_str()))
        .filter(|(d, _)| *d <= 3)
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, s)| s).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The ECS documentation's task limits that `plan` must reproduce: type, without, with trunking.
#[cfg(test)]
pub(crate) const DOCUMENTED_LIMITS: [(&str, u32, u32); 5] = [
    ("m5.large", 2, 10),
    ("c5.large", 2, 10),
    ("m5.xlarge", 3, 20),
    ("m5.24xlarge", 14, 120),
    ("c6g.medium", 1, 4),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> &'static InstanceType {
        get(name).unwrap_or_else(|| panic!("{name} not in table"))
    }

    #[test]
    fn documented_figures() {
        for (name, without, with) in DOCUMENTED_LIMITS {
            let it = t(name);
            assert_eq!(it.tasks_without_trunking, without, "{name} without");
            assert_eq!(it.trunking(), Trunking::Documented(with), "{name} with");
        }
    }

    #[test]
    fn unsupported_types() {
        for name in [
            "t3.medium",
            "t2.large",
            "t3a.large",
            "t4g.large",
            "m4.large",
            "c4.large",
            "r4.large",
            "p3.2xlarge",
            "c5n.large",
            "g4dn.xlarge",
            "inf1.xlarge",
            "z1d.large",
            "m5.metal",
            "c5.metal",
            "mac2.metal",
            "mac-m4max.metal",
            // In the ECS table, but named unsupported by the guide's note above it.
            "m5n.large",
            "m5zn.large",
            "r5.8xlarge",
            "c5a.8xlarge",
            "d3.xlarge",
            "i3en.large",
            // Its figures: 14 tasks without trunking, 12 with.
            "u-18tb1.metal",
        ] {
            assert!(
                matches!(t(name).trunking(), Trunking::Unsupported(_)),
                "{name}: {:?}",
                t(name).trunking()
            );
        }
    }

    #[test]
    fn undocumented_compatible_types_are_estimates() {
        assert!(matches!(
            t("m7i.large").trunking(),
            Trunking::Estimated(10, _)
        ));
        assert!(matches!(
            t("c8g.large").trunking(),
            Trunking::Estimated(10, _)
        ));
    }

    #[test]
    fn suspect_documented_figures_become_estimates() {
        assert_eq!(t("i4i.16xlarge").documented_tasks_with_trunking, Some(248));
        // The formula gives 133 and 198; no estimate goes above what ECS documents.
        assert!(matches!(
            t("i4i.16xlarge").trunking(),
            Trunking::Estimated(120, _)
        ));
        assert!(matches!(
            t("trn1n.32xlarge").trunking(),
            Trunking::Estimated(120, _)
        ));
    }

    const DOC_TABLE: &str = include_str!("../data/ecs-doc-trunking-table-2023-04-18.csv");

    /// `(type, without, with)` rows of the ECS guide's table.
    fn doc_rows() -> Vec<(&'static str, u32, i64)> {
        DOC_TABLE
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                (f[0], f[2].parse().unwrap(), f[3].parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn every_row_of_the_ecs_table_is_in_the_data_with_its_figures() {
        let rows = doc_rows();
        assert_eq!(rows.len(), 435);
        for (name, without, with) in rows {
            let it = get(name).unwrap_or_else(|| panic!("{name}: documented, not in the data"));
            assert_eq!(it.tasks_without_trunking, without, "{name}");
            assert_eq!(it.documented_tasks_with_trunking, Some(with), "{name}");
        }
    }

    #[test]
    fn the_whole_table_keeps_to_what_ecs_documents() {
        let unsupported: Vec<_> = documented_unsupported().collect();
        assert_eq!(
            unsupported.len(),
            30,
            "the guide's note names 10 sizes and 20 families"
        );
        for it in &table().types {
            let named = unsupported.iter().any(|&(n, scope)| {
                n == if scope == "type" {
                    &it.name
                } else {
                    it.family()
                }
            });
            match it.trunking() {
                Trunking::Documented(n) | Trunking::Estimated(n, _) => {
                    assert!(!named, "{}: named unsupported, yet {n}", it.name);
                    assert!(n <= MAX_TASKS_WITH_TRUNKING, "{}: {n}", it.name);
                    assert!(n > it.tasks_without_trunking, "{}: {n}", it.name);
                }
                Trunking::Unsupported(_) => {}
            }
            for alt in alternatives(it, 3) {
                assert!(
                    matches!(alt.trunking(), Trunking::Documented(_)),
                    "{} suggested for {}",
                    alt.name,
                    it.name
                );
            }
        }
    }

    #[test]
    fn architectures() {
        for (name, arch) in [
            ("m5.large", Architecture::X86_64),
            ("g4dn.xlarge", Architecture::X86_64),
            ("u-6tb1.112xlarge", Architecture::X86_64),
            ("a1.large", Architecture::Arm64),
            ("c6g.medium", Architecture::Arm64),
            ("c6gn.large", Architecture::Arm64),
            ("x2gd.large", Architecture::Arm64),
            ("im4gn.large", Architecture::Arm64),
            ("g5g.xlarge", Architecture::Arm64),
        ] {
            assert_eq!(t(name).architecture(), arch, "{name}");
        }
    }

    #[test]
    fn accelerators() {
        for (name, accelerator) in [
            ("m5.large", None),
            ("c6g.large", None),
            ("g5.xlarge", Some(Accelerator::NvidiaGpu)),
            ("g5g.xlarge", Some(Accelerator::NvidiaGpu)),
            ("gr6.4xlarge", Some(Accelerator::NvidiaGpu)),
            ("p4d.24xlarge", Some(Accelerator::NvidiaGpu)),
            ("inf2.xlarge", Some(Accelerator::Neuron)),
            ("trn1.2xlarge", Some(Accelerator::Neuron)),
            ("g4ad.xlarge", Some(Accelerator::Other)),
            ("dl1.24xlarge", Some(Accelerator::Other)),
            ("vt1.3xlarge", Some(Accelerator::Other)),
        ] {
            assert_eq!(t(name).accelerator(), accelerator, "{name}");
        }
    }

    #[test]
    fn alternatives_are_supported_and_similar() {
        let alts = alternatives(t("t3.large"), 3);
        assert_eq!(alts.len(), 3);
        for a in &alts {
            assert!(a.supports_trunking());
            assert_eq!(a.architecture(), Architecture::X86_64);
            assert!(a.vcpu <= 4 && a.memory_mib <= 16384, "{}", a.name);
        }
        let alts = alternatives(t("t4g.medium"), 3);
        assert!(alts.iter().all(|a| a.architecture() == Architecture::Arm64));
    }

    #[test]
    fn every_type_has_its_regions_and_every_row_a_column_per_region() {
        let o = offerings();
        assert!(o.regions.len() >= 30, "{:?}", o.regions);
        for t in &table().types {
            let row = o.by_type.get(t.name.as_str()).unwrap_or_else(|| {
                panic!("{} has no row in ec2-instance-type-regions.csv", t.name)
            });
            assert_eq!(row.len(), o.regions.len(), "{}", t.name);
        }
        assert_eq!(o.by_type.len(), table().types.len());
    }

    #[test]
    fn offerings_follow_the_price_list() {
        assert_eq!(offering("m5.large", "us-east-1"), Offering::Offered);
        // Regions opened after m5 have only newer generations.
        let Offering::NotOffered(elsewhere) = offering("m5.large", "ap-east-2") else {
            panic!("m5.large in ap-east-2");
        };
        assert!(elsewhere.contains(&"eu-west-1"), "{elsewhere:?}");
        assert!(!elsewhere.contains(&"ap-east-2"), "{elsewhere:?}");
        assert_eq!(offering("m5.large", "xx-north-9"), Offering::UnknownRegion);
        assert_eq!(
            offering("no.such", "us-east-1"),
            Offering::NotOffered(vec![])
        );
    }

    #[test]
    fn alternatives_in_a_region_are_offered_there() {
        let alts = alternatives_in(t("m5.large"), "ap-east-2", 3);
        assert_eq!(alts.len(), 3, "{alts:?}");
        for a in alts {
            assert_ne!(a.name, "m5.large");
            assert_eq!(
                offering(&a.name, "ap-east-2"),
                Offering::Offered,
                "{}",
                a.name
            );
            assert!(
                matches!(a.trunking(), Trunking::Documented(_)),
                "{}",
                a.name
            );
        }
        assert!(check_offered(t("m5.large"), "us-east-1").is_ok());
        let e = check_offered(t("m5.large"), "ap-east-2").unwrap_err();
        assert!(
            e.message.contains("not offered in ap-east-2"),
            "{}",
            e.message
        );
    }

    #[test]
    fn similar_names_catch_typos() {
        assert_eq!(similar_names("m5.larg", 1), ["m5.large"]);
    }
}
