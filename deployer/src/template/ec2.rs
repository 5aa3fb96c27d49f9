//! EC2 networking for the demo VPC, security groups, and `AWS::EC2::LaunchTemplate`.

use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: Expr,
}

/// `Name` tag, shown in the EC2 console.
pub fn name_tag(suffix: &str) -> Vec<Tag> {
    vec![Tag {
        key: "Name".into(),
        value: Expr::sub(format!("${{AWS::StackName}}-{suffix}")),
    }]
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpc {
    pub cidr_block: String,
    pub enable_dns_hostnames: bool,
    pub enable_dns_support: bool,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InternetGateway {
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcGatewayAttachment {
    pub vpc_id: Expr,
    pub internet_gateway_id: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subnet {
    pub vpc_id: Expr,
    pub cidr_block: String,
    pub availability_zone: Expr,
    pub map_public_ip_on_launch: bool,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteTable {
    pub vpc_id: Expr,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    pub route_table_id: Expr,
    pub destination_cidr_block: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubnetRouteTableAssociation {
    pub subnet_id: Expr,
    pub route_table_id: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Eip {
    pub domain: &'static str,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NatGateway {
    pub allocation_id: Expr,
    pub subnet_id: Expr,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    pub group_description: String,
    pub vpc_id: Expr,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_ingress: Vec<Ingress>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ingress {
    pub description: String,
    pub ip_protocol: &'static str,
    pub from_port: u16,
    pub to_port: u16,
    pub cidr_ip: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplate {
    pub launch_template_data: LaunchTemplateData,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateData {
    pub image_id: Expr,
    /// Only with a single instance type; several go in the Auto Scaling group's overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    pub iam_instance_profile: IamInstanceProfile,
    pub security_group_ids: Vec<Expr>,
    pub metadata_options: MetadataOptions,
    pub private_dns_name_options: PrivateDnsNameOptions,
    pub user_data: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IamInstanceProfile {
    pub arn: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetadataOptions {
    pub http_endpoint: &'static str,
    pub http_tokens: &'static str,
    /// 2 lets containers in bridge mode reach IMDSv2; awsvpc tasks cannot reach it anyway.
    pub http_put_response_hop_limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateDnsNameOptions {
    #[serde(rename = "EnableResourceNameDnsARecord")]
    pub enable_resource_name_dns_a_record: bool,
}
