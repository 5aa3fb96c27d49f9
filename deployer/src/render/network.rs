//! The network of `ecs-cluster.yaml`: the demo VPC (two public and two private subnets, an
//! internet gateway, a NAT gateway) or the existing VPC and subnets the config names.

use crate::config::{Network, Spec};
use crate::template::ec2::{self, name_tag};
use crate::template::{Expr, Template};

/// The VPC id and the subnets for instances and tasks.
pub fn add(t: &mut Template, spec: &Spec) -> (Expr, Vec<Expr>) {
    if let Network::Existing { vpc_id, subnet_ids } = &spec.network {
        return (
            Expr::Str(vpc_id.clone()),
            subnet_ids.iter().map(|s| Expr::Str(s.clone())).collect(),
        );
    }
    let vpc = Expr::r#ref("Vpc");
    vpc_and_routes(t, &vpc);
    let private = subnets(t, &vpc);
    nat_gateway(t);
    t.output("VpcId", "The demo VPC", vpc.clone());
    t.output(
        "PrivateSubnetIds",
        "Private subnets of the demo VPC (instances and tasks)",
        Expr::join(",", private.clone()),
    );
    (vpc, private)
}

/// The VPC, its internet gateway, and the public and private route tables.
fn vpc_and_routes(t: &mut Template, vpc: &Expr) {
    t.add(
        "Vpc",
        ec2::Vpc {
            cidr_block: "10.0.0.0/16".into(),
            enable_dns_hostnames: true,
            enable_dns_support: true,
            tags: name_tag("vpc"),
        },
    );
    t.add(
        "InternetGateway",
        ec2::InternetGateway {
            tags: name_tag("igw"),
        },
    );
    t.add(
        "InternetGatewayAttachment",
        ec2::VpcGatewayAttachment {
            vpc_id: vpc.clone(),
            internet_gateway_id: Expr::r#ref("InternetGateway"),
        },
    );
    t.add(
        "PublicRouteTable",
        ec2::RouteTable {
            vpc_id: vpc.clone(),
            tags: name_tag("public"),
        },
    );
    t.add(
        "PublicRoute",
        ec2::Route {
            route_table_id: Expr::r#ref("PublicRouteTable"),
            destination_cidr_block: "0.0.0.0/0",
            gateway_id: Some(Expr::r#ref("InternetGateway")),
            nat_gateway_id: None,
        },
    )
    .depends_on
    .push("InternetGatewayAttachment".into());
    t.add(
        "PrivateRouteTable",
        ec2::RouteTable {
            vpc_id: vpc.clone(),
            tags: name_tag("private"),
        },
    );
}

/// A public and a private subnet in each of two zones; returns the private ones.
fn subnets(t: &mut Template, vpc: &Expr) -> Vec<Expr> {
    let mut private = Vec::new();
    for (i, az) in [(1u32, 0u32), (2, 1)] {
        for (kind, public) in [("Public", true), ("Private", false)] {
            let id = format!("{kind}Subnet{i}");
            let third = if public { i - 1 } else { 10 + i - 1 };
            t.add(
                &id,
                ec2::Subnet {
                    vpc_id: vpc.clone(),
                    cidr_block: format!("10.0.{third}.0/24"),
                    availability_zone: Expr::select(az, Expr::GetAzs(String::new())),
                    map_public_ip_on_launch: public,
                    tags: name_tag(&format!("{}-{i}", kind.to_lowercase())),
                },
            );
            t.add(
                &format!("{id}RouteTableAssociation"),
                ec2::SubnetRouteTableAssociation {
                    subnet_id: Expr::r#ref(&id),
                    route_table_id: Expr::r#ref(format!("{kind}RouteTable")),
                },
            );
            if !public {
                private.push(Expr::r#ref(id));
            }
        }
    }
    private
}

/// The NAT gateway the private subnets reach the internet through (image pulls, ECS).
fn nat_gateway(t: &mut Template) {
    t.add(
        "NatGatewayEip",
        ec2::Eip {
            domain: "vpc",
            tags: name_tag("nat"),
        },
    )
    .depends_on
    .push("InternetGatewayAttachment".into());
    t.add(
        "NatGateway",
        ec2::NatGateway {
            allocation_id: Expr::get_att("NatGatewayEip", "AllocationId"),
            subnet_id: Expr::r#ref("PublicSubnet1"),
            tags: name_tag("nat"),
        },
    );
    t.add(
        "PrivateRoute",
        ec2::Route {
            route_table_id: Expr::r#ref("PrivateRouteTable"),
            destination_cidr_block: "0.0.0.0/0",
            gateway_id: None,
            nat_gateway_id: Some(Expr::r#ref("NatGateway")),
        },
    );
}
