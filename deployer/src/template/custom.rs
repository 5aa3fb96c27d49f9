//! `Custom::EniTrunking`: the custom resource, with the properties type the Lambda reads.

use custom_resource_lambda::properties::ResourceProperties;

use super::Expr;

pub const TYPE_NAME: &str = "Custom::EniTrunking";

/// The Lambda crate owns the property names; the template fills them with expressions.
pub type EniTrunking = ResourceProperties<Expr>;
