"""Service providers LocalStack community lacks, backed by moto (`localstack.aws.provider`).

- `ecs`: the `ecs:enitrunk` provider (`PROVIDER_OVERRIDE_ECS=enitrunk`): ECS account settings per
  calling principal; capacity providers, container instances and tasks from the mixins below;
  moto for the rest.
- `ecs_iam`: an ECS action authorized by the caller's identity-based policies, and the principal
  it acts as.
- `ecs_container_instances`: `RegisterContainerInstance` (with the trunk interface),
  `DeregisterContainerInstance`, `ListContainerInstances`, `DescribeContainerInstances`,
  `ListAttributes`, `UpdateContainerInstancesState`; an EC2 instance's termination deregisters it.
- `ecs_tasks`: `RunTask`, `StopTask`, `ListTasks`, `DescribeTasks`, `DeleteService`, and
  `DescribeServices`/`DescribeClusters` read under the scheduler's lock.
- `ecs_scheduler`: task placement (CPU, memory, interfaces) over moto's records, task interfaces,
  service events, the periodic placement pass.
- `ecs_agent`: the ECS container agent on launched instances: it registers them with the cluster
  their user data names, signed as their instance profile's role.
- `ecs_placement`, `trunking`, `container_agent`, `instance_types` (no LocalStack imports; unit
  tested directly): where a task fits and ECS's words when it does not; when an instance gets a
  trunk; what the agent reads and reports; the deployer's instance-type table.
- `ec2_facts`: an EC2 instance's launch template, instance profile role, DNS options, group.
- `clock`: one background thread for delayed and periodic work.
- `account_settings`: ECS account settings per principal with the API's resolution rules (no
  LocalStack imports; unit tested directly).
- `ecs_capacity`: `CreateCapacityProvider`, `CreateService`, `UpdateService` as ECS treats
  capacity providers and strategies.
- `ecs_errors`: ECS error responses (`InvalidParameterException`, `ClientException`,
  `AccessDeniedException`).
- `autoscaling`: the `autoscaling:enitrunk` provider (`PROVIDER_OVERRIDE_AUTOSCALING=enitrunk`):
  moto's, with instance refreshes from `autoscaling_refresh`.
- `autoscaling_refresh`: `StartInstanceRefresh`, `DescribeInstanceRefreshes`,
  `CancelInstanceRefresh`, `RollbackInstanceRefresh` on moto's groups, and ECS managed draining
  of the instances a refresh terminates.
- `instance_refresh`: instance refreshes as the Auto Scaling API documents them (no LocalStack
  imports; unit tested directly).
- `s3_expected_owner`: `ExpectedBucketOwner` checked on every S3 operation (a gateway handler).
- `lambda_code`: `CreateFunction`/`UpdateFunctionCode` take an S3 package only from the function's
  Region and only if the caller may read it (bucket policy, identity-based policies; a gateway
  handler).
- `dispatch`: a provider's own handlers, then moto for every other operation.
"""
