//! Offline checks of a config and the templates rendered from it: dangling references, the
//! custom resource's properties as the function would read them, and CloudFormation's size
//! limit. `deploy` runs them first, so a bad config deploys nothing.

use serde::Serialize;

use crate::aws::RemoteArgs;
use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::instance_types;
use crate::render::{self, CUSTOM_RESOURCE};
use crate::template::{AnyProperties, Expr, Template};

/// CloudFormation's template body limit for `--template-body`; larger needs an S3 upload.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub config: Origin,
    pub stack_name: String,
    pub instance_types: Vec<String>,
    pub templates: Vec<TemplateSummary>,
}

#[derive(Debug, Serialize)]
pub struct TemplateSummary {
    pub file: &'static str,
    pub resources: usize,
    pub bytes: usize,
}

impl std::fmt::Display for ValidateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "config {}: ok (stack {}, instance types {})",
            self.config,
            self.stack_name,
            self.instance_types.join(", ")
        )?;
        for t in &self.templates {
            writeln!(
                f,
                "template {}: ok ({} resources, {} bytes)",
                t.file, t.resources, t.bytes
            )?;
        }
        Ok(())
    }
}

pub fn validate(spec: &Spec, origin: &Origin) -> Result<ValidateReport, Error> {
    let mut problems = Vec::new();
    let mut templates = Vec::new();
    for file in render::TEMPLATES {
        let template = (file.build)(spec);
        let name = file.file_name;
        // A stack set's custom resource is in the template it carries.
        let inner = file.inner.map(|build| build(spec));
        for t in std::iter::once(&template).chain(&inner) {
            problems.extend(
                t.check_references()
                    .into_iter()
                    .map(|p| format!("{name}: {p}")),
            );
        }
        if let Err(e) = custom_resource_accepts(inner.as_ref().unwrap_or(&template)) {
            problems.push(format!(
                "{name}: the custom resource function would reject {CUSTOM_RESOURCE}'s properties: {e}"
            ));
        }
        let bytes = template.to_yaml("").len();
        if bytes > TEMPLATE_BODY_LIMIT {
            problems.push(format!(
                "{name}: {bytes} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT}-byte template body limit"
            ));
        }
        templates.push(TemplateSummary {
            file: name,
            resources: template.resources.len(),
            bytes,
        });
    }
    if !problems.is_empty() {
        return Err(Error::Template(problems));
    }
    Ok(ValidateReport {
        config: origin.clone(),
        stack_name: spec.stack_name.clone(),
        instance_types: spec
            .cluster
            .instance_types
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        templates,
    })
}

/// The config's instance types against the region the stack goes to, when that is not the
/// config's own `region` (which the config check has covered, with positions).
pub fn check_region(spec: &Spec, remote: &RemoteArgs, region: &str) -> Result<(), Error> {
    if spec.region.as_deref() == Some(region) {
        return Ok(());
    }
    let from = if remote.region.is_some() {
        "--region"
    } else if remote.local {
        "--local"
    } else {
        "AWS_REGION or the profile"
    };
    for t in &spec.cluster.instance_types {
        if let Err(e) = instance_types::check_offered(t, region) {
            return Err(Error::NotOffered {
                region: region.to_owned(),
                from,
                message: e.message,
                help: e.help,
            });
        }
    }
    Ok(())
}

/// Resolves the custom resource's properties the way CloudFormation would (parameters to their
/// defaults, attributes to example ARNs, every value to a string) and runs the Lambda's own
/// parser over them.
fn custom_resource_accepts(template: &Template) -> Result<(), String> {
    let Some(AnyProperties::Custom(properties)) = template
        .resources
        .get(CUSTOM_RESOURCE)
        .map(|r| &r.properties)
    else {
        return Err(format!("no {CUSTOM_RESOURCE} custom resource"));
    };
    properties
        .try_map(|name, value| example_value(template, name, value))?
        .validate()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What CloudFormation would send for `value`: every property arrives as a string.
fn example_value(template: &Template, property: &str, value: &Expr) -> Result<String, String> {
    match value {
        Expr::Str(s) => Ok(s.clone()),
        Expr::Int(n) => Ok(n.to_string()),
        Expr::Bool(b) => Ok(b.to_string()),
        Expr::Ref(name) => Ok(template
            .parameters
            .get(name)
            .and_then(|p| p.default.clone().or_else(|| p.example.clone()))
            .unwrap_or_else(|| format!("example-{name}"))),
        Expr::GetAtt(s) => {
            let resource = s.split_once('.').map_or(s.as_str(), |(r, _)| r);
            match template
                .resources
                .get(resource)
                .map(|r| r.type_name.as_str())
            {
                Some("AWS::IAM::Role") => Ok("arn:aws:iam::123456789012:role/example".into()),
                Some("AWS::Lambda::Function") => {
                    Ok("arn:aws:lambda:us-east-1:123456789012:function:example".into())
                }
                other => Err(format!(
                    "{property} is !GetAtt {s} (a {}), which this check does not resolve",
                    other.unwrap_or("missing resource")
                )),
            }
        }
        other => Err(format!(
            "{property} is {other:?}, which this check does not resolve"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_deploy_resolves_is_checked_when_the_config_names_none() {
        let spec = crate::config::demo();
        assert_eq!(spec.region, None);
        let remote = RemoteArgs {
            region: Some("ap-east-2".into()),
            ..RemoteArgs::default()
        };
        let e = check_region(&spec, &remote, "ap-east-2").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(
            text.starts_with(
                "instance type `m5.large` is not offered in ap-east-2 (per the AWS Price List data enitrunk ships), the region from --region; similar-sized types ap-east-2 offers: m6i.large"
            ),
            "{text}"
        );
        assert!(text.ends_with("Nothing was deployed"), "{text}");
        assert!(check_region(&spec, &remote, "eu-west-1").is_ok());
        assert!(check_region(&spec, &RemoteArgs::default(), "xx-north-9").is_ok());
    }
}
