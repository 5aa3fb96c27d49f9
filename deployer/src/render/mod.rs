//! The two templates built from a [`Spec`], and writing or checking them as files.
//!
//! `eni-trunking.yaml` is the trunking part alone (for an existing cluster); `ecs-cluster.yaml`
//! adds the network, the cluster, its capacity and the tasks. Each part of the stack has its
//! module: `trunking`, `network`, `cluster`.

mod cluster;
mod network;
pub mod org;
pub mod trunking;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::template::{Parameter, Template};

pub use trunking::CUSTOM_RESOURCE;

/// A template file enitrunk renders: its name under `templates/`, what it holds, its builder.
pub struct TemplateFile {
    pub file_name: &'static str,
    /// For the file's header: what the template deploys.
    pub what: &'static str,
    pub build: fn(&Spec) -> Template,
    /// The template a stack set carries inside (its `TemplateBody`), for `validate` to check too.
    pub inner: Option<fn(&Spec) -> Template>,
    /// For the header: what plain CloudFormation needs besides the code's location.
    pub by_hand: ByHand,
}

/// The steps and parameters a template needs when deployed without enitrunk.
pub struct ByHand {
    /// The enitrunk command that does it all.
    pub command: &'static str,
    pub first: &'static str,
    pub parameters: &'static str,
    /// Steps of its own instead of the single-bucket ones.
    pub steps: Option<&'static str>,
}

const CODE_ONLY: ByHand = ByHand {
    command: "enitrunk deploy",
    first: "",
    parameters: "",
    steps: None,
};

pub const ENI_TRUNKING: TemplateFile = TemplateFile {
    file_name: "eni-trunking.yaml",
    what: "ENI trunking (ECS account setting awsvpcTrunking) for a container-instance role, for an existing cluster",
    build: eni_trunking,
    inner: None,
    by_hand: CODE_ONLY,
};

pub const EXISTING_ROLE: TemplateFile = TemplateFile {
    file_name: "existing-role.yaml",
    what: "ENI trunking for an instance role that already exists (`enitrunk enable --role`), whose trust policy must first allow the function",
    build: existing_role,
    inner: None,
    by_hand: ByHand {
        command: "enitrunk enable --role ROLE",
        first: "  # First add to ROLE's trust policy (`enitrunk enable` shows it and does it; `disable` undoes it):
  #   {\"Sid\": \"EnitrunkTrunkingFunction\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::ACCOUNT:root\"},
  #    \"Action\": \"sts:AssumeRole\", \"Condition\": {\"ArnEquals\": {\"aws:PrincipalArn\": \"arn:aws:iam::ACCOUNT:role/FUNCTION_ROLE\"},
  #    \"StringEquals\": {\"sts:RoleSessionName\": \"enitrunk-custom-resource\"}}}
",
        parameters: " \\\n    RoleName=ROLE RoleArn=ROLE_ARN FunctionRoleName=FUNCTION_ROLE OriginalTrustPolicy=\"$(aws iam get-role --role-name ROLE --query Role.AssumeRolePolicyDocument --output json)\"",
        steps: None,
    },
};

pub const ACCOUNT_DEFAULT: TemplateFile = TemplateFile {
    file_name: "account-default.yaml",
    what: "the awsvpcTrunking account default, for every principal without a setting of its own (`enitrunk enable --scope account-default`); no role",
    build: account_default,
    inner: None,
    by_hand: ByHand {
        command: "enitrunk enable --scope account-default",
        ..CODE_ONLY
    },
};

pub const ORG_STACKSET: TemplateFile = TemplateFile {
    file_name: "org-stackset.yaml",
    what: "ENI trunking in every account of some organizational units, in some regions, as a service-managed CloudFormation stack set",
    build: org_stackset,
    inner: Some(org::member),
    by_hand: ByHand {
        steps: Some(
            "Deploy with plain CloudFormation, from the organization's management account (or, with
CallAs=DELEGATED_ADMIN, a delegated administrator for CloudFormation StackSets), once trusted
access for StackSets is on (`aws organizations enable-aws-service-access --service-principal
member.org.stacksets.cloudformation.amazonaws.com`, or in the CloudFormation console):
  cargo build --release -p custom-resource-lambda --bin bootstrap   # needs glibc <= 2.34 for Lambda
  (cd target/release && zip -X bootstrap.zip bootstrap)
  # In each target region R: a bucket PREFIX-R that the organization's accounts may read, as
  # Lambda takes a function's package only from its own region:
  aws s3api create-bucket --bucket PREFIX-R --region R --create-bucket-configuration LocationConstraint=R  # not for us-east-1
  aws s3api put-bucket-policy --bucket PREFIX-R --policy '{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\",
    \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::PREFIX-R/enitrunk/*\",
    \"Condition\": {\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-ORGANIZATION\"}}}]}'
  aws s3 cp target/release/bootstrap.zip s3://PREFIX-R/enitrunk/bootstrap.zip --region R
  aws cloudformation deploy --stack-name enitrunk-org --template-file templates/org-stackset.yaml \\
    --parameter-overrides CodeBucketPrefix=PREFIX CodeKey=enitrunk/bootstrap.zip \\
    OrganizationalUnitIds=ou-xxxx-11111111,ou-xxxx-22222222 Regions=us-east-1,eu-west-1
",
        ),
        ..CODE_ONLY
    },
};

pub const ECS_CLUSTER: TemplateFile = TemplateFile {
    file_name: "ecs-cluster.yaml",
    what: "an ECS cluster whose container instances use ENI trunking, with its network and tasks",
    build: ecs_cluster,
    inner: None,
    by_hand: CODE_ONLY,
};

/// Every template, in the order they are written and reported.
pub const TEMPLATES: [&TemplateFile; 5] = [
    &ENI_TRUNKING,
    &EXISTING_ROLE,
    &ACCOUNT_DEFAULT,
    &ORG_STACKSET,
    &ECS_CLUSTER,
];

/// The template named `name` (`ecs-cluster.yaml`, or with a `templates/` prefix).
pub fn find(name: &str) -> Option<&'static TemplateFile> {
    let name = name.strip_prefix("templates/").unwrap_or(name);
    TEMPLATES.into_iter().find(|t| t.file_name == name)
}

/// A rendered template file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub file_name: &'static str,
    pub text: String,
}

impl TemplateFile {
    pub fn render(&self, spec: &Spec, origin: &Origin) -> Rendered {
        Rendered {
            file_name: self.file_name,
            text: (self.build)(spec).to_yaml(&self.header(spec, origin)),
        }
    }

    fn header(&self, spec: &Spec, origin: &Origin) -> String {
        let (file, what) = (self.file_name, self.what);
        let source = match origin {
            Origin::BuiltIn => "the built-in demo config".to_owned(),
            Origin::File(p) => p.display().to_string(),
        };
        let head = format!(
            "enitrunk {file}: {what}.
Generated by `enitrunk render` from {source}; edit the config and render again rather than this file.

"
        );
        if let Some(steps) = self.by_hand.steps {
            return head + steps;
        }
        head + &format!(
            "Deploy with plain CloudFormation (`{command}` does all of this, and checks the result):
{first}  cargo build --release -p custom-resource-lambda --bin bootstrap   # needs glibc <= 2.34 for Lambda
  (cd target/release && zip -X bootstrap.zip bootstrap)
  aws s3 cp target/release/bootstrap.zip s3://BUCKET/enitrunk/bootstrap.zip
  aws cloudformation deploy --stack-name {stack} --template-file templates/{file} \\
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \\
    --parameter-overrides CodeBucket=BUCKET CodeKey=enitrunk/bootstrap.zip{parameters}
",
            stack = spec.stack_name,
            command = self.by_hand.command,
            first = self.by_hand.first,
            parameters = self.by_hand.parameters,
        )
    }
}

pub fn render_all(spec: &Spec, origin: &Origin) -> Vec<Rendered> {
    TEMPLATES.iter().map(|t| t.render(spec, origin)).collect()
}

/// The trunking template as a stack set for an organization.
fn org_stackset(spec: &Spec) -> Template {
    let mut t = Template::new(
        "enitrunk: ENI trunking (ECS account setting awsvpcTrunking) in every account of the organizational units, through CloudFormation StackSets",
    );
    org::add(&mut t, spec);
    t
}

/// The trunking part alone.
fn eni_trunking(spec: &Spec) -> Template {
    let mut t = Template::new(
        "enitrunk: turns on ENI trunking (ECS account setting awsvpcTrunking) for the container-instance role",
    );
    trunking::add(&mut t, spec);
    t
}

/// The trunking part around an instance role that already exists.
fn existing_role(spec: &Spec) -> Template {
    let mut t = Template::new(
        "enitrunk: turns on ENI trunking (ECS account setting awsvpcTrunking) for an existing container-instance role",
    );
    trunking::add_for_existing_role(&mut t, spec);
    t
}

/// The account default alone.
fn account_default(spec: &Spec) -> Template {
    let mut t = Template::new(
        "enitrunk: turns on the ECS account setting awsvpcTrunking's account default (ENI trunking for every principal without its own setting)",
    );
    trunking::add_account_default(&mut t, spec);
    t
}

/// Everything: network, trunking, cluster, capacity, task definitions and services.
fn ecs_cluster(spec: &Spec) -> Template {
    let mut t = Template::new(
        "enitrunk: an ECS cluster whose container instances use ENI trunking (more awsvpc tasks per instance)",
    );
    trunking::add(&mut t, spec);
    t.parameters.insert(
        "ImageId".into(),
        Parameter {
            type_name: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>".into(),
            ..Parameter::string(&format!(
                "SSM parameter with the ECS-optimized Amazon Linux 2023 AMI ({})",
                spec.cluster.architecture
            ))
            .default(&spec.cluster.ami_parameter)
        },
    );
    let (vpc, subnets) = network::add(&mut t, spec);
    cluster::add(&mut t, spec, vpc, subnets);
    t
}

/// What `render` did to each file, or found when checking.
#[derive(Debug, Serialize)]
pub struct RenderReport {
    pub dir: PathBuf,
    pub checked: bool,
    pub files: Vec<FileState>,
}

#[derive(Debug, Serialize)]
pub struct FileState {
    pub file: String,
    pub state: &'static str,
}

impl std::fmt::Display for RenderReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in &self.files {
            writeln!(f, "{}: {}", self.dir.join(&file.file).display(), file.state)?;
        }
        Ok(())
    }
}

/// How a rendered file compares with the one on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    Same,
    Differs,
    Missing,
}

fn on_disk(path: &Path, r: &Rendered) -> OnDisk {
    match std::fs::read_to_string(path) {
        Ok(old) if old == r.text => OnDisk::Same,
        Ok(_) => OnDisk::Differs,
        Err(_) => OnDisk::Missing,
    }
}

/// Writes each file whose content differs.
pub fn write_dir(dir: &Path, rendered: &[Rendered]) -> Result<RenderReport, Error> {
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let mut files = Vec::new();
    for r in rendered {
        let path = dir.join(r.file_name);
        let state = match on_disk(&path, r) {
            OnDisk::Same => "unchanged",
            OnDisk::Differs => "updated",
            OnDisk::Missing => "written",
        };
        if state != "unchanged" {
            std::fs::write(&path, &r.text).map_err(Error::io("write", &path))?;
        }
        files.push(FileState {
            file: r.file_name.to_owned(),
            state,
        });
    }
    Ok(RenderReport {
        dir: dir.to_owned(),
        checked: false,
        files,
    })
}

/// Writes nothing; fails naming every file that is missing or differs.
pub fn check_dir(dir: &Path, rendered: &[Rendered]) -> Result<RenderReport, Error> {
    let files: Vec<FileState> = rendered
        .iter()
        .map(|r| FileState {
            file: r.file_name.to_owned(),
            state: match on_disk(&dir.join(r.file_name), r) {
                OnDisk::Same => "up to date",
                OnDisk::Differs => "stale",
                OnDisk::Missing => "missing",
            },
        })
        .collect();
    let stale: Vec<String> = files
        .iter()
        .filter(|f| f.state != "up to date")
        .map(|f| format!("{} ({})", f.file, f.state))
        .collect();
    if !stale.is_empty() {
        return Err(Error::Stale {
            dir: dir.to_owned(),
            files: stale,
        });
    }
    Ok(RenderReport {
        dir: dir.to_owned(),
        checked: true,
        files,
    })
}
