//! The CloudFormation template model: intrinsic functions, parameters, resources, outputs, and
//! rendering to YAML with short-form tags. One submodule per resource kind.

pub mod autoscaling;
pub mod cloudformation;
pub mod custom;
pub mod ec2;
pub mod ecs;
pub mod iam;
pub mod lambda;
pub mod logs;

use indexmap::IndexMap;
use serde::Serialize;

/// A template value: a literal or an intrinsic function. serde_norway writes a newtype variant of
/// an externally tagged enum as a YAML tag, so `Ref("X")` renders as `!Ref X`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expr {
    Ref(String),
    /// `Resource.Attribute`: the short form's dotted string.
    GetAtt(String),
    Sub(String),
    If(Box<(String, Expr, Expr)>),
    Equals(Box<(Expr, Expr)>),
    /// `!Not [condition]`: CloudFormation takes a one-element list.
    Not(Box<[Expr; 1]>),
    Join(Box<(String, Vec<Expr>)>),
    Select(Box<(u32, Expr)>),
    #[serde(rename = "GetAZs")]
    GetAzs(String),
    /// Holds the long form `{Fn::Sub: ...}`: the YAML writer cannot nest one tag directly in
    /// another (`!Base64 !Sub`), and CloudFormation reads both forms.
    Base64(Box<Expr>),
    #[serde(rename = "Fn::Sub")]
    LongSub(String),
    #[serde(untagged)]
    Str(String),
    #[serde(untagged)]
    Int(i64),
    #[serde(untagged)]
    Bool(bool),
    #[serde(untagged)]
    List(Vec<Expr>),
    #[serde(untagged)]
    Map(IndexMap<String, Expr>),
}

/// Pseudo parameter `AWS::NoValue`: removes the property it is the value of.
pub const NO_VALUE: &str = "AWS::NoValue";

impl Expr {
    pub fn r#ref(name: impl Into<String>) -> Expr {
        Expr::Ref(name.into())
    }

    pub fn get_att(resource: &str, attribute: &str) -> Expr {
        Expr::GetAtt(format!("{resource}.{attribute}"))
    }

    pub fn sub(s: impl Into<String>) -> Expr {
        Expr::Sub(s.into())
    }

    pub fn if_(condition: &str, then: Expr, otherwise: Expr) -> Expr {
        Expr::If(Box::new((condition.into(), then, otherwise)))
    }

    pub fn equals(a: Expr, b: Expr) -> Expr {
        Expr::Equals(Box::new((a, b)))
    }

    pub fn join(sep: &str, items: Vec<Expr>) -> Expr {
        Expr::Join(Box::new((sep.into(), items)))
    }

    pub fn select(index: u32, list: Expr) -> Expr {
        Expr::Select(Box::new((index, list)))
    }

    /// `!Base64 {Fn::Sub: s}`: user data with references in it.
    pub fn base64_sub(s: impl Into<String>) -> Expr {
        let mut m = IndexMap::new();
        m.insert("Fn::Sub".to_owned(), Expr::Str(s.into()));
        Expr::Base64(Box::new(Expr::Map(m)))
    }

    pub fn map<const N: usize>(entries: [(&str, Expr); N]) -> Expr {
        Expr::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// Every resource or parameter name this value refers to, with the attribute for `GetAtt`.
    pub fn references(&self, out: &mut Vec<Reference>) {
        match self {
            Expr::Ref(name) => out.push(Reference::Ref(name.clone())),
            Expr::GetAtt(s) => {
                let (res, attr) = s.split_once('.').unwrap_or((s, ""));
                out.push(Reference::GetAtt(res.to_owned(), attr.to_owned()));
            }
            Expr::Sub(s) | Expr::LongSub(s) => {
                for name in sub_references(s) {
                    match name.split_once('.') {
                        Some((res, attr)) => {
                            out.push(Reference::GetAtt(res.to_owned(), attr.to_owned()))
                        }
                        None => out.push(Reference::Ref(name)),
                    }
                }
            }
            Expr::If(b) => {
                out.push(Reference::Condition(b.0.clone()));
                b.1.references(out);
                b.2.references(out);
            }
            Expr::Equals(b) => {
                b.0.references(out);
                b.1.references(out);
            }
            Expr::Not(b) => b[0].references(out),
            Expr::Join(b) => b.1.iter().for_each(|e| e.references(out)),
            Expr::Select(b) => b.1.references(out),
            Expr::Base64(e) => e.references(out),
            Expr::List(items) => items.iter().for_each(|e| e.references(out)),
            Expr::Map(m) => {
                for (k, v) in m {
                    if k == "Fn::Sub"
                        && let Expr::Str(s) = v
                    {
                        Expr::LongSub(s.clone()).references(out);
                    } else {
                        v.references(out);
                    }
                }
            }
            Expr::GetAzs(_) | Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) => {}
        }
    }
}

/// `${Name}` and `${Resource.Attr}` in a `Fn::Sub` string; `${!Literal}` is an escape.
fn sub_references(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') {
            out.push(name.to_owned());
        }
        rest = &rest[end + 1..];
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Ref(String),
    GetAtt(String, String),
    Condition(String),
}

/// `!condition` is `!Not [condition]`.
impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new([self]))
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Str(s.to_owned())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Str(s)
    }
}

impl From<i64> for Expr {
    fn from(n: i64) -> Self {
        Expr::Int(n)
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Bool(b)
    }
}

/// The properties of every resource kind the templates use, with its CloudFormation type name:
/// one list, from which the enum, its `From` impls and `type_name` are generated.
macro_rules! any_properties {
    ($($variant:ident($ty:ty) = $name:expr,)*) => {
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum AnyProperties {
            $($variant($ty),)*
        }
        $(
            impl From<$ty> for AnyProperties {
                fn from(p: $ty) -> Self {
                    AnyProperties::$variant(p)
                }
            }
        )*
        impl AnyProperties {
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(AnyProperties::$variant(_) => $name,)*
                }
            }
        }
    };
}

any_properties! {
    Role(iam::Role) = "AWS::IAM::Role",
    InstanceProfile(iam::InstanceProfile) = "AWS::IAM::InstanceProfile",
    Policy(iam::Policy) = "AWS::IAM::Policy",
    Function(lambda::Function) = "AWS::Lambda::Function",
    EventInvokeConfig(lambda::EventInvokeConfig) = "AWS::Lambda::EventInvokeConfig",
    LogGroup(logs::LogGroup) = "AWS::Logs::LogGroup",
    Vpc(ec2::Vpc) = "AWS::EC2::VPC",
    InternetGateway(ec2::InternetGateway) = "AWS::EC2::InternetGateway",
    VpcGatewayAttachment(ec2::VpcGatewayAttachment) = "AWS::EC2::VPCGatewayAttachment",
    Subnet(ec2::Subnet) = "AWS::EC2::Subnet",
    RouteTable(ec2::RouteTable) = "AWS::EC2::RouteTable",
    Route(ec2::Route) = "AWS::EC2::Route",
    SubnetRouteTableAssociation(ec2::SubnetRouteTableAssociation) = "AWS::EC2::SubnetRouteTableAssociation",
    Eip(ec2::Eip) = "AWS::EC2::EIP",
    NatGateway(ec2::NatGateway) = "AWS::EC2::NatGateway",
    SecurityGroup(ec2::SecurityGroup) = "AWS::EC2::SecurityGroup",
    LaunchTemplate(ec2::LaunchTemplate) = "AWS::EC2::LaunchTemplate",
    Cluster(ecs::Cluster) = "AWS::ECS::Cluster",
    CapacityProvider(ecs::CapacityProvider) = "AWS::ECS::CapacityProvider",
    ClusterCapacityProviderAssociations(ecs::ClusterCapacityProviderAssociations) = "AWS::ECS::ClusterCapacityProviderAssociations",
    TaskDefinition(ecs::TaskDefinition) = "AWS::ECS::TaskDefinition",
    Service(ecs::Service) = "AWS::ECS::Service",
    AutoScalingGroup(autoscaling::AutoScalingGroup) = "AWS::AutoScaling::AutoScalingGroup",
    Custom(custom::EniTrunking) = custom::TYPE_NAME,
    StackSet(cloudformation::StackSet) = "AWS::CloudFormation::StackSet",
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<&'static str>,
    pub properties: AnyProperties,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub type_name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    /// Not in the template: what `validate` takes a user to pass for a parameter without a
    /// default.
    #[serde(skip)]
    pub example: Option<String>,
}

impl Parameter {
    pub fn string(description: &str) -> Parameter {
        Parameter {
            type_name: "String".into(),
            description: description.into(),
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
            example: None,
        }
    }

    pub fn default(mut self, value: &str) -> Parameter {
        self.default = Some(value.into());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

/// A whole template. Field order is the YAML key order; maps keep insertion order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, Parameter>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub conditions: IndexMap<String, Expr>,
    pub resources: IndexMap<String, Resource>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Output>,
}

/// Pseudo parameters that `!Ref` may name without a declaration.
const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

impl Template {
    pub fn new(description: impl Into<String>) -> Template {
        Template {
            format_version: "2010-09-09",
            description: description.into(),
            parameters: IndexMap::new(),
            conditions: IndexMap::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
        }
    }

    pub fn add(&mut self, logical_id: &str, properties: impl Into<AnyProperties>) -> &mut Resource {
        let properties = properties.into();
        let resource = Resource {
            type_name: properties.type_name().to_owned(),
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            properties,
        };
        let previous = self.resources.insert(logical_id.to_owned(), resource);
        assert!(previous.is_none(), "logical id {logical_id} used twice");
        &mut self.resources[logical_id]
    }

    pub fn output(&mut self, name: &str, description: &str, value: Expr) {
        self.outputs.insert(
            name.to_owned(),
            Output {
                description: description.into(),
                value,
            },
        );
    }

    /// YAML with a comment header. Deterministic: same model, same bytes.
    pub fn to_yaml(&self, header: &str) -> String {
        let body = serde_norway::to_string(self).expect("the template model always serializes");
        let mut out = String::new();
        for line in header.lines() {
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                out.push_str("# ");
                out.push_str(line);
                out.push('\n');
            }
        }
        for line in body.lines() {
            out.push_str(&quote_date(line));
            out.push('\n');
        }
        out
    }

    /// Dangling references: `!Ref`, `!GetAtt`, `${}` in `!Sub`, conditions and `DependsOn`
    /// naming nothing in the template. CloudFormation only finds these at deploy time.
    pub fn check_references(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let known_ref = |name: &str| {
            self.parameters.contains_key(name)
                || self.resources.contains_key(name)
                || PSEUDO_PARAMETERS.contains(&name)
        };
        let mut check = |place: String, refs: Vec<Reference>| {
            for r in refs {
                match r {
                    Reference::Ref(name) if !known_ref(&name) => {
                        problems.push(format!("{place}: `{name}` is not a parameter or resource"))
                    }
                    Reference::GetAtt(res, _) if !self.resources.contains_key(&res) => problems
                        .push(format!(
                            "{place}: GetAtt on `{res}`, which is not a resource"
                        )),
                    Reference::Condition(c) if !self.conditions.contains_key(&c) => {
                        problems.push(format!("{place}: condition `{c}` is not declared"))
                    }
                    _ => {}
                }
            }
        };
        for (id, resource) in &self.resources {
            let value = serde_json::to_value(&resource.properties).expect("serializable");
            let mut refs = Vec::new();
            json_references(&value, &mut refs);
            for d in &resource.depends_on {
                if !self.resources.contains_key(d) {
                    refs.push(Reference::GetAtt(d.clone(), String::new()));
                }
            }
            if let Some(c) = &resource.condition {
                refs.push(Reference::Condition(c.clone()));
            }
            check(format!("resource {id}"), refs);
        }
        for (name, output) in &self.outputs {
            let mut refs = Vec::new();
            output.value.references(&mut refs);
            check(format!("output {name}"), refs);
        }
        for (name, condition) in &self.conditions {
            let mut refs = Vec::new();
            condition.references(&mut refs);
            check(format!("condition {name}"), refs);
        }
        problems
    }
}

/// Quotes a plain `YYYY-MM-DD` value (`2010-09-09`, IAM's `2012-10-17`): the YAML writer
/// leaves it bare, and YAML 1.1 readers (PyYAML, used by cfn-lint and LocalStack) turn a bare one
/// into a date, which is not the string CloudFormation and IAM expect.
fn quote_date(line: &str) -> std::borrow::Cow<'_, str> {
    let Some((head, value)) = line.rsplit_once(' ') else {
        return line.into();
    };
    let is_date = value.len() == 10
        && value.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if is_date && (head.ends_with(':') || head.trim_start() == "-") {
        format!("{head} '{value}'").into()
    } else {
        line.into()
    }
}

/// Expressions inside typed properties, found through their JSON form: serde_json writes an
/// intrinsic as `{"Ref": ...}`, `{"GetAtt": ...}`, `{"Sub": ...}`, `{"If": [...]}`.
fn json_references(value: &serde_json::Value, out: &mut Vec<Reference>) {
    use serde_json::Value;
    match value {
        Value::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().expect("one entry");
            match (k.as_str(), v) {
                ("Ref", Value::String(s)) => Expr::Ref(s.clone()).references(out),
                ("GetAtt", Value::String(s)) => Expr::GetAtt(s.clone()).references(out),
                ("Sub" | "Fn::Sub", Value::String(s)) => Expr::Sub(s.clone()).references(out),
                ("If", Value::Array(a)) => {
                    if let Some(Value::String(c)) = a.first() {
                        out.push(Reference::Condition(c.clone()));
                    }
                    a.iter().skip(1).for_each(|v| json_references(v, out));
                }
                _ => json_references(v, out),
            }
        }
        Value::Object(m) => m.values().for_each(|v| json_references(v, out)),
        Value::Array(a) => a.iter().for_each(|v| json_references(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_render_as_short_form_tags() {
        let value = Expr::map([
            ("A", Expr::r#ref("Param")),
            ("B", Expr::get_att("Role", "Arn")),
            ("C", Expr::sub("arn:${AWS::Partition}:iam::aws:policy/X")),
            (
                "D",
                Expr::if_("HasName", Expr::r#ref("Name"), Expr::r#ref(NO_VALUE)),
            ),
            ("E", Expr::select(0, Expr::GetAzs(String::new()))),
            ("F", Expr::base64_sub("ECS_CLUSTER=${Cluster}")),
            ("G", Expr::Int(3)),
        ]);
        insta::assert_snapshot!(serde_norway::to_string(&value).unwrap(), @r#"
        A: !Ref Param
        B: !GetAtt Role.Arn
        C: !Sub arn:${AWS::Partition}:iam::aws:policy/X
        D: !If
        - HasName
        - !Ref Name
        - !Ref AWS::NoValue
        E: !Select
        - 0
        - !GetAZs ''
        F: !Base64
          Fn::Sub: ECS_CLUSTER=${Cluster}
        G: 3
        "#);
    }

    #[test]
    fn dates_are_quoted() {
        let mut t = Template::new("d");
        t.add(
            "P",
            iam::InstanceProfile {
                roles: vec!["2012-10-17".into(), "x 2012-10-17".into()],
            },
        );
        let yaml = t.to_yaml("");
        assert!(
            yaml.starts_with("AWSTemplateFormatVersion: '2010-09-09'\n"),
            "{yaml}"
        );
        assert!(yaml.contains("- '2012-10-17'\n"), "{yaml}");
        assert!(yaml.contains("- x 2012-10-17\n"), "{yaml}");
    }

    #[test]
    fn sub_references_skip_escapes() {
        assert_eq!(
            sub_references("${A}-${!Literal}-${B.Arn}${AWS::Region}"),
            ["A", "B.Arn", "AWS::Region"]
        );
    }

    #[test]
    fn dangling_references_are_reported() {
        let mut t = Template::new("t");
        t.add(
            "Profile",
            iam::InstanceProfile {
                roles: vec![Expr::r#ref("Missing")],
            },
        )
        .depends_on
        .push("Gone".into());
        t.output("X", "x", Expr::sub("${Profile.Arn}-${Nope}"));
        assert_eq!(
            t.check_references(),
            [
                "resource Profile: `Missing` is not a parameter or resource",
                "resource Profile: GetAtt on `Gone`, which is not a resource",
                "output X: `Nope` is not a parameter or resource",
            ]
        );
    }
}
