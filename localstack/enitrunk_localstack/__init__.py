"""enitrunk's LocalStack extension: what LocalStack community lacks for enitrunk's end-to-end path.

Every module, by subpackage (each subpackage's docstring says more):
- `services`: service providers (moto-backed).
  - `services.ecs`: the `ecs:enitrunk` provider, ECS account settings per calling principal.
  - `services.account_settings`: account settings and their resolution rules, pure logic.
  - `services.ecs_iam`: ECS actions authorized by the caller's policies, and the principal they act as.
  - `services.ecs_capacity`: capacity providers and strategies as ECS keeps them (handlers mixed
    into the ECS provider).
  - `services.ecs_container_instances`: container instances: registration, trunk interfaces,
    deregistration (handlers mixed into the ECS provider).
  - `services.ecs_tasks`: tasks and services as the scheduler runs them (handlers mixed into the
    ECS provider).
  - `services.ecs_scheduler`: task placement over moto's records, and the service events.
  - `services.ecs_agent`: the ECS container agent on launched instances (installed at start).
  - `services.ecs_placement`, `services.trunking`, `services.container_agent`,
    `services.instance_types`: pure logic: where a task fits and ECS's words when it does not;
    when an instance gets a trunk; what the agent reads and reports; the deployer's instance-type
    table and its task limits.
  - `services.ec2_facts`: what the agent and ECS read from moto's EC2 instances.
  - `services.clock`: the background thread that runs delayed and periodic work.
  - `services.ecs_errors`: the ECS API errors those handlers raise.
  - `services.autoscaling`: the `autoscaling:enitrunk` provider.
  - `services.autoscaling_refresh`: instance refreshes on moto's groups, with ECS managed draining.
  - `services.instance_refresh`: instance refreshes, pure logic.
  - `services.dispatch`: the dispatch table that sends every other operation to moto.
- `lambda_host`: the `enitrunk-host` Lambda executor.
  - `lambda_host.executor`: `provided.*` functions' `bootstrap`, and Node.js and Python
    functions' runtimes, as host processes.
  - `lambda_host.runtimes`: the Node.js and Python runtimes: interpreters, handler loops
    (`lambda_host/nodejs/runtime.js` for Node.js), environment.
  - `lambda_host.runtime_api`: the Lambda Runtime API server each process talks to.
  - `lambda_host.log_group`: logs delivered to the function's `LoggingConfig.LogGroup`.
- `cloudformation`: CloudFormation support.
  - `cloudformation.custom_resource`: the custom-resource protocol (`Custom::*`).
  - `cloudformation.engine_patches`: fixes to the engine (replacement Delete, delete after a
    failed create).
  - `cloudformation.inline_code`: `Code.ZipFile` packed as CloudFormation packs it, with the
    response modules of `cloudformation/cfn_response/`.
  - `cloudformation.response_bucket`: S3 checks the signature and expiry of `ResponseURL`s.
  - `cloudformation.rollback`: the rollback of a failed create or update, and what a stack
    allows after.
  - `cloudformation.ecs`, `cloudformation.ec2`, `cloudformation.autoscaling`: resource providers
    backed by moto, one module per service.
  - `cloudformation.common`: helpers the providers share.
- `stacksets`: CloudFormation StackSets (installed with `cloudformation.engine_patches`).
  - `stacksets.api`: the StackSets operations on LocalStack's CloudFormation provider, each
    operation on a background thread.
  - `stacksets.plan`: an operation's order, concurrency and failure tolerance, pure logic.
  - `stacksets.deploy`: one stack instance's stack, as its account, through the roles.
  - `stacksets.organizations`: Organizations from moto's backend; auto-deployment on `MoveAccount`.
- `auth`: AWS's authentication and authorization for the calls enitrunk makes.
  - `auth.policy`: IAM policy evaluation, pure logic.
  - `auth.identity`: the caller behind a request's access key, and its identity-based policies.
  - `auth.authorize`: actions allowed or refused by the caller's identity-based policies.
  - `auth.assume_role`: the trust and permission checks of `sts:AssumeRole`.
  - `auth.gateway`: the request handler refusing unknown credentials and checking `AssumeRole`.
- `patches`: fixes to moto bugs on enitrunk's path, applied at LocalStack start.
  - `patches.moto_ec2`: `UserData` of `CreateLaunchTemplateVersion`.
  - `patches.moto_ssm`: the public ECS-optimized AMI parameters' documents as strings.
  - `patches.moto_autoscaling`: `HealthCheckGracePeriod`'s default; the launch template version
    each instance was launched from.

Entry points (`localstack/pyproject.toml`) register them with LocalStack; nothing here is
imported at package import time, so the pure-logic modules load without LocalStack.
"""
