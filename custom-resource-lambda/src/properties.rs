//! The custom resource's `ResourceProperties`: the contract between the template and the function.
//!
//! The type is generic over the value so the deployer can fill it with CloudFormation intrinsics
//! (`!GetAtt Role.Arn`) while the function reads plain strings, which is what CloudFormation sends
//! for every property, whatever its type in the template.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Setting changed when the template names none.
pub const DEFAULT_SETTING_NAME: &str = "awsvpcTrunking";
/// Value set when the template names none.
pub const DEFAULT_SETTING_VALUE: &str = "enabled";

/// Properties of `Custom::EniTrunking`, as written in the template and received by the function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResourceProperties<V = String> {
    /// The function's ARN; required by CloudFormation, ignored by the function.
    pub service_token: V,
    /// Seconds CloudFormation waits for an answer; also sent to the function, which ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_timeout: Option<V>,
    /// The container-instance role whose own setting is changed (scope `Role`).
    /// `EC2Role` is the name the public containersonaws pattern uses.
    #[serde(default, alias = "EC2Role", skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<V>,
    /// Region of the ECS account setting; default: the function's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<V>,
    /// ECS account setting name; default `awsvpcTrunking`. Passed through unchecked, because the
    /// SDK's list of names lags the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting_name: Option<V>,
    /// Value to set; default `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting_value: Option<V>,
    /// `Role` (default) or `AccountDefault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<V>,
    /// `Retain` (default) or `Reset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<V>,
}

impl<V> ResourceProperties<V> {
    /// The same properties with each value converted by `f`, which gets the property's name:
    /// e.g. from the template's expressions to the strings CloudFormation would send.
    pub fn try_map<W, E>(
        &self,
        mut f: impl FnMut(&'static str, &V) -> Result<W, E>,
    ) -> Result<ResourceProperties<W>, E> {
        let mut opt = |name, v: &Option<V>| v.as_ref().map(|v| f(name, v)).transpose();
        Ok(ResourceProperties {
            service_timeout: opt("ServiceTimeout", &self.service_timeout)?,
            role_arn: opt("RoleArn", &self.role_arn)?,
            region: opt("Region", &self.region)?,
            setting_name: opt("SettingName", &self.setting_name)?,
            setting_value: opt("SettingValue", &self.setting_value)?,
            scope: opt("Scope", &self.scope)?,
            on_delete: opt("OnDelete", &self.on_delete)?,
            service_token: f("ServiceToken", &self.service_token)?,
        })
    }
}

/// Whose setting is changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// The role's own setting, set by assuming the role (only the principal itself or root may).
    #[default]
    Role,
    /// The account default, for every principal without a setting of its own.
    AccountDefault,
}

/// What Delete does with the setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OnDelete {
    /// Leave the setting as it is: instances already launched keep their trunks either way.
    #[default]
    Retain,
    /// `Role`: delete the role's own setting. `AccountDefault`: restore the value found at Create.
    Reset,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Role, Scope::AccountDefault];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Role => "Role",
            Scope::AccountDefault => "AccountDefault",
        }
    }
}

impl OnDelete {
    pub const ALL: [OnDelete; 2] = [OnDelete::Retain, OnDelete::Reset];
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::Retain => "Retain",
            OnDelete::Reset => "Reset",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OnDelete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = PropertyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| PropertyError::Invalid {
                property: "Scope",
                value: s.to_owned(),
                expected: "`Role` or `AccountDefault`".into(),
            })
    }
}

impl FromStr for OnDelete {
    type Err = PropertyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OnDelete::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| PropertyError::Invalid {
                property: "OnDelete",
                value: s.to_owned(),
                expected: "`Retain` or `Reset`".into(),
            })
    }
}

/// Properties checked and defaulted: what the function acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub scope: Scope,
    /// Present exactly when the scope is `Role`.
    pub role_arn: Option<String>,
    pub region: Option<String>,
    pub setting_name: String,
    pub setting_value: String,
    pub on_delete: OnDelete,
}

/// A property CloudFormation sent that the function cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("ResourceProperties is not an object (got {0})")]
    NotAnObject(&'static str),
    #[error(
        "ResourceProperties.{property} must be a string (CloudFormation sends every property as a string), got {kind}"
    )]
    NotAString {
        property: String,
        kind: &'static str,
    },
    #[error(
        "ResourceProperties has both RoleArn and EC2Role; keep one of them (they mean the same)"
    )]
    BothRoleNames,
    #[error("ResourceProperties: {0}")]
    Shape(String),
    #[error("ResourceProperties.{property} is `{value}`; expected {expected}")]
    Invalid {
        property: &'static str,
        value: String,
        expected: String,
    },
    #[error(
        "ResourceProperties.RoleArn is required with Scope `Role`: set it to the container-instance role's ARN, e.g. `RoleArn: !GetAtt InstanceRole.Arn`"
    )]
    MissingRole,
    #[error(
        "ResourceProperties.RoleArn is only used with Scope `Role`; with Scope `AccountDefault` the function changes the account default as itself. Remove RoleArn or set Scope to `Role`"
    )]
    RoleWithAccountDefault,
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl ResourceProperties<String> {
    /// Reads the properties of a request, with errors that name the property at fault.
    pub fn from_json(value: &Value) -> Result<Self, PropertyError> {
        let map = value
            .as_object()
            .ok_or_else(|| PropertyError::NotAnObject(json_kind(value)))?;
        if map.contains_key("RoleArn") && map.contains_key("EC2Role") {
            return Err(PropertyError::BothRoleNames);
        }
        // Checked before serde so the error names the property; serde's type errors do not.
        if let Some((k, v)) = map.iter().find(|(_, v)| !v.is_string()) {
            return Err(PropertyError::NotAString {
                property: k.clone(),
                kind: json_kind(v),
            });
        }
        serde_json::from_value(value.clone()).map_err(|e| PropertyError::Shape(e.to_string()))
    }

    /// Checks values and applies defaults.
    pub fn validate(&self) -> Result<Spec, PropertyError> {
        let scope = self
            .scope
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let on_delete = self
            .on_delete
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let role_arn = match (scope, self.role_arn.as_deref()) {
            (Scope::Role, None | Some("")) => return Err(PropertyError::MissingRole),
            (Scope::Role, Some(arn)) => Some(check_role_arn(arn)?),
            (Scope::AccountDefault, None) => None,
            (Scope::AccountDefault, Some(_)) => return Err(PropertyError::RoleWithAccountDefault),
        };
        let region = match self.region.as_deref() {
            None | Some("") => None,
            Some(r) if is_region(r) => Some(r.to_owned()),
            Some(r) => {
                return Err(PropertyError::Invalid {
                    property: "Region",
                    value: r.to_owned(),
                    expected:
                        "a region name such as `eu-west-1`, or no Region for the function's own"
                            .into(),
                });
            }
        };
        let setting_name = non_empty(
            "SettingName",
            self.setting_name.as_deref(),
            DEFAULT_SETTING_NAME,
        )?;
        if !setting_name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PropertyError::Invalid {
                property: "SettingName",
                value: setting_name,
                expected: "an ECS account setting name such as `awsvpcTrunking`".into(),
            });
        }
        let setting_value = non_empty(
            "SettingValue",
            self.setting_value.as_deref(),
            DEFAULT_SETTING_VALUE,
        )?;
        Ok(Spec {
            scope,
            role_arn,
            region,
            setting_name,
            setting_value,
            on_delete,
        })
    }
}

fn non_empty(
    property: &'static str,
    v: Option<&str>,
    default: &str,
) -> Result<String, PropertyError> {
    match v {
        None => Ok(default.to_owned()),
        Some(s) if s.trim().is_empty() => Err(PropertyError::Invalid {
            property,
            value: s.to_owned(),
            expected: format!("a non-empty value, or no {property} for `{default}`"),
        }),
        Some(s) => Ok(s.to_owned()),
    }
}

fn is_region(r: &str) -> bool {
    r.len() <= 32
        && r.split('-').count() >= 3
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Accepts `arn:<partition>:iam::<account>:role/<path/>name`.
pub fn check_role_arn(arn: &str) -> Result<String, PropertyError> {
    let bad = || {
        PropertyError::Invalid {
        property: "RoleArn",
        value: arn.to_owned(),
        expected: "an IAM role ARN such as `arn:aws:iam::123456789012:role/ecs-instance` (use `!GetAtt InstanceRole.Arn`, not the role name)".into(),
    }
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let ok = arn_ == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && resource
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty() && !n.ends_with('/'));
    if ok { Ok(arn.to_owned()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Result<Spec, PropertyError> {
        ResourceProperties::from_json(&v)?.validate()
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/ecs-instance";

    #[test]
    fn defaults_apply() {
        let s = spec(json!({"ServiceToken": "arn:x", "RoleArn": ROLE})).unwrap();
        assert_eq!(s.scope, Scope::Role);
        assert_eq!(s.on_delete, OnDelete::Retain);
        assert_eq!(s.setting_name, "awsvpcTrunking");
        assert_eq!(s.setting_value, "enabled");
        assert_eq!(s.role_arn.as_deref(), Some(ROLE));
        assert_eq!(s.region, None);
    }

    #[test]
    fn ec2role_is_accepted_as_role_arn() {
        let s = spec(json!({"ServiceToken": "arn:x", "EC2Role": ROLE})).unwrap();
        assert_eq!(s.role_arn.as_deref(), Some(ROLE));
    }

    #[test]
    fn both_role_names_are_refused() {
        let e = spec(json!({"ServiceToken": "x", "EC2Role": ROLE, "RoleArn": ROLE})).unwrap_err();
        assert_eq!(e, PropertyError::BothRoleNames);
    }

    #[test]
    fn missing_role_names_the_fix() {
        let e = spec(json!({"ServiceToken": "x"})).unwrap_err();
        assert!(e.to_string().contains("!GetAtt InstanceRole.Arn"), "{e}");
    }

    #[test]
    fn role_name_instead_of_arn_is_refused() {
        let e = spec(json!({"ServiceToken": "x", "RoleArn": "ecs-instance"})).unwrap_err();
        assert!(e.to_string().contains("RoleArn is `ecs-instance`"), "{e}");
    }

    #[test]
    fn role_arn_with_path_is_accepted() {
        let arn = "arn:aws-cn:iam::123456789012:role/platform/ecs/instance";
        let s = spec(json!({"ServiceToken": "x", "RoleArn": arn})).unwrap();
        assert_eq!(s.role_arn.as_deref(), Some(arn));
    }

    #[test]
    fn unknown_scope_and_on_delete_list_the_choices() {
        let e =
            spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "Scope": "Account"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ResourceProperties.Scope is `Account`; expected `Role` or `AccountDefault`"
        );
        let e =
            spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "OnDelete": "Delete"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ResourceProperties.OnDelete is `Delete`; expected `Retain` or `Reset`"
        );
    }

    #[test]
    fn unknown_property_is_named() {
        let e =
            spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "OnDelte": "Reset"})).unwrap_err();
        assert!(e.to_string().contains("unknown field `OnDelte`"), "{e}");
    }

    #[test]
    fn non_string_value_is_named() {
        let e = spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "Region": 5})).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ResourceProperties.Region must be a string"),
            "{e}"
        );
    }

    #[test]
    fn account_default_takes_no_role() {
        let s = spec(json!({"ServiceToken": "x", "Scope": "AccountDefault", "OnDelete": "Reset"}))
            .unwrap();
        assert_eq!(
            (s.scope, s.on_delete, s.role_arn),
            (Scope::AccountDefault, OnDelete::Reset, None)
        );
        let e = spec(json!({"ServiceToken": "x", "Scope": "AccountDefault", "RoleArn": ROLE}))
            .unwrap_err();
        assert_eq!(e, PropertyError::RoleWithAccountDefault);
    }

    #[test]
    fn any_setting_name_passes_through() {
        let s = spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "SettingName": "dualStackIPv6"}))
            .unwrap();
        assert_eq!(s.setting_name, "dualStackIPv6");
        let e =
            spec(json!({"ServiceToken": "x", "RoleArn": ROLE, "SettingName": "a b"})).unwrap_err();
        assert!(e.to_string().contains("SettingName is `a b`"), "{e}");
    }

    #[test]
    fn service_timeout_is_accepted_and_round_trips() {
        let v = json!({"ServiceToken": "x", "ServiceTimeout": "120", "RoleArn": ROLE});
        let p = ResourceProperties::from_json(&v).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }
}
