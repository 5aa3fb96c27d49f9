"""Tasks and services as the ECS scheduler runs them (`ecs_scheduler`): handlers mixed into the
`ecs:enitrunk` provider.

- `RunTask` (EC2 launch type, or a capacity provider strategy, given or the cluster's default)
  places up to `count` tasks as the service scheduler does; the rest come back in `failures` with
  the closest matching instance's ARN and the reason (`RESOURCE:CPU`, `RESOURCE:MEMORY`,
  `RESOURCE:ENI`, `ATTRIBUTE`, api_failures_messages.md). A cluster without container instances
  is refused with `InvalidParameterException` "No Container Instances were found in your cluster."
  (as ECS answers it: jenkinsci/amazon-ecs-plugin#217). Fargate tasks stay moto's.
- `StopTask` stops the record (`stopCode` `UserInitiated`) and the service places a replacement.
- `ListTasks` filters as the API reference says, `desiredStatus` `RUNNING` by default ("The default
  status filter is RUNNING"), and by `serviceName`; `DescribeTasks` answers `MISSING` failures.
- A service's tasks follow its changes: `CreateService`/`UpdateService` (through
  `ecs_capacity`'s `after_service_change`) and `DeleteService` run a placement pass; a deleted
  service's tasks are stopped.
"""

from __future__ import annotations

from localstack.aws.api import RequestContext, handler
from localstack.services.moto import call_moto

from enitrunk_localstack.services import ecs_placement, ecs_scheduler
from enitrunk_localstack.services.ecs_container_instances import page
from enitrunk_localstack.services.ecs_errors import ClientException, InvalidParameterException, moto_errors
from enitrunk_localstack.services.ecs_scheduler import LOCK, RUNNING, STOPPED, short

NO_INSTANCES = "No Container Instances were found in your cluster."


def task_wire(task, include_tags: bool = False) -> dict:
    """A task as the ECS API returns it."""
    stopped = task.desired_status == STOPPED
    attachment = (task.attachments or [{}])[0]
    details = {d["name"]: d["value"] for d in attachment.get("details", [])}
    # arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASK/ID (moto names it after the task definition).
    container_arn = task.task_arn.replace(":task/", ":container/", 1)
    containers = [
        {
            "containerArn": f"{container_arn}/{short(c.container_arn)}",
            "taskArn": task.task_arn,
            "name": c.name,
            "image": c.image,
            "lastStatus": STOPPED if stopped else RUNNING,
            "networkInterfaces": [{"attachmentId": attachment["id"], "privateIpv4Address": details.get("privateIPv4Address")}]
            if attachment
            else [],
            "healthStatus": "UNKNOWN",
        }
        for c in task.containers
    ]
    out = {
        "taskArn": task.task_arn,
        "clusterArn": task.cluster_arn,
        "taskDefinitionArn": task.task_definition_arn,
        "containerInstanceArn": task.container_instance_arn,
        "capacityProviderName": getattr(task, "capacity_provider_name", None),
        "launchType": task.launch_type or None,
        "lastStatus": task.last_status,
        "desiredStatus": task.desired_status,
        "cpu": getattr(task, "cpu", None),
        "memory": getattr(task, "memory", None),
        "availabilityZone": getattr(task, "availability_zone", None),
        "group": task.group,
        "startedBy": task.started_by or None,
        "attachments": task.attachments,
        "containers": containers,
        "overrides": task.overrides or {"containerOverrides": []},
        "connectivity": "CONNECTED",
        "connectivityAt": getattr(task, "started_at", None),
        "createdAt": getattr(task, "created_at", None),
        "pullStartedAt": getattr(task, "started_at", None),
        "pullStoppedAt": getattr(task, "started_at", None),
        "startedAt": getattr(task, "started_at", None),
        "stoppingAt": getattr(task, "stopping_at", None),
        "stoppedAt": getattr(task, "stopped_at", None),
        "executionStoppedAt": getattr(task, "stopped_at", None),
        "stoppedReason": task.stopped_reason or None,
        "stopCode": getattr(task, "stop_code", None),
        "version": getattr(task, "version", 1),
        "enableExecuteCommand": False,
        "healthStatus": "UNKNOWN",
    }
    if include_tags:
        out["tags"] = task.tags or []
    return {k: v for k, v in out.items() if v is not None}


def find_task(backend, cluster_name: str, ref: str):
    tasks = backend.tasks.get(cluster_name, {})
    return tasks.get(ref) or next((t for arn, t in tasks.items() if short(arn) == short(ref)), None)


class TaskHandlers:
    """`@handler`s for `EcsProvider`."""

    def after_service_change(self, context: RequestContext, cluster: str | None) -> None:
        """A service was created or updated: place (or stop) its tasks now."""
        ecs_scheduler.reconcile(context.account_id, context.region, short(cluster or "default"))

    # moto serializes services and clusters from the records the scheduler updates in the background.
    @handler("DescribeServices", expand=False)
    def describe_services(self, context: RequestContext, request: dict) -> dict:
        with LOCK:
            return call_moto(context)

    @handler("DescribeClusters", expand=False)
    def describe_clusters(self, context: RequestContext, request: dict) -> dict:
        with LOCK:
            return call_moto(context)

    @handler("DeleteService", expand=False)
    def delete_service(self, context: RequestContext, request: dict) -> dict:
        with LOCK:
            response = call_moto(context)
        ecs_scheduler.reconcile(context.account_id, context.region, short(request.get("cluster") or "default"))
        return response

    @handler("RunTask", expand=False)
    def run_task(self, context: RequestContext, request: dict) -> dict:
        if request.get("launchType") == "FARGATE":
            return call_moto(context)
        if request.get("launchType") and request.get("capacityProviderStrategy"):
            raise InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
            )
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        with LOCK, moto_errors():
            cluster = backend._get_cluster(request.get("cluster") or "default")
            task_definition = backend.describe_task_definition(request["taskDefinition"])
            network = request.get("networkConfiguration")
            if task_definition.network_mode == "awsvpc" and not network:
                raise InvalidParameterException("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
            strategy = request.get("capacityProviderStrategy")
            if not strategy and not request.get("launchType"):
                strategy = cluster.default_capacity_provider_strategy or None
            providers = {short(i["capacityProvider"]) for i in strategy} if strategy else None
            zones = frozenset(ecs_scheduler.subnet_zones(context.account_id, context.region, network).values()) or None
            need = ecs_scheduler.need_of(task_definition, zones if task_definition.network_mode == "awsvpc" else None)
            group = request.get("group") or f"family:{task_definition.family}"
            pool = ecs_scheduler.candidates(backend, cluster, group, providers)
            if not pool:
                raise InvalidParameterException(NO_INSTANCES)
            tasks, failures = [], []
            for _ in range(int(request.get("count") or 1)):
                chosen = ecs_placement.choose(pool, need)
                if chosen is None:
                    instance, shortfall = ecs_placement.closest(pool, need)
                    failures.append({"arn": instance.arn, "reason": ecs_placement.FAILURE_REASONS[shortfall]})
                    continue
                ci = ecs_scheduler.find_container_instance(backend, cluster.name, chosen.arn)
                provider = ecs_scheduler.capacity_provider_of(backend, cluster, ci) if providers else None
                tasks.append(
                    ecs_scheduler.place(
                        backend, cluster, task_definition, chosen, need, network=network, group=group,
                        started_by=request.get("startedBy") or "", launch_type=None if providers else "EC2",
                        capacity_provider=provider, tags=request.get("tags"),
                    )
                )
            wires = [task_wire(t) for t in tasks]
        ecs_scheduler.reconcile(context.account_id, context.region, cluster.name)
        return {"tasks": wires, "failures": failures}

    @handler("StopTask", expand=False)
    def stop_task(self, context: RequestContext, request: dict) -> dict:
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        with LOCK, moto_errors():
            cluster = backend._get_cluster(request.get("cluster") or "default")
            task = find_task(backend, cluster.name, request.get("task") or "")
            if task is None:
                raise InvalidParameterException("The referenced task was not found.")
            ecs_scheduler.stop(backend, cluster.name, task, request.get("reason") or "Task stopped by user", "UserInitiated")
            wire = task_wire(task)
        ecs_scheduler.reconcile(context.account_id, context.region, cluster.name)
        return {"task": wire}

    @handler("ListTasks", expand=False)
    def list_tasks(self, context: RequestContext, request: dict) -> dict:
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        with LOCK, moto_errors():
            cluster = backend._get_cluster(request.get("cluster") or "default")
            desired = request.get("desiredStatus") or RUNNING
            tasks = [t for t in backend.tasks.get(cluster.name, {}).values() if t.desired_status == desired]
            if request.get("containerInstance"):
                tasks = [t for t in tasks if short(t.container_instance_arn) == short(request["containerInstance"])]
            if request.get("family"):
                tasks = [t for t in tasks if short(t.task_definition_arn).split(":")[0] == request["family"]]
            if request.get("startedBy"):
                tasks = [t for t in tasks if t.started_by == request["startedBy"]]
            if request.get("serviceName"):
                tasks = [t for t in tasks if t.group == f"service:{short(request['serviceName'])}"]
            if request.get("launchType"):
                tasks = [t for t in tasks if t.launch_type == request["launchType"]]
            arns = [t.task_arn for t in tasks]
        arns, token = page(arns, request)
        return {"taskArns": arns, **({"nextToken": token} if token else {})}

    @handler("DescribeTasks", expand=False)
    def describe_tasks(self, context: RequestContext, request: dict) -> dict:
        refs = request.get("tasks") or []
        if not refs:
            raise InvalidParameterException("Tasks cannot be empty.")
        if len(refs) > 100:
            raise ClientException("Too many tasks were provided: at most 100.")
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        include_tags = "TAGS" in (request.get("include") or [])
        found, failures = [], []
        with LOCK, moto_errors():
            cluster = backend._get_cluster(request.get("cluster") or "default")
            for ref in refs:
                task = find_task(backend, cluster.name, ref)
                if task is None:
                    failures.append({"arn": ref, "reason": "MISSING"})
                else:
                    found.append(task_wire(task, include_tags))
        return {"tasks": found, "failures": failures}
