//! `org-stackset.yaml`: the trunking template as a service-managed stack set, for every account
//! of some organizational units (and accounts that join them later) in some regions.
//!
//! The stack set's own template is `eni-trunking.yaml`'s, with one change: the function's package
//! comes from `<CodeBucketPrefix>-<region>`, as each instance's function is in its own region and
//! Lambda reads a package only from a bucket in that region.

use crate::config::Spec;
use crate::template::cloudformation::{
    AutoDeployment, DeploymentTargets, ManagedExecution, OperationPreferences, StackInstances,
    StackSet, StackSetParameter,
};
use crate::template::{Expr, Parameter, Template};

use super::trunking::{self, CodeIn};

/// Parameters passed through to every stack instance.
const PASSED: [&str; 4] = [
    "CodeBucketPrefix",
    "CodeKey",
    "InstanceRoleName",
    "OnDelete",
];

/// The stack instances' template.
pub fn member(spec: &Spec) -> Template {
    member_for(spec, Scope::Role)
}

/// What each stack instance turns trunking on for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// An instance role (and profile) created in each account, for the team's clusters to use
    Role,
    /// The account default, for accounts whose clusters use roles of their own
    AccountDefault,
}

/// The stack instances' template for `scope`.
pub fn member_for(spec: &Spec, scope: Scope) -> Template {
    match scope {
        Scope::Role => {
            let mut member = Template::new(
                "enitrunk: turns on ENI trunking (ECS account setting awsvpcTrunking) for the container-instance role, in each account and region of the stack set",
            );
            trunking::add_in(&mut member, spec, CodeIn::BucketPerRegion);
            member
        }
        Scope::AccountDefault => {
            let mut member = Template::new(
                "enitrunk: turns on the account default of ENI trunking (ECS account setting awsvpcTrunking), in each account and region of the stack set",
            );
            trunking::add_account_default_in(&mut member, spec, CodeIn::BucketPerRegion);
            member
        }
    }
}

pub fn add(t: &mut Template, spec: &Spec) {
    let member = member(spec);
    for name in PASSED {
        let p = member.parameters[name].clone();
        t.parameters.insert(name.into(), p);
    }
    // IAM names are global to an account: each region's stack would create the same role.
    if let Some(p) = t.parameters.get_mut("InstanceRoleName") {
        p.description = "Name of the container-instance IAM role in each account; empty lets CloudFormation generate one per region. With more than one region leave it empty: IAM names are global, and every region's stack would create the same role. Changing it replaces the role".into();
    }
    let list = |description: &str| Parameter {
        type_name: "CommaDelimitedList".into(),
        ..Parameter::string(description)
    };
    t.parameters.insert(
        "OrganizationalUnitIds".into(),
        list("Organizational units (ou-...) whose accounts, now and as they join, get the stack"),
    );
    t.parameters.insert(
        "Regions".into(),
        list("Regions of each account to deploy to: awsvpcTrunking is per account and region"),
    );
    t.parameters.insert(
        "RetainStacksOnAccountRemoval".into(),
        Parameter {
            allowed_values: vec!["true".into(), "false".into()],
            ..Parameter::string(
                "Keep an account's stacks (and its setting) when it leaves the organizational units",
            )
            .default("false")
        },
    );
    let number = |description: &str, default: &str| Parameter {
        type_name: "Number".into(),
        ..Parameter::string(description).default(default)
    };
    t.parameters.insert(
        "MaxConcurrentPercentage".into(),
        number("Share of the accounts deployed at once, per region", "25"),
    );
    t.parameters.insert(
        "FailureTolerancePercentage".into(),
        number(
            "Share of the accounts that may fail, per region, before the operation stops",
            "0",
        ),
    );
    t.parameters.insert(
        "CallAs".into(),
        Parameter {
            allowed_values: vec!["SELF".into(), "DELEGATED_ADMIN".into()],
            ..Parameter::string(
                "SELF from the management account, DELEGATED_ADMIN from a delegated administrator account",
            )
            .default("SELF")
        },
    );
    let body =
        member.to_yaml("enitrunk: the stack instances' template (templates/org-stackset.yaml)");
    t.add(
        "TrunkingStackSet",
        StackSet {
            stack_set_name: Expr::sub("${AWS::StackName}-trunking"),
            description: "enitrunk: ENI trunking (awsvpcTrunking) in every account of the organizational units".into(),
            permission_model: "SERVICE_MANAGED",
            auto_deployment: AutoDeployment {
                enabled: true,
                retain_stacks_on_account_removal: Expr::r#ref("RetainStacksOnAccountRemoval"),
            },
            call_as: Expr::r#ref("CallAs"),
            capabilities: vec!["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            managed_execution: ManagedExecution { active: true },
            operation_preferences: OperationPreferences {
                max_concurrent_percentage: Expr::r#ref("MaxConcurrentPercentage"),
                failure_tolerance_percentage: Expr::r#ref("FailureTolerancePercentage"),
                region_concurrency_type: "PARALLEL",
            },
            parameters: PASSED
                .into_iter()
                .map(|name| StackSetParameter {
                    parameter_key: name,
                    parameter_value: Expr::r#ref(name),
                })
                .collect(),
            stack_instances_group: vec![StackInstances {
                deployment_targets: DeploymentTargets {
                    organizational_unit_ids: Expr::r#ref("OrganizationalUnitIds"),
                },
                regions: Expr::r#ref("Regions"),
            }],
            template_body: body,
        },
    );
    t.output(
        "StackSetId",
        "The stack set (aws cloudformation list-stack-instances --stack-set-name ... shows its instances)",
        Expr::r#ref("TrunkingStackSet"),
    );
}
