"""The ECS service scheduler over moto's records: tasks placed on container instances by CPU, memory
and network interfaces (`ecs_placement`), what each placement creates (a task record, its
interface), and the service events ECS writes.

moto 5.1.54 keeps services, tasks and container instances but places nothing: a service's
`runningCount` is whatever its desired count was set to, and `RunTask` checks CPU and memory only.
Here a service's tasks exist only when they fit; they are placed on each relevant change (an
instance becoming `ACTIVE` or leaving, a service created, updated or deleted, a task stopped) and by
a periodic pass (`reconcile_all`, every `ENITRUNK_ECS_RECONCILE_SECONDS`, default 1).

A placed task is a record (no container runs): `RUNNING` at once, on its container instance, with
an `ElasticNetworkInterface` attachment for `awsvpc`. Its interface is a real EC2 network interface
in the task's subnet in the instance's Availability Zone, with the service's security groups:
attached to the instance without a trunk; with one, an interface of EC2's type `branch`, the
kind a trunk carries ("Associates a branch network interface with a trunk network interface",
EC2 API reference, AssociateTrunkInterface; which type ECS's task interfaces show is chosen).
It is deleted when the task stops ("When the task stops or if the service is scaled down, the
task ENI is detached and deleted", task-networking-awsvpc.md).

`pendingCount` counts tasks in `PENDING` (API reference, Service: "The number of tasks in the
cluster that are in the PENDING state"); a task that cannot be placed has no record, so it is in
neither count: `desiredCount - runningCount - pendingCount` is what waits for capacity, and the
service's newest event says why.

Every function here runs under `LOCK`: request threads and the background clock share moto's
records.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from enitrunk_localstack.services import ec2_facts, ecs_placement, instance_types
from enitrunk_localstack.services.ecs_placement import Candidate, Need

LOG = logging.getLogger(__name__)

LOCK = threading.RLock()
RECONCILE_ENV = "ENITRUNK_ECS_RECONCILE_SECONDS"
TRUNK_ATTRIBUTE = "ecs.awsvpc-trunk-id"
ACTIVE, INACTIVE, DRAINING = "ACTIVE", "INACTIVE", "DRAINING"
RUNNING, STOPPED = "RUNNING", "STOPPED"
# "only show the 100 most recent events and duplicate event messages are omitted until either the
# cause is resolved or six hours passes" (service-event-messages.md).
MAX_EVENTS = 100
REPEAT_AFTER = timedelta(hours=6)


def reconcile_seconds() -> float:
    return float(os.environ.get(RECONCILE_ENV, "1"))


def now() -> datetime:
    return datetime.now(timezone.utc)


def ecs_backend(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def short(name_or_arn: str | None) -> str:
    return (name_or_arn or "").split("/")[-1]


# --------------------------------------------------------------------------- container instances


def container_instances(backend, cluster_name: str) -> list:
    """The cluster's container instances, in registration order."""
    return list(backend.container_instances.get(cluster_name, {}).values())


def remaining(ci, name: str) -> int:
    return next((int(r.get("integerValue") or 0) for r in ci.remaining_resources if r.get("name") == name), 0)


def task_limit(ci) -> int:
    """How many `awsvpc` tasks the instance holds: with trunking when it has a trunk, else without."""
    itype = instance_types.get(ci.attributes.get("ecs.instance-type") or "")
    if itype is None:
        return 0
    return itype.task_limit(trunked=bool(ci.attributes.get(TRUNK_ATTRIBUTE)))


def capacity_provider_of(backend, cluster, ci) -> str | None:
    """The cluster's capacity provider whose Auto Scaling group launched the instance.

    Looked up whenever asked (chosen): ECS documents no registration-time binding, and the group's
    capacity provider may be associated with the cluster after the instance registered.
    """
    instance = ec2_facts.find_instance(backend.account_id, backend.region_name, ci.ec2_instance_id)
    group_arn = ec2_facts.auto_scaling_group_arn(instance) if instance is not None else None
    if group_arn is None:
        return None
    for name in cluster.capacity_providers or []:
        provider = backend.capacity_providers.get(short(name))
        if provider is not None and (provider.auto_scaling_group_provider or {}).get("autoScalingGroupArn") == group_arn:
            return provider.name
    return None


def candidates(backend, cluster, group: str | None = None, providers: set[str] | None = None) -> list[Candidate]:
    """The cluster's `ACTIVE` instances (of `providers`, when given) as placement sees them."""
    tasks = running_tasks(backend, cluster.name)
    out = []
    for order, ci in enumerate(container_instances(backend, cluster.name)):
        if ci.status != ACTIVE:
            continue
        if providers is not None and capacity_provider_of(backend, cluster, ci) not in providers:
            continue
        on = [t for t in tasks if t.container_instance_arn == ci.container_instance_arn]
        out.append(
            Candidate(
                arn=ci.container_instance_arn,
                id=short(ci.container_instance_arn),
                zone=ci.attributes.get("ecs.availability-zone") or "",
                cpu=remaining(ci, "CPU"),
                memory=remaining(ci, "MEMORY"),
                enis_used=sum(1 for t in on if getattr(t, "eni_id", None)),
                eni_limit=task_limit(ci),
                attributes=frozenset(ci.attributes),
                order=order,
                service_tasks=sum(1 for t in on if group is not None and t.group == group),
            )
        )
    return out


def find_container_instance(backend, cluster_name: str, arn: str):
    return backend.container_instances.get(cluster_name, {}).get(short(arn))


# ----------------------------------------------------------------------------------------- tasks


def running_tasks(backend, cluster_name: str) -> list:
    return [t for t in backend.tasks.get(cluster_name, {}).values() if t.desired_status == RUNNING]


def need_of(task_definition, zones: frozenset[str] | None) -> Need:
    """Task-level CPU and memory when given, else the containers' sums."""
    containers = task_definition.container_definitions or []
    cpu = int(task_definition.cpu) if task_definition.cpu else sum(int(c.get("cpu") or 0) for c in containers)
    memory = (
        int(task_definition.memory)
        if task_definition.memory
        else sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in containers)
    )
    return Need(cpu=cpu, memory=memory, eni=task_definition.network_mode == "awsvpc", zones=zones)


def subnet_zones(account: str, region: str, network: dict | None) -> dict[str, str]:
    """Subnet id -> Availability Zone of an `awsvpcConfiguration`'s subnets, in their order."""
    subnets = ((network or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    ec2 = ec2_facts.ec2_backend(account, region)
    zones = {}
    for subnet_id in subnets:
        try:
            zones[subnet_id] = ec2.get_subnet(subnet_id).availability_zone
        except Exception:  # a deleted subnet places nothing
            continue
    return zones


def place(backend, cluster, task_definition, candidate: Candidate, need: Need, *, network: dict | None, group: str,
          started_by: str, launch_type: str | None, capacity_provider: str | None, tags: list | None = None):
    """Create the record of a task placed on `candidate`, and its interface."""
    from moto.ecs.models import Task

    ci = find_container_instance(backend, cluster.name, candidate.arn)
    # moto's Task makes an unattached interface in the first subnet for `awsvpc`: it gets none here,
    # and the scheduler attaches its own in the instance's zone.
    definition = SimpleNamespace(
        arn=task_definition.arn, container_definitions=task_definition.container_definitions, network_mode="none"
    )
    requirements = {"CPU": need.cpu, "MEMORY": need.memory, "PORTS": [], "PORTS_UDP": []}
    task = Task(
        cluster, definition, candidate.arn, requirements, backend=backend, group=group,
        launch_type=launch_type or "EC2", started_by=started_by, tags=tags or [],
    )
    at = now()
    task.created_at = task.started_at = at
    task.cpu, task.memory = str(need.cpu), str(need.memory)
    task.availability_zone = candidate.zone
    task.capacity_provider_name = capacity_provider
    task.network_configuration = network
    task.eni_id = None
    task.version = 1
    if need.eni:
        attach_task_interface(backend, task, ci, network)
    backend.update_container_instance_resources(ci, requirements)
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    candidate.take(need)
    return task


def attach_task_interface(backend, task, ci, network: dict | None) -> None:
    account, region = backend.account_id, backend.region_name
    ec2 = ec2_facts.ec2_backend(account, region)
    config = (network or {}).get("awsvpcConfiguration") or {}
    zones = subnet_zones(account, region, network)
    zone = ci.attributes.get("ecs.availability-zone")
    subnet = next((s for s, z in zones.items() if z == zone), None) or next(iter(zones), None)
    attachment_id = str(uuid.uuid4())
    eni = ec2.create_network_interface(
        subnet=subnet, private_ip_address=None, group_ids=config.get("securityGroups") or [],
        description=f"arn:aws:ecs:{region}:{account}:attachment/{attachment_id}",
    )
    eni.requester_managed = True
    instance = ec2_facts.find_instance(account, region, ci.ec2_instance_id)
    if ci.attributes.get(TRUNK_ATTRIBUTE):
        eni.interface_type = "branch"
        eni.status = "in-use"
    elif instance is not None:
        ec2.attach_network_interface(eni.id, instance.id, ec2_facts.next_device_index(instance))
    task.eni_id = eni.id
    task.attachments = [
        {
            "id": attachment_id,
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [
                {"name": "subnetId", "value": subnet},
                {"name": "networkInterfaceId", "value": eni.id},
                {"name": "macAddress", "value": eni.mac_address},
                # moto names interfaces only in VPCs with DNS hostnames; EC2 names them all.
                {"name": "privateDnsName", "value": getattr(eni, "private_dns_name", None) or private_dns_name(region, eni.private_ip_address)},
                {"name": "privateIPv4Address", "value": eni.private_ip_address},
            ],
        }
    ]


def private_dns_name(region: str, ip: str) -> str:
    """EC2's private DNS name of an address ("ip-10-0-0-1.ec2.internal" in us-east-1)."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{domain}"


def delete_interface(account: str, region: str, eni_id: str | None) -> None:
    if not eni_id:
        return
    ec2 = ec2_facts.ec2_backend(account, region)
    eni = ec2.enis.get(eni_id)
    if eni is None:
        return
    if eni.instance is not None:
        eni.instance.detach_eni(eni)
    ec2.delete_network_interface(eni_id)


def stop(backend, cluster_name: str, task, reason: str, code: str | None = None) -> None:
    """Stop a task's record: free its instance's resources and delete its interface."""
    if task.desired_status == STOPPED:
        return
    at = now()
    task.desired_status = STOPPED
    task.last_status = STOPPED
    task.stopped_reason = reason
    task.stop_code = code
    task.stopping_at = task.stopped_at = at
    task.version = getattr(task, "version", 1) + 1
    if task.attachments:
        task.attachments = [{**a, "status": "DELETED"} for a in task.attachments]
    ci = find_container_instance(backend, cluster_name, task.container_instance_arn or "")
    if ci is not None and task.resource_requirements:
        backend.update_container_instance_resources(ci, task.resource_requirements, removing=True)
    delete_interface(backend.account_id, backend.region_name, getattr(task, "eni_id", None))


# -------------------------------------------------------------------------------------- services


def add_event(service, message: str) -> None:
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": now(), "message": message})
    del service.events[MAX_EVENTS:]


def service_tasks(backend, cluster_name: str, service) -> list:
    group = f"service:{service.name}"
    return [t for t in running_tasks(backend, cluster_name) if t.group == group]


def strategy_providers(service) -> set[str] | None:
    strategy = getattr(service, "capacity_provider_strategy", None)
    if not strategy:
        return None
    return {short(item["capacityProvider"]) for item in strategy}


def reconcile_service(backend, cluster, service) -> None:
    """Place or stop the service's tasks until it runs its desired count, or say why it cannot."""
    if service.deployment_controller.get("type", "ECS") != "ECS" or not service.task_definition:
        return
    if service.launch_type == "FARGATE":
        return
    tasks = service_tasks(backend, cluster.name, service)
    desired = service.desired_count if service.status == ACTIVE else 0
    deployment = service.deployments[0]["id"] if service.deployments else "ecs-svc/0"
    if len(tasks) != desired:
        service.steady = False  # it reaches a steady state again once the change is done
    draining = draining_instances(backend, cluster.name)
    if len(tasks) > desired:
        # Tasks on draining instances go first, then the newest.
        surplus = sorted(
            tasks,
            key=lambda t: (t.container_instance_arn not in draining, -(getattr(t, "created_at", None) or now()).timestamp()),
        )[: len(tasks) - desired]
        for task in surplus:
            stop(backend, cluster.name, task, f"Scaling activity initiated by (deployment {deployment})", "ServiceSchedulerInitiated")
        if service.status == ACTIVE:
            add_event(service, ecs_placement.stopped(service.name, [short(t.task_arn) for t in surplus]))
    elif len(tasks) < desired:
        place_service_tasks(backend, cluster, service, desired - len(tasks), deployment)
    if draining and service.status == ACTIVE:
        replace_draining(backend, cluster, service, draining, desired, deployment)
    running = len(service_tasks(backend, cluster.name, service))
    service.running_count, service.pending_count = running, 0
    for d in service.deployments:
        d.update({"runningCount": running, "pendingCount": 0, "desiredCount": service.desired_count})
    steady = service.status == ACTIVE and running == desired
    if steady and not getattr(service, "steady", False):
        service.unplaced = None
        add_event(service, ecs_placement.steady(service.name))
    service.steady = steady


def draining_instances(backend, cluster_name: str) -> set[str]:
    return {ci.container_instance_arn for ci in container_instances(backend, cluster_name) if ci.status == DRAINING}


def replace_draining(backend, cluster, service, draining: set[str], desired: int, deployment: str) -> None:
    """Stop the service's tasks on draining instances, replacements first where its deployment
    configuration allows: "Service tasks on the draining container instance that are in the
    RUNNING state are stopped and replaced according to the service's deployment configuration
    parameters, minimumHealthyPercent and maximumPercent" (container-instance-draining.md)."""
    leaving = [t for t in service_tasks(backend, cluster.name, service) if t.container_instance_arn in draining]
    if not leaving:
        return
    config = getattr(service, "deployment_configuration", None) or {}
    # The API reference's defaults for a replica service (DeploymentConfiguration).
    maximum = desired * int(config.get("maximumPercent", 200)) // 100
    minimum = -(-desired * int(config.get("minimumHealthyPercent", 100)) // 100)
    room = min(len(leaving), maximum - len(service_tasks(backend, cluster.name, service)))
    if room > 0:
        place_service_tasks(backend, cluster, service, room, deployment)
    stoppable = max(0, len(service_tasks(backend, cluster.name, service)) - minimum)
    stopped = leaving[:stoppable]
    for task in stopped:
        # The reason's words are chosen: ECS documents none for a drained task.
        stop(backend, cluster.name, task, "Container instance is being drained.", "ServiceSchedulerInitiated")
    if stopped:
        add_event(service, ecs_placement.stopped(service.name, [short(t.task_arn) for t in stopped]))


def place_service_tasks(backend, cluster, service, count: int, deployment: str) -> None:
    from moto.ecs.exceptions import TaskDefinitionNotFoundException

    try:
        task_definition = backend.describe_task_definition(service.task_definition)
    except TaskDefinitionNotFoundException:
        return
    account, region = backend.account_id, backend.region_name
    network = service.network_configuration or None
    zones = frozenset(subnet_zones(account, region, network).values()) or None
    need = need_of(task_definition, zones if task_definition.network_mode == "awsvpc" else None)
    group = f"service:{service.name}"
    providers = strategy_providers(service)
    pool = candidates(backend, cluster, group, providers)
    placed = []
    unable = None
    for _ in range(count):
        chosen = ecs_placement.choose(pool, need)
        if chosen is None:
            unable = ecs_placement.unable_to_place(
                service.name, ecs_placement.closest(pool, need), "capacity provider" if providers else "cluster"
            )
            break
        provider = capacity_provider_of(backend, cluster, find_container_instance(backend, cluster.name, chosen.arn)) if providers else None
        placed.append(
            place(backend, cluster, task_definition, chosen, need, network=network, group=group, started_by=deployment,
                  launch_type=None if providers else "EC2", capacity_provider=provider)
        )
    if placed:
        add_event(service, ecs_placement.started(service.name, [short(t.task_arn) for t in placed]))
    if unable is not None:
        last = getattr(service, "unplaced", None)
        if last is None or last[0] != unable or now() - last[1] > REPEAT_AFTER:
            add_event(service, unable)
            service.unplaced = (unable, now())
    elif placed:
        service.unplaced = None


def reconcile(account: str, region: str, cluster_name: str) -> None:
    """One placement pass over a cluster's services, and the cluster's counts."""
    with LOCK:
        backend = ecs_backend(account, region)
        cluster = backend.clusters.get(short(cluster_name))
        if cluster is None or cluster.status != ACTIVE:
            return
        for service in list(backend.services.values()):
            if service.cluster_name == cluster.name and not getattr(service, "reconciled_inactive", False):
                reconcile_service(backend, cluster, service)
                if service.status != ACTIVE:
                    service.reconciled_inactive = True
        tasks = running_tasks(backend, cluster.name)
        cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == RUNNING)
        cluster.pending_tasks_count = 0
        cluster.active_services_count = sum(
            1 for s in backend.services.values() if s.cluster_name == cluster.name and s.status == ACTIVE
        )
        cluster.registered_container_instances_count = sum(
            1 for ci in container_instances(backend, cluster.name) if ci.status != INACTIVE
        )


def reconcile_all() -> None:
    from moto.ecs.models import ecs_backends

    for account, regions in list(ecs_backends.items()):
        for region, backend in list(regions.items()):
            for name in list(backend.clusters):
                try:
                    reconcile(account, region, name)
                except Exception:
                    LOG.exception("placement pass over cluster %s failed", name)
