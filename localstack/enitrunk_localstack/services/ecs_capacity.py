"""ECS capacity providers the way ECS treats them, where moto 5.1.54 does not: handlers mixed into
the `ecs:enitrunk` provider (`services.ecs.EcsProvider`).

- `CreateCapacityProvider` accepts the Auto Scaling group's name or ARN in `autoScalingGroupArn`
  (CloudFormation templates pass `!Ref AutoScalingGroup`, a name) and keeps the group's ARN, as
  the field's name says; moto keeps whatever string it was given.
- `CreateService`/`UpdateService` with a `capacityProviderStrategy`: moto drops the strategy and
  reports `launchType: EC2`. ECS keeps the strategy (and no launch type), rejects a launch type
  given together with a strategy and providers not associated with the cluster, and uses the
  cluster's default strategy when neither is given
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html).
The strategy is stored on moto's service object, so `DescribeServices` reports it and it lives
and dies with the service. After each change the scheduler places the service's tasks
(`after_service_change`, `ecs_tasks`).
"""

from __future__ import annotations

from localstack.aws.api import RequestContext, handler
from localstack.services.moto import call_moto, call_moto_with_request

from enitrunk_localstack.services.ecs_errors import ClientException, InvalidParameterException
from enitrunk_localstack.services.ecs_scheduler import LOCK


def _ecs_backend(context: RequestContext):
    from moto.ecs.models import ecs_backends

    return ecs_backends[context.account_id][context.region]


def _short(name_or_arn: str) -> str:
    return name_or_arn.split("/")[-1]


def _cluster_name(cluster: str | None) -> str:
    return _short(cluster or "default")


def _cluster(context: RequestContext, cluster: str | None):
    """moto's cluster, or None (moto then answers ClusterNotFoundException itself)."""
    return _ecs_backend(context).clusters.get(_cluster_name(cluster))


def normalized(strategy: list[dict]) -> list[dict]:
    """Strategy items as ECS reports them: `weight` and `base` default to 0."""
    return [{"capacityProvider": i["capacityProvider"], "weight": i.get("weight", 0), "base": i.get("base", 0)} for i in strategy]


def auto_scaling_group_arn(context: RequestContext, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    from moto.autoscaling.models import autoscaling_backends

    group = autoscaling_backends[context.account_id][context.region].autoscaling_groups.get(name_or_arn)
    if group is None:
        raise ClientException(
            f"The specified Auto Scaling group {name_or_arn} does not exist in {context.region}. "
            "Specify an existing Auto Scaling group name or ARN and try again."
        )
    return group.arn


class CapacityProviderHandlers:
    """`@handler`s for `EcsProvider`; every other ECS operation goes to moto unchanged."""

    @handler("CreateCapacityProvider", expand=False)
    def create_capacity_provider(self, context: RequestContext, request: dict) -> dict:
        provider = dict(request.get("autoScalingGroupProvider") or {})
        if provider.get("autoScalingGroupArn"):
            provider["autoScalingGroupArn"] = auto_scaling_group_arn(context, provider["autoScalingGroupArn"])
        return call_moto_with_request(context, {**request, "autoScalingGroupProvider": provider})

    @handler("CreateService", expand=False)
    def create_service(self, context: RequestContext, request: dict) -> dict:
        strategy = request.get("capacityProviderStrategy")
        cluster = _cluster(context, request.get("cluster"))
        if strategy and request.get("launchType"):
            raise InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
            )
        if not strategy and not request.get("launchType") and cluster is not None:
            strategy = cluster.default_capacity_provider_strategy or None
        return self._with_strategy(context, request, cluster, strategy)

    @handler("UpdateService", expand=False)
    def update_service(self, context: RequestContext, request: dict) -> dict:
        cluster = _cluster(context, request.get("cluster"))
        return self._with_strategy(context, request, cluster, request.get("capacityProviderStrategy"))

    def _with_strategy(self, context: RequestContext, request: dict, cluster, strategy: list[dict] | None) -> dict:
        """moto's answer to the request, with `strategy` checked first and then kept on the service;
        then the service's tasks placed (`after_service_change`) and its counts as they now are."""
        if strategy and cluster is not None:
            self._check_associated(cluster, strategy)
        with LOCK:
            response = call_moto(context)
            if strategy:
                response["service"] = self._use_strategy(context, request.get("cluster"), response["service"], strategy)
            if request.get("deploymentConfiguration"):
                self._keep_deployment_configuration(context, request, response["service"])
        self.after_service_change(context, request.get("cluster"))
        wire = response["service"]
        service = _ecs_backend(context).services.get(f"{_cluster_name(request.get('cluster'))}:{wire['serviceName']}")
        if service is not None:
            counts = {"runningCount": service.running_count, "pendingCount": service.pending_count}
            wire.update(counts)
            for deployment in wire.get("deployments") or []:
                deployment.update(counts)
        return response

    def after_service_change(self, context: RequestContext, cluster: str | None) -> None:
        """Overridden by the provider's scheduler (`ecs_tasks.TaskHandlers`)."""

    @staticmethod
    def _check_associated(cluster, strategy: list[dict]) -> None:
        associated = {_short(p) for p in cluster.capacity_providers or []}
        for item in strategy:
            if _short(item["capacityProvider"]) not in associated:
                raise InvalidParameterException(
                    "The specified capacity provider strategy cannot contain a capacity provider that is not "
                    "associated with the cluster. Associate the capacity provider with the cluster or specify "
                    "a valid capacity provider and try again."
                )

    @staticmethod
    def _keep_deployment_configuration(context: RequestContext, request: dict, wire: dict) -> None:
        """Keep what moto drops: the percentages draining replaces tasks within (`ecs_scheduler`)."""
        service = _ecs_backend(context).services[f"{_cluster_name(request.get('cluster'))}:{wire['serviceName']}"]
        kept = dict(getattr(service, "deployment_configuration", None) or {})
        kept.update(request["deploymentConfiguration"])
        service.deployment_configuration = kept
        wire["deploymentConfiguration"] = kept

    @staticmethod
    def _use_strategy(context: RequestContext, cluster: str | None, wire: dict, strategy: list[dict]) -> dict:
        """Put the strategy on moto's service (and its deployments) in place of the launch type."""
        strategy = normalized(strategy)
        service = _ecs_backend(context).services[f"{_cluster_name(cluster)}:{wire['serviceName']}"]
        service.capacity_provider_strategy = strategy
        service.launch_type = None
        for deployment in service.deployments:
            deployment["launchType"] = None
            deployment["capacityProviderStrategy"] = strategy
        wire = {k: v for k, v in wire.items() if k != "launchType"}
        wire["capacityProviderStrategy"] = strategy
        wire["deployments"] = [
            {**{k: v for k, v in d.items() if k != "launchType"}, "capacityProviderStrategy": strategy}
            for d in wire.get("deployments") or []
        ]
        return wire
