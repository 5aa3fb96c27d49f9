//! Offline checks of a config and the templates rendered from it: dangling references, the
//! custom resource's properties as the function would read them, and CloudFormation's size
//! limit. `deploy` runs them first, so a bad config deploys nothing.

use serde::Serialize;

use crate::config::{Origin, Spec};
use crate::error::Error;
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
        problems.extend(
            template
                .check_references()
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
        if let Err(e) = custom_resource_accepts(&template) {
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
            .and_then(|p| p.default.clone())
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
