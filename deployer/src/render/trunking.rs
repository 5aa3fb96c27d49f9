//! The trunking part of both templates: the container-instance role and profile, the custom
//! resource's function with its role, log group and invoke config, the custom resource itself,
//! and the outputs that name them; and for `enitrunk enable`, the same around an instance role
//! that already exists (its trust policy is changed by enitrunk, not by the stack).

use custom_resource_lambda::aws::SESSION_NAME;
use custom_resource_lambda::properties::{DEFAULT_SETTING_NAME, DEFAULT_SETTING_VALUE, Scope};

use crate::config::Spec;
use crate::template::custom::EniTrunking;
use crate::template::iam::{
    InlinePolicy, InstanceProfile, Policy, PolicyDocument, Principal, Role, Statement,
};
use crate::template::lambda::{Code, EventInvokeConfig, Function, LoggingConfig};
use crate::template::logs::LogGroup;
use crate::template::{Expr, NO_VALUE, Parameter, Template};

/// Logical id of the custom resource.
pub const CUSTOM_RESOURCE: &str = "EniTrunking";
/// Seconds CloudFormation waits for the function's answer; the function itself answers within
/// its 120 s timeout, so this is only reached if it could not run at all.
const SERVICE_TIMEOUT_SECONDS: i64 = 300;
const FUNCTION_TIMEOUT_SECONDS: u32 = 120;
const LOG_RETENTION_DAYS: u32 = 30;
const HAS_ROLE_NAME: &str = "HasInstanceRoleName";

/// Where the function's package is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeIn {
    /// Parameters `CodeBucket` and `CodeKey`.
    OneBucket,
    /// `<CodeBucketPrefix>-<region>`: a stack set's instances are in many regions, and Lambda
    /// takes a function's package only from a bucket in the function's own region.
    BucketPerRegion,
}

pub fn add(t: &mut Template, spec: &Spec) {
    add_in(t, spec, CodeIn::OneBucket);
}

pub fn add_in(t: &mut Template, spec: &Spec, code: CodeIn) {
    let role_scope = spec.trunking.scope == Scope::Role;
    parameters(t, spec, code);
    instance_role(t, role_scope);
    function_log_group(t);
    function_role(t, role_scope, None);
    if role_scope {
        assume_role_policy(t, Expr::get_att("InstanceRole", "Arn"));
    }
    function(t, spec, code);
    custom_resource(t, role_scope.then(|| Expr::get_att("InstanceRole", "Arn")));
    outputs(t);
}

/// Parameters of the existing-role template, which `enitrunk enable` passes.
pub const ROLE_NAME: &str = "RoleName";
pub const ROLE_ARN: &str = "RoleArn";
pub const FUNCTION_ROLE_NAME: &str = "FunctionRoleName";
pub const ORIGINAL_TRUST_POLICY: &str = "OriginalTrustPolicy";
/// The inline policy the stack attaches to the existing role.
pub const EXISTING_ROLE_POLICY: &str = "enitrunk-awsvpc-trunking";

/// For an instance role the stack does not own: the function (with a role of a fixed name, so
/// the role's trust policy can name it before the stack exists), the role's account-setting
/// permission as a policy attached to it, and the custom resource with that role's ARN.
pub fn add_for_existing_role(t: &mut Template, spec: &Spec) {
    code_parameters(t, CodeIn::OneBucket);
    let name_pattern = r"^[\w+=,.@-]{1,64}$";
    for (name, description) in [
        (ROLE_NAME, "Name of the existing container-instance role"),
        (
            FUNCTION_ROLE_NAME,
            "Name of the function's role, which the instance role's trust policy names",
        ),
    ] {
        t.parameters.insert(
            name.into(),
            Parameter {
                allowed_pattern: Some(name_pattern.into()),
                constraint_description: Some("an IAM role name (up to 64 characters)".into()),
                ..Parameter::string(description)
            },
        );
    }
    t.parameters.insert(
        ROLE_ARN.into(),
        Parameter {
            allowed_pattern: Some(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$".into()),
            constraint_description: Some("an IAM role ARN".into()),
            example: Some("arn:aws:iam::123456789012:role/ecsInstanceRole".into()),
            ..Parameter::string("ARN of the existing container-instance role (with its path)")
        },
    );
    t.parameters.insert(
        ORIGINAL_TRUST_POLICY.into(),
        Parameter::string(
            "The role's trust policy before `enitrunk enable` added its statement, as IAM returned it: `enitrunk disable` puts it back",
        ),
    );
    on_delete_parameter(t, spec);
    t.add(
        "InstanceRoleTrunkingPolicy",
        Policy {
            policy_name: EXISTING_ROLE_POLICY.into(),
            policy_document: ecs_policy(
                &["ecs:PutAccountSetting", "ecs:DeleteAccountSetting"],
                Some(SESSION_NAME),
            ),
            roles: vec![Expr::r#ref(ROLE_NAME)],
        },
    );
    function_log_group(t);
    function_role(t, true, Some(Expr::r#ref(FUNCTION_ROLE_NAME)));
    assume_role_policy(t, Expr::r#ref(ROLE_ARN));
    function(t, spec, CodeIn::OneBucket);
    custom_resource(t, Some(Expr::r#ref(ROLE_ARN)));
    // The role needs its permission before the function uses it.
    t.resources
        .get_mut(CUSTOM_RESOURCE)
        .expect("just added")
        .depends_on
        .push("InstanceRoleTrunkingPolicy".into());
    let outputs = [
        (
            "InstanceRoleArn",
            "ARN of the container-instance role",
            Expr::r#ref(ROLE_ARN),
        ),
        (
            "InstanceRoleName",
            "Name of the container-instance role",
            Expr::r#ref(ROLE_NAME),
        ),
        (
            "FunctionRoleArn",
            "The function's role, which the instance role's trust policy names",
            Expr::get_att("TrunkingFunctionRole", "Arn"),
        ),
        (
            ORIGINAL_TRUST_POLICY,
            "The role's trust policy before enitrunk enable",
            Expr::r#ref(ORIGINAL_TRUST_POLICY),
        ),
    ];
    for (name, description, value) in outputs {
        t.output(name, description, value);
    }
    for (name, description, value) in function_outputs() {
        t.output(name, description, value);
    }
}

/// For `enitrunk enable --scope account-default`: the function and the custom resource that turn
/// the account default on, and no role (the default covers every principal without a setting of
/// its own).
pub fn add_account_default(t: &mut Template, spec: &Spec) {
    add_account_default_in(t, spec, CodeIn::OneBucket);
}

pub fn add_account_default_in(t: &mut Template, spec: &Spec, code: CodeIn) {
    code_parameters(t, code);
    on_delete_parameter(t, spec);
    function_log_group(t);
    function_role(t, false, None);
    function(t, spec, code);
    custom_resource(t, None);
    for (name, description, value) in function_outputs() {
        t.output(name, description, value);
    }
}

fn code_parameters(t: &mut Template, code: CodeIn) {
    match code {
        CodeIn::OneBucket => t.parameters.insert(
            "CodeBucket".into(),
            Parameter::string(
                "S3 bucket holding the custom resource's Lambda package (a zip with `bootstrap`)",
            ),
        ),
        CodeIn::BucketPerRegion => t.parameters.insert(
            "CodeBucketPrefix".into(),
            Parameter::string(
                "Prefix of the S3 buckets holding the Lambda package, one per region: `<prefix>-<region>` (Lambda reads code only from its own region)",
            ),
        ),
    };
    t.parameters.insert(
        "CodeKey".into(),
        Parameter::string(match code {
            CodeIn::OneBucket => "S3 key of the Lambda package in CodeBucket",
            CodeIn::BucketPerRegion => "S3 key of the Lambda package in each region's bucket",
        }),
    );
}

fn parameters(t: &mut Template, spec: &Spec, code: CodeIn) {
    code_parameters(t, code);
    t.parameters.insert(
        "InstanceRoleName".into(),
        Parameter {
            allowed_pattern: Some(r"^[\w+=,.@-]{0,64}$".into()),
            constraint_description: Some("an IAM role name (up to 64 characters), or empty".into()),
            ..Parameter::string(
                "Name of the container-instance IAM role; empty lets CloudFormation generate one. Changing it replaces the role",
            )
            .default(spec.trunking.instance_role_name.as_deref().unwrap_or(""))
        },
    );
    on_delete_parameter(t, spec);
    t.conditions.insert(
        HAS_ROLE_NAME.into(),
        !Expr::equals(Expr::r#ref("InstanceRoleName"), "".into()),
    );
}

fn on_delete_parameter(t: &mut Template, spec: &Spec) {
    t.parameters.insert(
        "OnDelete".into(),
        Parameter {
            allowed_values: vec!["Retain".into(), "Reset".into()],
            ..Parameter::string(
                "What deleting the stack does to the setting: Retain leaves it, Reset undoes it",
            )
            .default(spec.trunking.on_delete.as_str())
        },
    );
}

/// The account-setting permissions, for the setting enitrunk changes only; with `session`, only
/// for sessions of that name.
fn ecs_policy(actions: &[&str], session: Option<&str>) -> PolicyDocument {
    // The condition key names the setting; ListAccountSettings is read-only and is not
    // guaranteed to carry it, so it gets its own statement.
    let change = Statement::allow(actions)
        .sid("ChangeAwsvpcTrunkingOnly")
        .resource("*")
        .condition("StringEquals", "ecs:account-setting", DEFAULT_SETTING_NAME);
    let read = Statement::allow(&["ecs:ListAccountSettings"])
        .sid("ReadAccountSettings")
        .resource("*");
    PolicyDocument::new(match session {
        // A role session's aws:userid is `ROLE-ID:SESSION-NAME`: the instance's own sessions
        // (EC2 names them after the instance), and so anything holding its credentials, do not
        // match.
        Some(name) => [change, read]
            .into_iter()
            .map(|s| s.condition("StringLike", "aws:userid", format!("*:{name}")))
            .collect(),
        None => vec![change, read],
    })
}

/// The container-instance role (trusted by EC2 and, for scope `Role`, the function's role) and
/// its instance profile.
fn instance_role(t: &mut Template, role_scope: bool) {
    let mut trust = vec![
        Statement::allow(&["sts:AssumeRole"]).principal(Principal::service("ec2.amazonaws.com")),
    ];
    if role_scope {
        trust.push(
            Statement::allow(&["sts:AssumeRole"])
                .principal(Principal {
                    aws: vec![Expr::get_att("TrunkingFunctionRole", "Arn")],
                    ..Principal::default()
                })
                .condition("StringEquals", "sts:RoleSessionName", SESSION_NAME),
        );
    }
    t.add(
        "InstanceRole",
        Role {
            assume_role_policy_document: PolicyDocument::new(trust),
            description: if role_scope {
                "ECS container instances. The trunking function assumes it to turn awsvpcTrunking on for this role".into()
            } else {
                "ECS container instances".into()
            },
            managed_policy_arns: vec![Expr::sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
            )],
            policies: if role_scope {
                vec![InlinePolicy {
                    policy_name: "awsvpc-trunking".into(),
                    policy_document: ecs_policy(
                        &["ecs:PutAccountSetting", "ecs:DeleteAccountSetting"],
                        Some(SESSION_NAME),
                    ),
                }]
            } else {
                Vec::new()
            },
            role_name: Some(Expr::if_(
                HAS_ROLE_NAME,
                Expr::r#ref("InstanceRoleName"),
                Expr::r#ref(NO_VALUE),
            )),
        },
    );
    t.add(
        "InstanceProfile",
        InstanceProfile {
            roles: vec![Expr::r#ref("InstanceRole")],
        },
    );
}

/// The function's role: its logs, and for scope `Role` assuming the instance role, else
/// changing the account default.
fn function_role(t: &mut Template, role_scope: bool, role_name: Option<Expr>) {
    let mut function_policies = vec![InlinePolicy {
        policy_name: "logs".into(),
        policy_document: PolicyDocument::new(vec![
            Statement::allow(&["logs:CreateLogStream", "logs:PutLogEvents"])
                .resource(Expr::get_att("TrunkingFunctionLogGroup", "Arn")),
        ]),
    }];
    if !role_scope {
        function_policies.push(InlinePolicy {
            policy_name: "awsvpc-trunking-default".into(),
            policy_document: ecs_policy(&["ecs:PutAccountSettingDefault"], None),
        });
    }
    t.add(
        "TrunkingFunctionRole",
        Role {
            assume_role_policy_document: PolicyDocument::new(vec![
                Statement::allow(&["sts:AssumeRole"])
                    .principal(Principal::service("lambda.amazonaws.com")),
            ]),
            description: "The enitrunk custom resource function".into(),
            managed_policy_arns: Vec::new(),
            policies: function_policies,
            role_name,
        },
    );
}

/// The function's permission to assume the instance role: its own resource, as inline in
/// TrunkingFunctionRole it would name InstanceRole, whose trust policy names
/// TrunkingFunctionRole, a circular dependency.
fn assume_role_policy(t: &mut Template, role_arn: Expr) {
    t.add(
        "TrunkingFunctionAssumeRolePolicy",
        Policy {
            policy_name: "assume-instance-role".into(),
            policy_document: PolicyDocument::new(vec![
                Statement::allow(&["sts:AssumeRole"]).resource(role_arn),
            ]),
            roles: vec![Expr::r#ref("TrunkingFunctionRole")],
        },
    );
}

fn function_log_group(t: &mut Template) {
    let group = t.add(
        "TrunkingFunctionLogGroup",
        LogGroup {
            retention_in_days: LOG_RETENTION_DAYS,
        },
    );
    // Said, not implied: the logs go with the stack (and with a replaced group).
    group.deletion_policy = Some("Delete");
    group.update_replace_policy = Some("Delete");
}

/// The function and its invoke config.
fn function(t: &mut Template, spec: &Spec, code: CodeIn) {
    t.add(
        "TrunkingFunction",
        Function {
            description: "enitrunk: sets the ECS account setting awsvpcTrunking for CloudFormation"
                .into(),
            runtime: "provided.al2023",
            handler: "bootstrap",
            architectures: vec![spec.function.architecture.as_str()],
            code: Code {
                s3_bucket: match code {
                    CodeIn::OneBucket => Expr::r#ref("CodeBucket"),
                    CodeIn::BucketPerRegion => Expr::sub("${CodeBucketPrefix}-${AWS::Region}"),
                },
                s3_key: Expr::r#ref("CodeKey"),
            },
            role: Expr::get_att("TrunkingFunctionRole", "Arn"),
            timeout: FUNCTION_TIMEOUT_SECONDS,
            memory_size: 128,
            logging_config: LoggingConfig {
                log_group: Expr::r#ref("TrunkingFunctionLogGroup"),
            },
        },
    );
    // CloudFormation invokes custom resources asynchronously; Lambda's default two retries
    // would repeat a failed request a minute apart, after CloudFormation has its answer.
    t.add(
        "TrunkingFunctionInvokeConfig",
        EventInvokeConfig {
            function_name: Expr::r#ref("TrunkingFunction"),
            qualifier: "$LATEST",
            maximum_retry_attempts: 0,
        },
    );
}

/// The custom resource; `role_arn` for scope `Role`.
fn custom_resource(t: &mut Template, role_arn: Option<Expr>) {
    let role_scope = role_arn.is_some();
    let properties = EniTrunking {
        service_token: Expr::get_att("TrunkingFunction", "Arn"),
        service_timeout: Some(Expr::Int(SERVICE_TIMEOUT_SECONDS)),
        role_arn,
        region: None,
        setting_name: Some(DEFAULT_SETTING_NAME.into()),
        setting_value: Some(DEFAULT_SETTING_VALUE.into()),
        scope: Some(
            match role_scope {
                true => Scope::Role,
                false => Scope::AccountDefault,
            }
            .as_str()
            .into(),
        ),
        on_delete: Some(Expr::r#ref("OnDelete")),
    };
    let custom = t.add(CUSTOM_RESOURCE, properties);
    custom
        .depends_on
        .push("TrunkingFunctionInvokeConfig".into());
    if role_scope {
        custom
            .depends_on
            .push("TrunkingFunctionAssumeRolePolicy".into());
    }
}

fn outputs(t: &mut Template) {
    for (name, description, value) in [
        (
            "InstanceRoleArn",
            "ARN of the container-instance role",
            Expr::get_att("InstanceRole", "Arn"),
        ),
        (
            "InstanceRoleName",
            "Name of the container-instance role",
            Expr::r#ref("InstanceRole"),
        ),
        (
            "InstanceProfileName",
            "Instance profile for the container instances' launch template",
            Expr::r#ref("InstanceProfile"),
        ),
        (
            "InstanceProfileArn",
            "ARN of the instance profile",
            Expr::get_att("InstanceProfile", "Arn"),
        ),
    ] {
        t.output(name, description, value);
    }
    for (name, description, value) in function_outputs() {
        t.output(name, description, value);
    }
}

/// What the custom resource read back, and where its function and logs are.
fn function_outputs() -> [(&'static str, &'static str, Expr); 4] {
    [
        (
            "TrunkingSetting",
            "Effective awsvpcTrunking value, read back after the change",
            Expr::get_att("EniTrunking", "Value"),
        ),
        (
            "TrunkingPrincipalArn",
            "Principal whose setting was changed (the role, or the account)",
            Expr::get_att("EniTrunking", "PrincipalArn"),
        ),
        (
            "TrunkingFunctionName",
            "The custom resource's function",
            Expr::r#ref("TrunkingFunction"),
        ),
        (
            "TrunkingLogGroupName",
            "The function's log group",
            Expr::r#ref("TrunkingFunctionLogGroup"),
        ),
    ]
}
