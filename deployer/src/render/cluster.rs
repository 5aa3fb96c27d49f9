//! The cluster part of `ecs-cluster.yaml`: security groups, the ECS cluster, the launch
//! template and Auto Scaling group of its container instances, the capacity provider, and the
//! task definitions and services of the config's tasks.

use std::collections::BTreeSet;

use super::trunking::CUSTOM_RESOURCE;
use crate::config::{Network, Spec, Task};
use crate::template::autoscaling::{
    AutoScalingGroup, LaunchTemplateSpecification, MixedInstancesPolicy, MixedLaunchTemplate,
    Override, TagProperty,
};
use crate::template::ec2::{self, name_tag};
use crate::template::ecs;
use crate::template::{Expr, Template};

pub fn add(t: &mut Template, spec: &Spec, vpc: Expr, subnets: Vec<Expr>) {
    security_groups(t, spec, vpc);
    t.add(
        "Cluster",
        ecs::Cluster {
            cluster_name: Expr::r#ref("AWS::StackName"),
            cluster_settings: vec![ecs::ClusterSetting {
                name: "containerInsights",
                value: "disabled",
            }],
        },
    );
    let single_type = launch_template(t, spec);
    auto_scaling_group(t, spec, single_type, &subnets);
    let strategy = capacity_provider(t);
    for task in &spec.tasks {
        task_and_service(t, task, &strategy, &subnets);
    }
    outputs(t);
}

/// Instances accept nothing; tasks accept their container ports from the demo VPC.
fn security_groups(t: &mut Template, spec: &Spec, vpc: Expr) {
    let ports: BTreeSet<u16> = spec
        .tasks
        .iter()
        .flat_map(|task| task.containers.iter().flat_map(|c| c.ports.iter().copied()))
        .collect();
    // Container ports are open to the demo VPC's own range. In an existing VPC the template
    // cannot know which sources should reach the tasks, so it opens nothing: add a rule for
    // your load balancer's security group.
    let ingress_from = match &spec.network {
        Network::Demo => Some(Expr::get_att("Vpc", "CidrBlock")),
        Network::Existing { .. } => None,
    };
    t.add(
        "InstanceSecurityGroup",
        ec2::SecurityGroup {
            group_description:
                "ECS container instances: no inbound traffic (tasks have their own interfaces)"
                    .into(),
            vpc_id: vpc.clone(),
            security_group_ingress: Vec::new(),
            tags: name_tag("instances"),
        },
    );
    t.add(
        "TaskSecurityGroup",
        ec2::SecurityGroup {
            group_description: match ingress_from {
                Some(_) => "awsvpc tasks: their container ports, from inside the VPC".into(),
                None => {
                    "awsvpc tasks: add inbound rules for the sources that should reach them".into()
                }
            },
            vpc_id: vpc,
            security_group_ingress: ingress_from
                .map(|cidr| {
                    ports
                        .iter()
                        .map(|&p| ec2::Ingress {
                            description: format!("container port {p}"),
                            ip_protocol: "tcp",
                            from_port: p,
                            to_port: p,
                            cidr_ip: cidr.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            tags: name_tag("tasks"),
        },
    );
}

/// The launch template; returns the instance type when there is only one (it goes into the
/// template; several go into the group's mixed instances policy).
fn launch_template(t: &mut Template, spec: &Spec) -> Option<String> {
    let single_type = match spec.cluster.instance_types.as_slice() {
        [only] => Some(only.name.clone()),
        _ => None,
    };
    t.add(
        "LaunchTemplate",
        ec2::LaunchTemplate {
            launch_template_data: ec2::LaunchTemplateData {
                image_id: Expr::r#ref("ImageId"),
                instance_type: single_type.clone(),
                iam_instance_profile: ec2::IamInstanceProfile {
                    arn: Expr::get_att("InstanceProfile", "Arn"),
                },
                security_group_ids: vec![Expr::r#ref("InstanceSecurityGroup")],
                metadata_options: ec2::MetadataOptions {
                    http_endpoint: "enabled",
                    http_tokens: "required",
                    // Tasks in awsvpc mode are a hop away: they cannot reach the instance's
                    // credentials (the ECS security best practices).
                    http_put_response_hop_limit: 1,
                },
                // A documented trunking prerequisite: resource-name DNS A records off.
                private_dns_name_options: ec2::PrivateDnsNameOptions {
                    enable_resource_name_dns_a_record: false,
                },
                // ECS_AWSVPC_BLOCK_IMDS keeps awsvpc tasks off the instance metadata service.
                user_data: Expr::base64_sub(
                    "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\necho ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n",
                ),
            },
        },
    );
    single_type
}

fn auto_scaling_group(
    t: &mut Template,
    spec: &Spec,
    single_type: Option<String>,
    subnets: &[Expr],
) {
    let template_spec = LaunchTemplateSpecification {
        launch_template_id: Expr::r#ref("LaunchTemplate"),
        version: Expr::get_att("LaunchTemplate", "LatestVersionNumber"),
    };
    let (launch_template, mixed_instances_policy) = match single_type {
        Some(_) => (Some(template_spec), None),
        None => (
            None,
            Some(MixedInstancesPolicy {
                launch_template: MixedLaunchTemplate {
                    launch_template_specification: template_spec,
                    overrides: spec
                        .cluster
                        .instance_types
                        .iter()
                        .map(|t| Override {
                            instance_type: t.name.clone(),
                        })
                        .collect(),
                },
            }),
        ),
    };
    let asg = t.add(
        "AutoScalingGroup",
        AutoScalingGroup {
            min_size: spec.cluster.min_size.to_string(),
            max_size: spec.cluster.max_size.to_string(),
            // No DesiredCapacity: the capacity provider's managed scaling sets it, and a value
            // here would reset the group's size on every stack update (aws/aws-cdk#5215).
            vpc_zone_identifier: subnets.to_vec(),
            launch_template,
            mixed_instances_policy,
            tags: vec![TagProperty {
                key: "Name".into(),
                value: Expr::sub("${AWS::StackName}-ecs"),
                propagate_at_launch: true,
            }],
        },
    );
    // Instances launched before awsvpcTrunking is effective for their role never get a trunk.
    asg.depends_on.push(CUSTOM_RESOURCE.into());
    // In the demo VPC, instances in the private subnets reach ECS through the NAT route: without
    // it their agent cannot register, and the stack's deletion would remove it first.
    if spec.network == Network::Demo {
        asg.depends_on.push("PrivateRoute".into());
    }
}

/// The capacity provider of the group, associated with the cluster as its default; returns the
/// strategy services use.
fn capacity_provider(t: &mut Template) -> Vec<ecs::CapacityProviderStrategyItem> {
    t.add(
        "CapacityProvider",
        ecs::CapacityProvider {
            auto_scaling_group_provider: ecs::AutoScalingGroupProvider {
                auto_scaling_group_arn: Expr::r#ref("AutoScalingGroup"),
                managed_scaling: ecs::ManagedScaling {
                    status: "ENABLED",
                    target_capacity: 100,
                },
                managed_termination_protection: "DISABLED",
            },
        },
    );
    let strategy = vec![ecs::CapacityProviderStrategyItem {
        capacity_provider: Expr::r#ref("CapacityProvider"),
        weight: 1,
    }];
    t.add(
        "ClusterCapacityProviderAssociations",
        ecs::ClusterCapacityProviderAssociations {
            cluster: Expr::r#ref("Cluster"),
            capacity_providers: vec![Expr::r#ref("CapacityProvider")],
            default_capacity_provider_strategy: strategy.clone(),
        },
    );
    strategy
}

fn task_and_service(
    t: &mut Template,
    task: &Task,
    strategy: &[ecs::CapacityProviderStrategyItem],
    subnets: &[Expr],
) {
    let td = format!("{}TaskDefinition", task.logical_name);
    t.add(
        &td,
        ecs::TaskDefinition {
            family: task.family.clone(),
            cpu: task.cpu.to_string(),
            memory: task.memory.to_string(),
            network_mode: "awsvpc",
            requires_compatibilities: vec!["EC2"],
            container_definitions: task
                .containers
                .iter()
                .map(|c| ecs::ContainerDefinition {
                    name: c.name.clone(),
                    image: c.image.clone(),
                    essential: true,
                    port_mappings: c
                        .ports
                        .iter()
                        .map(|&p| ecs::PortMapping {
                            container_port: p,
                            protocol: "tcp",
                        })
                        .collect(),
                })
                .collect(),
        },
    );
    t.output(
        &td,
        &format!("Task definition of family {}", task.family),
        Expr::r#ref(&td),
    );
    if let Some(service) = &task.service {
        let id = format!("{}Service", task.logical_name);
        t.add(
            &id,
            ecs::Service {
                cluster: Expr::r#ref("Cluster"),
                task_definition: Expr::r#ref(&td),
                desired_count: service.desired_count,
                capacity_provider_strategy: strategy.to_vec(),
                network_configuration: ecs::NetworkConfiguration {
                    awsvpc_configuration: ecs::AwsvpcConfiguration {
                        assign_public_ip: "DISABLED",
                        security_groups: vec![Expr::r#ref("TaskSecurityGroup")],
                        subnets: subnets.to_vec(),
                    },
                },
            },
        )
        // A capacity provider strategy needs the provider associated with the cluster first.
        .depends_on
        .push("ClusterCapacityProviderAssociations".into());
        t.output(
            &format!("{id}Name"),
            &format!("Service running {}", task.family),
            Expr::get_att(&id, "Name"),
        );
    }
}

fn outputs(t: &mut Template) {
    for (name, description, value) in [
        ("ClusterName", "The ECS cluster", Expr::r#ref("Cluster")),
        (
            "ClusterArn",
            "ARN of the ECS cluster",
            Expr::get_att("Cluster", "Arn"),
        ),
        (
            "CapacityProviderName",
            "Capacity provider of the Auto Scaling group",
            Expr::r#ref("CapacityProvider"),
        ),
        (
            "AutoScalingGroupName",
            "Auto Scaling group of the container instances",
            Expr::r#ref("AutoScalingGroup"),
        ),
        (
            "LaunchTemplateId",
            "Launch template of the container instances",
            Expr::r#ref("LaunchTemplate"),
        ),
    ] {
        t.output(name, description, value);
    }
}
