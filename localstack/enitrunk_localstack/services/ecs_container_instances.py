"""Container instances as ECS keeps them: registration (by the emulated agent, `ecs_agent`, or any
caller), the trunk interface, deregistration; handlers mixed into the `ecs:enitrunk` provider.

- `RegisterContainerInstance` is authorized by the caller's identity-based policies
  (`ecs:RegisterContainerInstance` on the cluster's ARN; the agent signs as its instance profile's
  role, which `AmazonEC2ContainerServiceforEC2Role` allows). It needs an `ACTIVE` cluster and an
  identity document naming a running EC2 instance (else `ClientException` "Cluster not found.",
  `InvalidParameterException`). ECS adds the built-in attributes
  (`ecs.ami-id`, `ecs.availability-zone`, `ecs.instance-type`, `ecs.os-type`,
  `ecs.cpu-architecture`, `ecs.vpc-id`, `ecs.subnet-id`; task-placement-constraints.md) to the
  agent's. Whether the instance gets a trunk is `trunking.decide`'s, from `awsvpcTrunking` as
  effective for the calling principal at that moment; a trunked registration is `REGISTERING`
  for `ENITRUNK_ECS_TRUNK_DELAY_SECONDS` (default 0.5) while the trunk interface is provisioned (a
  moto network interface of type `trunk`, attached to the instance), then `ACTIVE` with
  `ecs.awsvpc-trunk-id` and an `ElasticNetworkInterface` attachment, or `REGISTRATION_FAILED` with
  a `statusReason`.
- Deregistration (`DeregisterContainerInstance`, or the EC2 instance terminating: "If you terminate
  a running container instance, Amazon ECS automatically deregisters the instance from your
  cluster", API reference) stops its tasks, deletes the trunk ("The trunk network interface is
  fully managed by Amazon ECS and is deleted when you either terminate or deregister your
  container instance") and leaves the record `INACTIVE`; `ListContainerInstances` leaves
  `INACTIVE` ones out unless asked for them, `DescribeContainerInstances` still shows them.
- moto's own versions answer other clusters' instances, fail on unknown clusters with a server
  error, and `ListAttributes` with a name but no value matches nothing (so the developer guide's
  `list-attributes --attribute-name ecs.awsvpc-trunk-id` found no trunk): the handlers here replace them.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

from localstack.aws.api import RequestContext, handler
from localstack.services.moto import call_moto

from enitrunk_localstack.services import ec2_facts, ecs_scheduler, instance_types, trunking
from enitrunk_localstack.services.clock import CLOCK
from enitrunk_localstack.services.container_agent import registered_resources
from enitrunk_localstack.services.ecs_errors import ClientException, ClusterNotFoundException, InvalidParameterException
from enitrunk_localstack.services.ecs_iam import authorized_principal
from enitrunk_localstack.services.ecs_scheduler import ACTIVE, INACTIVE, LOCK, TRUNK_ATTRIBUTE, short

LOG = logging.getLogger(__name__)

TRUNK_DELAY_ENV = "ENITRUNK_ECS_TRUNK_DELAY_SECONDS"
REGISTERING, REGISTRATION_FAILED, DEREGISTERING = "REGISTERING", "REGISTRATION_FAILED", "DEREGISTERING"
STATUSES = {ACTIVE, "DRAINING", REGISTERING, DEREGISTERING, REGISTRATION_FAILED, INACTIVE}


def trunk_delay() -> float:
    return float(os.environ.get(TRUNK_DELAY_ENV, "0.5"))


def cluster_arn(context: RequestContext, name: str) -> str:
    return f"arn:{context.partition or 'aws'}:ecs:{context.region}:{context.account_id}:cluster/{name}"


def active_cluster(context: RequestContext, name_or_arn: str | None, missing=ClusterNotFoundException):
    cluster = ecs_scheduler.ecs_backend(context.account_id, context.region).clusters.get(short(name_or_arn or "default"))
    if cluster is None or cluster.status != ACTIVE:
        raise missing("Cluster not found.")
    return cluster


def find(backend, cluster_name: str, ref: str):
    """A container instance of the cluster by ARN or id, or None."""
    return ecs_scheduler.find_container_instance(backend, cluster_name, ref)


def wire(backend, cluster, ci, include_tags: bool = False) -> dict:
    """A container instance as the ECS API returns it."""
    running = [t for t in ecs_scheduler.running_tasks(backend, cluster.name) if t.container_instance_arn == ci.container_instance_arn]
    out = {
        "containerInstanceArn": ci.container_instance_arn,
        "ec2InstanceId": ci.ec2_instance_id,
        "capacityProviderName": ecs_scheduler.capacity_provider_of(backend, cluster, ci),
        "version": getattr(ci, "version", 1),
        "versionInfo": ci.version_info,
        "remainingResources": ci.remaining_resources,
        "registeredResources": ci.registered_resources,
        "status": ci.status,
        "statusReason": getattr(ci, "status_reason", None),
        "agentConnected": ci.agent_connected,
        "runningTasksCount": len(running),
        "pendingTasksCount": 0,
        "attributes": [{"name": k} if v is None else {"name": k, "value": v} for k, v in ci.attributes.items()],
        "registeredAt": ci.registered_at,
        "attachments": getattr(ci, "attachments", []),
    }
    if include_tags:
        out["tags"] = getattr(ci, "tags", []) or []
    return {k: v for k, v in out.items() if v is not None}


def provision_trunk(account: str, region: str, cluster_name: str, ci_id: str, decision: trunking.Decision) -> None:
    """The end of `REGISTERING`: the trunk interface attached, or the registration failed."""
    with LOCK:
        backend = ecs_scheduler.ecs_backend(account, region)
        ci = find(backend, cluster_name, ci_id)
        if ci is None or ci.status != REGISTERING:
            return
        ci.version += 1
        if decision.outcome == trunking.FAIL:
            ci.status, ci.status_reason = REGISTRATION_FAILED, decision.why
            LOG.info("container instance %s: REGISTRATION_FAILED: %s", ci.ec2_instance_id, decision.why)
            return
        instance = ec2_facts.find_instance(account, region, ci.ec2_instance_id)
        if not ec2_facts.is_running(instance):
            return
        ec2 = ec2_facts.ec2_backend(account, region)
        eni = ec2.create_network_interface(
            subnet=instance.subnet_id, private_ip_address=None, group_ids=ec2_facts.security_group_ids(instance),
            description="Amazon ECS trunk network interface",
        )
        eni.interface_type = "trunk"
        eni.requester_managed = True
        ec2.attach_network_interface(eni.id, instance.id, ec2_facts.next_device_index(instance))
        ci.attributes[TRUNK_ATTRIBUTE] = eni.id
        ci.attachments = [
            {
                "id": str(uuid.uuid4()),
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED",
                "details": [
                    {"name": "networkInterfaceId", "value": eni.id},
                    {"name": "subnetId", "value": instance.subnet_id},
                    {"name": "macAddress", "value": eni.mac_address},
                    {"name": "privateIPv4Address", "value": eni.private_ip_address},
                ],
            }
        ]
        ci.status = ACTIVE
        LOG.info("container instance %s: ACTIVE with trunk %s", ci.ec2_instance_id, eni.id)
    ecs_scheduler.reconcile(account, region, cluster_name)


def deregister(backend, cluster_name: str, ci, task_reason: str, task_stop_code: str | None = None) -> None:
    """`DEREGISTERING`, then `INACTIVE`: its tasks stopped, its trunk deleted."""
    with LOCK:
        if ci.status == INACTIVE:
            return
        ci.status = DEREGISTERING
        for task in ecs_scheduler.running_tasks(backend, cluster_name):
            if task.container_instance_arn == ci.container_instance_arn:
                ecs_scheduler.stop(backend, cluster_name, task, task_reason, task_stop_code)
        ecs_scheduler.delete_interface(backend.account_id, backend.region_name, ci.attributes.pop(TRUNK_ATTRIBUTE, None))
        ci.attachments = [{**a, "status": "DELETED"} for a in getattr(ci, "attachments", [])]
        ci.status, ci.agent_connected = INACTIVE, False
        ci.version = getattr(ci, "version", 1) + 1
    ecs_scheduler.reconcile(backend.account_id, backend.region_name, cluster_name)


def instance_terminated(account: str, region: str, instance_id: str) -> None:
    """ECS deregisters the container instances of a terminated EC2 instance."""
    backend = ecs_scheduler.ecs_backend(account, region)
    with LOCK:
        found = [
            (cluster_name, ci)
            for cluster_name, instances in list(backend.container_instances.items())
            for ci in list(instances.values())
            if ci.ec2_instance_id == instance_id and ci.status != INACTIVE
        ]
    for cluster_name, ci in found:
        # Their tasks stop as ECS reports them ("Host EC2 (instance i-...) terminated.",
        # stopCode TerminationNotice, as ECS answers DescribeTasks).
        deregister(backend, cluster_name, ci, f"Host EC2 (instance {instance_id}) terminated.", "TerminationNotice")


# Cluster query language (cluster-query-language.md), the subset for container instances' attributes
# and ids: `attribute:NAME exists|!exists|not_exists`, `attribute:NAME ==|equals|!=|not_equals VALUE`,
# `ec2InstanceId == ID`, joined with `and`.
def _matches(ci, expression: str) -> bool:
    for clause in [c.strip() for c in expression.replace(" AND ", " and ").split(" and ") if c.strip()]:
        parts = clause.split(None, 2)
        subject, op = parts[0], parts[1] if len(parts) > 1 else ""
        value = parts[2].strip() if len(parts) > 2 else None
        if subject.startswith("attribute:"):
            name = subject[len("attribute:"):]
            present, actual = name in ci.attributes, ci.attributes.get(name)
        elif subject == "ec2InstanceId":
            present, actual = True, ci.ec2_instance_id
        else:
            raise InvalidParameterException(f"Unsupported filter subject in '{clause}'.")
        if op == "exists" and value is None:
            ok = present
        elif op in ("!exists", "not_exists") and value is None:
            ok = not present
        elif op in ("==", "equals") and value is not None:
            ok = present and actual == value
        elif op in ("!=", "not_equals") and value is not None:
            ok = not present or actual != value
        else:
            raise InvalidParameterException(f"Unsupported filter expression '{clause}'.")
        if not ok:
            return False
    return True


def page(items: list, request: dict) -> tuple[list, str | None]:
    """`maxResults`/`nextToken` over a list (the token is the next index)."""
    start = int(request.get("nextToken") or 0)
    size = int(request.get("maxResults") or 100)
    chunk = items[start:start + size]
    return chunk, (str(start + size) if start + size < len(items) else None)


class ContainerInstanceHandlers:
    """`@handler`s for `EcsProvider` (which gives `settings(context)`, the account settings)."""

    @handler("RegisterContainerInstance", expand=False)
    def register_container_instance(self, context: RequestContext, request: dict) -> dict:
        name = short(request.get("cluster") or "default")
        principal = authorized_principal(context, "ecs:RegisterContainerInstance", resource=cluster_arn(context, name))
        # RegisterContainerInstance declares no ClusterNotFoundException: ECS answers a missing
        # cluster with "ClientException: Cluster not found." (the agent's logs, aws/amazon-ecs-agent#750).
        cluster = active_cluster(context, name, missing=ClientException)
        try:
            document = json.loads(request.get("instanceIdentityDocument") or "")
            instance_id = document["instanceId"]
        except (ValueError, KeyError, TypeError):
            raise InvalidParameterException("An instance identity document naming an EC2 instance must be specified.") from None
        account, region = context.account_id, context.region
        instance = ec2_facts.find_instance(account, region, instance_id)
        if not ec2_facts.is_running(instance):
            raise InvalidParameterException(f"The instance identity document names {instance_id}, which is not a running EC2 instance.")
        backend = ecs_scheduler.ecs_backend(account, region)
        with LOCK:
            existing = next(
                (ci for ci in ecs_scheduler.container_instances(backend, cluster.name)
                 if ci.ec2_instance_id == instance_id and ci.status != INACTIVE),
                None,
            )
            if existing is not None:
                return {"containerInstance": wire(backend, cluster, existing)}
            ci = backend.register_container_instance(cluster.name, instance_id)
            self._describe_registration(ci, instance, request)
            itype = instance_types.get(instance.instance_type)
            decision = trunking.decide(
                setting=self.settings(context).effective(principal, "awsvpcTrunking"),
                type_supported=itype is not None and itype.supports_trunking(),
                capabilities={a["name"] for a in request.get("attributes") or []},
                resource_name_dns_a_record=ec2_facts.resource_name_dns_a_record(instance),
            )
            LOG.info("container instance %s registers with %s as %s: %s", instance_id, cluster.name, principal, decision.why)
            if decision.outcome == trunking.NONE:
                ci.status = ACTIVE
            else:
                ci.status = REGISTERING
                CLOCK.after(trunk_delay(), provision_trunk, account, region, cluster.name, short(ci.container_instance_arn), decision)
            response = {"containerInstance": wire(backend, cluster, ci)}
        if ci.status == ACTIVE:
            ecs_scheduler.reconcile(account, region, cluster.name)
        return response

    @staticmethod
    def _describe_registration(ci, instance, request: dict) -> None:
        """What ECS records from the agent's request and the instance: resources, version, attributes."""
        total = request.get("totalResources")
        if not total:
            itype = instance_types.get(instance.instance_type)
            total = registered_resources(itype.cpu_units, itype.schedulable_memory_mib) if itype else []
        ci.registered_resources = [dict(r) for r in total]
        ci.remaining_resources = [{**r, **({"stringSetValue": list(r["stringSetValue"])} if "stringSetValue" in r else {})} for r in total]
        ci.version_info = request.get("versionInfo") or {}
        ci.attributes.update(
            {"ecs.cpu-architecture": instance.architecture, "ecs.vpc-id": instance.vpc_id, "ecs.subnet-id": instance.subnet_id}
        )
        for attribute in request.get("attributes") or []:
            ci.attributes[attribute["name"]] = attribute.get("value")
        ci.registered_at = ecs_scheduler.now()
        ci.status_reason = None
        ci.attachments = []
        ci.version = 1
        ci.tags = request.get("tags") or []

    @handler("DeregisterContainerInstance", expand=False)
    def deregister_container_instance(self, context: RequestContext, request: dict) -> dict:
        cluster = active_cluster(context, request.get("cluster"))
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        ci = find(backend, cluster.name, request.get("containerInstance") or "")
        if ci is None:
            raise InvalidParameterException("The referenced container instance was not found in the cluster.")
        running = [t for t in ecs_scheduler.running_tasks(backend, cluster.name) if t.container_instance_arn == ci.container_instance_arn]
        if running and not request.get("force"):
            # "If you have tasks running on the container instance when you deregister it with the
            # force option, these tasks remain running ... but they're orphaned" (API reference):
            # without it, the instance is not deregistered. The message is moto's.
            raise InvalidParameterException("Found running tasks on the instance.")
        deregister(backend, cluster.name, ci, f"Container instance {ci.container_instance_arn} was deregistered.")
        return {"containerInstance": wire(backend, cluster, ci)}

    @handler("ListContainerInstances", expand=False)
    def list_container_instances(self, context: RequestContext, request: dict) -> dict:
        cluster = active_cluster(context, request.get("cluster"))
        status = request.get("status")
        if status is not None and status not in STATUSES:
            raise InvalidParameterException(f"Invalid container instance status '{status}'.")
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        with LOCK:
            found = [
                ci.container_instance_arn
                for ci in ecs_scheduler.container_instances(backend, cluster.name)
                # "If you don't specify this parameter, the default is to include container
                # instances set to all states other than INACTIVE." (API reference)
                if (ci.status == status if status else ci.status != INACTIVE)
                and (not request.get("filter") or _matches(ci, request["filter"]))
            ]
        arns, token = page(found, request)
        return {"containerInstanceArns": arns, **({"nextToken": token} if token else {})}

    @handler("DescribeContainerInstances", expand=False)
    def describe_container_instances(self, context: RequestContext, request: dict) -> dict:
        cluster = active_cluster(context, request.get("cluster"))
        refs = request.get("containerInstances") or []
        if not refs:
            raise ClientException("Container Instances cannot be empty.")
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        include_tags = "TAGS" in (request.get("include") or [])
        found, failures = [], []
        with LOCK:
            for ref in refs:
                ci = find(backend, cluster.name, ref)
                if ci is None:
                    arn = ref if ref.startswith("arn:") else f"arn:{context.partition or 'aws'}:ecs:{context.region}:{context.account_id}:container-instance/{cluster.name}/{ref}"
                    failures.append({"arn": arn, "reason": "MISSING"})
                else:
                    found.append(wire(backend, cluster, ci, include_tags))
        return {"containerInstances": found, "failures": failures}

    @handler("ListAttributes", expand=False)
    def list_attributes(self, context: RequestContext, request: dict) -> dict:
        if request.get("targetType") != "container-instance":
            raise InvalidParameterException("targetType must be container-instance")
        cluster = active_cluster(context, request.get("cluster"))
        name, value = request.get("attributeName"), request.get("attributeValue")
        if value is not None and name is None:
            raise InvalidParameterException("attributeName must be specified with attributeValue.")
        backend = ecs_scheduler.ecs_backend(context.account_id, context.region)
        with LOCK:
            found = [
                {"name": k, **({"value": v} if v is not None else {}), "targetType": "container-instance", "targetId": ci.container_instance_arn}
                for ci in ecs_scheduler.container_instances(backend, cluster.name)
                if ci.status != INACTIVE
                for k, v in ci.attributes.items()
                if (name is None or k == name) and (value is None or v == value)
            ]
        attributes, token = page(found, request)
        return {"attributes": attributes, **({"nextToken": token} if token else {})}

    @handler("UpdateContainerInstancesState", expand=False)
    def update_container_instances_state(self, context: RequestContext, request: dict) -> dict:
        cluster = active_cluster(context, request.get("cluster"))
        with LOCK:
            response = call_moto(context)
        # An instance back to ACTIVE takes tasks again; DRAINING ones take no new ones.
        ecs_scheduler.reconcile(context.account_id, context.region, cluster.name)
        return response
