//! The config file as written: serde structs that reject unknown keys and keep each value's
//! position, so validation can point at it.

use custom_resource_lambda::properties::{OnDelete, Scope};
use serde::{Deserialize, Deserializer};

use super::Diagnostic;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

impl Loc {
    pub const START: Loc = Loc { line: 1, column: 1 };
}

/// A value and where it is in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> Sp<T> {
    pub fn new(value: T, loc: Loc) -> Sp<T> {
        Sp { value, loc }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Sp {
            value: s.value,
            loc: Loc {
                line: s.referenced.line(),
                column: s.referenced.column(),
            },
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub stack_name: Option<Sp<String>>,
    pub region: Option<Sp<String>>,
    pub artifact_bucket: Option<Sp<String>>,
    pub cluster: Option<Sp<RawCluster>>,
    pub network: Option<RawNetwork>,
    pub trunking: Option<RawTrunking>,
    pub function: Option<RawFunction>,
    pub tasks: Option<Vec<RawTask>>,
    pub org: Option<Sp<RawOrg>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub instance_types: Option<Sp<Vec<Sp<String>>>>,
    pub min_size: Option<Sp<u32>>,
    /// Refused with a reason (rather than as an unknown field): managed scaling owns it.
    pub desired_capacity: Option<Sp<u32>>,
    pub max_size: Option<Sp<u32>>,
    pub ami_parameter: Option<Sp<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub vpc_id: Option<Sp<String>>,
    pub subnet_ids: Option<Sp<Vec<Sp<String>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunction {
    pub architecture: Option<Sp<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrunking {
    pub scope: Option<Sp<Scope>>,
    pub on_delete: Option<Sp<OnDelete>>,
    pub instance_role_name: Option<Sp<String>>,
}

/// `enitrunk org`'s defaults; its flags override them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrg {
    pub accounts: Option<Sp<Vec<Sp<String>>>>,
    pub ous: Option<Sp<Vec<Sp<String>>>>,
    pub regions: Option<Sp<Vec<Sp<String>>>>,
    pub max_concurrent_percent: Option<Sp<u32>>,
    pub failure_tolerance_percent: Option<Sp<u32>>,
    pub retain_stacks_on_account_removal: Option<Sp<bool>>,
    pub call_as: Option<Sp<CallAs>>,
}

/// StackSets' `CallAs`, spelled as the API spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum CallAs {
    #[serde(rename = "SELF")]
    SelfAccount,
    #[serde(rename = "DELEGATED_ADMIN")]
    DelegatedAdmin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    pub family: Sp<String>,
    pub cpu: Sp<u32>,
    pub memory: Sp<u32>,
    pub containers: Sp<Vec<RawContainer>>,
    pub service: Option<RawService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContainer {
    pub name: Sp<String>,
    pub image: Sp<String>,
    pub ports: Option<Sp<Vec<Sp<u16>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub desired_count: Option<Sp<u32>>,
}

pub fn parse(text: &str) -> Result<RawConfig, Diagnostic> {
    // A file of comments only is an empty config: all defaults.
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Ok(RawConfig::default());
    }
    serde_saphyr::from_str(text).map_err(|e| diagnostic(&e))
}

fn diagnostic(e: &serde_saphyr::Error) -> Diagnostic {
    let loc = e.location();
    let mut message = e.without_snippet().to_string();
    // The position is ours to print, in the `file:line:column:` prefix.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // serde-saphyr says only "invalid u32" for `-1` or `one` where a size belongs.
    if message.starts_with("invalid u") {
        message = "expected a whole number, 0 or more".into();
    }
    let help = if message.contains("unknown field") {
        Some(
            "remove the key or fix its spelling; `enitrunk init` writes a file with every key"
                .into(),
        )
    } else if message.contains("unknown variant") {
        Some("use one of the values listed, spelled exactly (they are case-sensitive)".into())
    } else if message.contains("missing field") {
        Some("add the key: a task needs family, cpu, memory and containers".into())
    } else if message.contains("invalid type") || message.contains("invalid value") {
        Some("check the value's type: sizes are whole numbers, names are strings".into())
    } else if message.starts_with("expected a whole number") {
        Some("sizes and counts are written as plain numbers, e.g. `2`".into())
    } else {
        Some("this is not valid YAML here; compare with the file `enitrunk init` writes".into())
    };
    Diagnostic {
        line: loc.map_or(1, |l| l.line()),
        column: loc.map_or(1, |l| l.column()),
        message,
        help,
    }
}
