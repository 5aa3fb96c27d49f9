//! The proof of effect: the stack's Auto Scaling group's in-service instances have registered
//! with its cluster, each with a trunk interface, or with the reason it has none. `deploy` and
//! `roll` wait for it; the setting alone is only the means.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_autoscaling::types::LifecycleState;
use serde::Serialize;

use crate::aws::Aws;
use crate::container_instances::{self, Context, Instance, Table};
use crate::ecs_services::{self, Service};
use crate::error::Error;
use crate::progress::Progress;
use crate::render::CUSTOM_RESOURCE;
use crate::stack;

/// How long `deploy` and `roll` wait for instances to register by default: instances boot and
/// start their agent in one to three minutes on AWS.
pub const DEFAULT_WAIT_SECONDS: u64 = 600;

/// The stack's cluster and Auto Scaling group, from its outputs; `None` for a stack without
/// them (`eni-trunking.yaml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fleet {
    pub cluster: String,
    pub auto_scaling_group: String,
}

impl Fleet {
    pub fn of(outputs: &BTreeMap<String, String>) -> Option<Fleet> {
        Some(Fleet {
            cluster: outputs.get("ClusterName")?.clone(),
            auto_scaling_group: outputs.get("AutoScalingGroupName")?.clone(),
        })
    }
}

/// The group's in-service instances as container instances, and the cluster's services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proof {
    pub fleet: Fleet,
    pub container_instances: Vec<Instance>,
    pub services: Vec<Service>,
}

impl Proof {
    pub fn untrunked(&self) -> usize {
        self.container_instances
            .iter()
            .filter(|i| i.trunk_id.is_none())
            .count()
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "container instances of {} in cluster {}:",
            self.fleet.auto_scaling_group, self.fleet.cluster
        )?;
        write!(f, "{}", Table(&self.container_instances))?;
        for s in &self.services {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// What trunks depend on besides the instances: the setting read as the role, and when the
/// custom resource last changed it.
pub async fn context(aws: &Aws, stack_name: &str, setting: &str) -> Result<Context, Error> {
    Ok(Context {
        setting: Some(setting.to_owned()),
        setting_changed_at: stack::resource_changed_at(&aws.cfn, stack_name, CUSTOM_RESOURCE)
            .await?,
        outside: None,
    })
}

/// Waits until every in-service instance of the group has registered (or failed to), for at
/// most `timeout`, and explains each instance without a trunk.
pub async fn wait(
    aws: &Aws,
    fleet: &Fleet,
    cx: &Context,
    timeout: Duration,
    progress: &mut Progress<'_>,
) -> Result<Proof, Error> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let (desired, in_service) = in_service(aws, &fleet.auto_scaling_group).await?;
        let registered: Vec<Instance> = container_instances::list(aws, &fleet.cluster)
            .await?
            .into_iter()
            .filter(|i| in_service.contains(&i.ec2_instance_id) && i.status != "REGISTERING")
            .collect();
        if in_service.len() >= desired && registered.len() == in_service.len() {
            progress.finish();
            return Ok(Proof {
                fleet: fleet.clone(),
                container_instances: registered
                    .into_iter()
                    .map(|mut i| {
                        i.why_no_trunk = container_instances::why_no_trunk(&i, cx);
                        i
                    })
                    .collect(),
                services: ecs_services::list(aws, &fleet.cluster).await?,
            });
        }
        if started.elapsed() >= timeout {
            progress.finish();
            return Err(Error::NotRegistered {
                cluster: fleet.cluster.clone(),
                group: fleet.auto_scaling_group.clone(),
                registered: registered.len(),
                expected: desired.max(in_service.len()),
                waited: started.elapsed().as_secs(),
            });
        }
        progress.status(&format!(
            "waiting for the instances of {} to register with {}: {} of {} registered",
            fleet.auto_scaling_group,
            fleet.cluster,
            registered.len(),
            desired.max(in_service.len())
        ));
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// The group's desired capacity and the ids of its in-service instances.
async fn in_service(aws: &Aws, group: &str) -> Result<(usize, Vec<String>), Error> {
    let resp = aws
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .map_err(|e| Error::aws(format!("describe Auto Scaling group {group}"), &e))?;
    let Some(g) = resp.auto_scaling_groups().first() else {
        return Err(Error::NoGroup(group.to_owned()));
    };
    let ids = g
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect();
    Ok((
        usize::try_from(g.desired_capacity().unwrap_or(0)).unwrap_or(0),
        ids,
    ))
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::types::{AutoScalingGroup, Instance as GroupInstance};
    use aws_sdk_ecs::operation::describe_container_instances::DescribeContainerInstancesOutput;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::list_container_instances::ListContainerInstancesOutput;
    use aws_sdk_ecs::operation::list_services::ListServicesOutput;
    use aws_sdk_ecs::types::{Attribute, ContainerInstance, Service as EcsService, ServiceEvent};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    fn fleet() -> Fleet {
        Fleet {
            cluster: "demo".into(),
            auto_scaling_group: "demo-asg".into(),
        }
    }

    fn group_in_service(ids: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups).then_output(move || {
            let mut g = AutoScalingGroup::builder()
                .auto_scaling_group_name("demo-asg")
                .desired_capacity(ids.len() as i32)
                .min_size(0)
                .max_size(2);
            for id in ids {
                g = g.instances(
                    GroupInstance::builder()
                        .instance_id(*id)
                        .lifecycle_state(LifecycleState::InService)
                        .build(),
                );
            }
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(g.build())
                .build()
        })
    }

    fn listed(arns: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_ecs::Client::list_container_instances).then_output(move || {
            ListContainerInstancesOutput::builder()
                .set_container_instance_arns(Some(arns.iter().map(|a| (*a).to_owned()).collect()))
                .build()
        })
    }

    fn described(trunk: Option<&'static str>) -> Rule {
        mock!(aws_sdk_ecs::Client::describe_container_instances).then_output(move || {
            let mut ci = ContainerInstance::builder()
                .ec2_instance_id("i-1")
                .status("ACTIVE")
                .running_tasks_count(2)
                .registered_at(aws_smithy_types::DateTime::from_secs(100))
                .attributes(
                    Attribute::builder()
                        .name("ecs.instance-type")
                        .value("m5.large")
                        .build()
                        .unwrap(),
                );
            if let Some(t) = trunk {
                ci = ci.attributes(Attribute::builder().name(TRUNK).value(t).build().unwrap());
            }
            DescribeContainerInstancesOutput::builder()
                .container_instances(ci.build())
                .build()
        })
    }

    const TRUNK: &str = crate::container_instances::TRUNK_ATTRIBUTE;
    const ENI_EVENT: &str = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 1) encountered error \"RESOURCE:ENI\". For more information, see the Troubleshooting section.";

    fn services(pending: i32) -> [Rule; 2] {
        [
            mock!(aws_sdk_ecs::Client::list_services).then_output(|| {
                ListServicesOutput::builder()
                    .service_arns("arn:web")
                    .build()
            }),
            mock!(aws_sdk_ecs::Client::describe_services).then_output(move || {
                DescribeServicesOutput::builder()
                    .services(
                        EcsService::builder()
                            .service_name("web")
                            .desired_count(8)
                            .running_count(8 - pending)
                            .pending_count(pending)
                            .events(ServiceEvent::builder().message(ENI_EVENT).build())
                            .build(),
                    )
                    .build()
            }),
        ]
    }

    async fn aws(asg: &[&Rule], ecs: &[&Rule]) -> Aws {
        let mut aws = Aws::for_tests().await;
        aws.autoscaling = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, asg);
        aws.ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, ecs);
        aws
    }

    fn cx() -> Context {
        Context {
            setting: Some("enabled".into()),
            setting_changed_at: Some(200),
            outside: None,
        }
    }

    #[tokio::test]
    async fn waits_until_the_groups_instances_have_registered() {
        let (g1, g2) = (group_in_service(&["i-1"]), group_in_service(&["i-1"]));
        let (none, one, desc) = (
            listed(&[]),
            listed(&["arn:ci-1"]),
            described(Some("eni-trunk")),
        );
        let [ls, ds] = services(0);
        let aws = aws(&[&g1, &g2], &[&none, &one, &desc, &ls, &ds]).await;
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        let proof = wait(&aws, &fleet(), &cx(), Duration::from_secs(10), &mut p)
            .await
            .unwrap();
        assert_eq!(proof.untrunked(), 0);
        assert_eq!(
            proof.container_instances[0].trunk_id.as_deref(),
            Some("eni-trunk")
        );
        assert_eq!(proof.container_instances[0].task_limit, Some(10));
        assert_eq!((g2.num_calls(), desc.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_instance_registered_before_the_setting_is_explained_with_the_services_pending_tasks()
     {
        let g = group_in_service(&["i-1"]);
        let (one, desc) = (listed(&["arn:ci-1"]), described(None));
        let [ls, ds] = services(6);
        let aws = aws(&[&g], &[&one, &desc, &ls, &ds]).await;
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        let proof = wait(&aws, &fleet(), &cx(), Duration::from_secs(10), &mut p)
            .await
            .unwrap();
        assert_eq!(proof.untrunked(), 1);
        let i = &proof.container_instances[0];
        assert_eq!(
            (i.task_limit, i.task_limit_without_trunking),
            (Some(2), Some(2))
        );
        assert!(
            i.why_no_trunk
                .as_deref()
                .unwrap()
                .contains("registered 100s before awsvpcTrunking"),
            "{i:?}"
        );
        assert!(proof.services[0].waits_for_interfaces());
        insta::assert_snapshot!(proof.to_string(), @r#"
        container instances of demo-asg in cluster demo:
          i-1  m5.large  ACTIVE  2/2 tasks (without trunking 2)  no trunk: registered 100s before awsvpcTrunking was turned on for its role: only instances launched after get a trunk; `enitrunk roll` replaces it
        service web: 8 desired, 2 running, 6 pending; last placement failure: (service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 1) encountered error "RESOURCE:ENI". For more information, see the Troubleshooting section.
        "#);
    }

    #[tokio::test]
    async fn instances_that_never_register_time_out_saying_what_to_check() {
        let g =
            mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups).then_output(|| {
                DescribeAutoScalingGroupsOutput::builder()
                    .auto_scaling_groups(
                        AutoScalingGroup::builder()
                            .auto_scaling_group_name("demo-asg")
                            .desired_capacity(1)
                            .min_size(0)
                            .max_size(2)
                            .build(),
                    )
                    .build()
            });
        let none = mock!(aws_sdk_ecs::Client::list_container_instances)
            .then_output(|| ListContainerInstancesOutput::builder().build());
        let mut aws = Aws::for_tests().await;
        aws.autoscaling = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&g]);
        aws.ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&none]);
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        let e = wait(&aws, &fleet(), &cx(), Duration::from_millis(600), &mut p)
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string().contains(
                "0 of 1 instances of Auto Scaling group demo-asg have registered with cluster demo"
            ),
            "{e}"
        );
    }
}
