"""Service providers LocalStack community lacks, backed by moto (`localstack.aws.provider`).

- `ecs`: the `ecs:enitrunk` provider (`PROVIDER_OVERRIDE_ECS=enitrunk`): ECS account settings per
  calling principal, capacity providers from `ecs_capacity`, moto for the rest.
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
- `dispatch`: a provider's own handlers, then moto for every other operation.
"""
