//! Physical resource ids: derived only from what identifies the setting changed, and parsed back
//! on Delete so the function acts on exactly the principal the id names.
//!
//! Layout: `enitrunk|<Scope>|<region>|<setting>|<principal ARN>` and, for `AccountDefault`, a
//! sixth field `previous=<value>` holding the default found at Create (what `Reset` restores).
//! `%` and `|` inside a field are written `%25` and `%7C`: IAM role paths may contain both, and
//! an unencoded `|` would move the fields, so a Delete would act on the wrong principal or none.

use std::fmt;

use crate::properties::Scope;

const PREFIX: &str = "enitrunk";
const CREATE_FAILED: &str = "CreateFailed";
/// CloudFormation's limit for a physical resource id.
pub const MAX_LEN: usize = 1024;

/// The setting one resource manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub scope: Scope,
    pub region: String,
    pub setting_name: String,
    /// Role ARN for `Role`, the account root (`arn:aws:iam::<account>:root`) for `AccountDefault`.
    pub principal_arn: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhysicalId {
    Setting {
        target: Target,
        /// `AccountDefault` only: the default before Create (`None` if there was none).
        previous: Option<String>,
    },
    /// A Create that failed; its Delete (the rollback) has nothing to undo.
    CreateFailed { request_id: String },
    /// Not an id this function wrote, e.g. from the Node.js pattern this function replaces.
    Foreign(String),
}

impl PhysicalId {
    pub fn parse(id: &str) -> PhysicalId {
        let fields: Vec<&str> = id.splitn(6, '|').collect();
        match fields[..] {
            [PREFIX, CREATE_FAILED, request_id] => PhysicalId::CreateFailed {
                request_id: request_id.to_owned(),
            },
            [PREFIX, scope, region, setting, principal, ref rest @ ..] => {
                let Ok(scope) = scope.parse::<Scope>() else {
                    return PhysicalId::Foreign(id.to_owned());
                };
                let previous = match (scope, rest) {
                    (Scope::Role, []) => None,
                    (Scope::AccountDefault, [p]) => match p.strip_prefix("previous=") {
                        Some("") => None,
                        Some(v) => Some(v.to_owned()),
                        None => return PhysicalId::Foreign(id.to_owned()),
                    },
                    _ => return PhysicalId::Foreign(id.to_owned()),
                };
                let (Some(region), Some(setting_name), Some(principal_arn)) =
                    (decode(region), decode(setting), decode(principal))
                else {
                    return PhysicalId::Foreign(id.to_owned());
                };
                PhysicalId::Setting {
                    target: Target {
                        scope,
                        region,
                        setting_name,
                        principal_arn,
                    },
                    previous: match previous.as_deref().map(decode) {
                        Some(None) => return PhysicalId::Foreign(id.to_owned()),
                        other => other.flatten(),
                    },
                }
            }
            _ => PhysicalId::Foreign(id.to_owned()),
        }
    }

    /// The target this id names, if it names one.
    pub fn target(&self) -> Option<&Target> {
        match self {
            PhysicalId::Setting { target, .. } => Some(target),
            _ => None,
        }
    }
}

impl fmt::Display for PhysicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysicalId::Setting { target, previous } => {
                let Target {
                    scope,
                    region,
                    setting_name,
                    principal_arn,
                } = target;
                write!(
                    f,
                    "{PREFIX}|{scope}|{}|{}|{}",
                    encode(region),
                    encode(setting_name),
                    encode(principal_arn)
                )?;
                if *scope == Scope::AccountDefault {
                    write!(f, "|previous={}", encode(previous.as_deref().unwrap_or("")))?;
                }
                Ok(())
            }
            PhysicalId::CreateFailed { request_id } => {
                write!(f, "{PREFIX}|{CREATE_FAILED}|{request_id}")
            }
            PhysicalId::Foreign(id) => f.write_str(id),
        }
    }
}

fn encode(field: &str) -> String {
    field.replace('%', "%25").replace('|', "%7C")
}

/// The field as written by [`encode`]; `None` for any other `%` sequence.
fn decode(field: &str) -> Option<String> {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("%25") => out.push('%'),
            Some("%7C") => out.push('|'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_target() -> Target {
        Target {
            scope: Scope::Role,
            region: "eu-west-1".into(),
            setting_name: "awsvpcTrunking".into(),
            principal_arn: "arn:aws:iam::123456789012:role/path/ecs-instance".into(),
        }
    }

    #[test]
    fn role_id_round_trips() {
        let id = PhysicalId::Setting {
            target: role_target(),
            previous: None,
        };
        let s = id.to_string();
        assert_eq!(
            s,
            "enitrunk|Role|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:role/path/ecs-instance"
        );
        assert_eq!(PhysicalId::parse(&s), id);
    }

    #[test]
    fn account_default_id_keeps_the_previous_value() {
        let target = Target {
            scope: Scope::AccountDefault,
            principal_arn: "arn:aws:iam::123456789012:root".into(),
            ..role_target()
        };
        for previous in [Some("disabled".to_owned()), None] {
            let id = PhysicalId::Setting {
                target: target.clone(),
                previous,
            };
            assert_eq!(PhysicalId::parse(&id.to_string()), id);
        }
    }

    #[test]
    fn a_role_path_with_a_bar_or_percent_round_trips() {
        let target = Target {
            principal_arn: "arn:aws:iam::123456789012:role/a|b/100%/ecs-instance".into(),
            ..role_target()
        };
        let id = PhysicalId::Setting {
            target,
            previous: None,
        };
        let s = id.to_string();
        assert_eq!(
            s,
            "enitrunk|Role|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:role/a%7Cb/100%25/ecs-instance"
        );
        assert_eq!(PhysicalId::parse(&s), id);
    }

    #[test]
    fn a_bad_escape_is_not_ours() {
        let id = "enitrunk|Role|eu-west-1|awsvpcTrunking|arn:aws:iam::123456789012:role/x%41";
        assert_eq!(PhysicalId::parse(id), PhysicalId::Foreign(id.into()));
    }

    #[test]
    fn create_failed_round_trips() {
        let id = PhysicalId::CreateFailed {
            request_id: "abc-123".into(),
        };
        assert_eq!(PhysicalId::parse(&id.to_string()), id);
    }

    #[test]
    fn ids_of_other_functions_are_foreign() {
        for id in [
            "2024/01/01/[$LATEST]0123456789abcdef",
            "enitrunk|Nope|r|s|p",
            "enitrunk|Role|r|s|p|previous=x",
            "enitrunk|AccountDefault|r|s|p",
        ] {
            assert_eq!(
                PhysicalId::parse(id),
                PhysicalId::Foreign(id.into()),
                "{id}"
            );
        }
    }
}
