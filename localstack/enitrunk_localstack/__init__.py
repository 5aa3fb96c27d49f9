"""enitrunk's LocalStack extension: what LocalStack community lacks for enitrunk's end-to-end path.

- `services`: the `ecs:enitrunk` and `autoscaling:enitrunk` service providers (moto-backed; ECS
  account settings kept per principal in `account_settings`).
- `lambda_executor` + `runtime_api`: the `enitrunk-host` Lambda executor, running `provided.*`
  functions' `bootstrap` as host processes behind a Lambda Runtime API server of its own.
- `custom_resource` + `cfn_engine_patch`: the CloudFormation custom-resource protocol.
- `cfn_ecs`, `cfn_autoscaling`, `cfn_ec2`: CloudFormation resource providers backed by moto.
- `ecs_capacity`: capacity providers and capacity provider strategies as ECS keeps them.
- `moto_fixes`: fixes to moto bugs on enitrunk's path, applied at LocalStack start.
"""
