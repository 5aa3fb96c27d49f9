"""CloudFormation resource providers for ECS, backed by moto through the ECS API (`ecs:enitrunk`).

Ref and GetAtt follow the CloudFormation reference: Cluster → name / Arn; TaskDefinition →
TaskDefinitionArn; Service → ServiceArn / Name, ServiceArn; CapacityProvider → name;
ClusterCapacityProviderAssociations → cluster name.
"""

from __future__ import annotations

from localstack.services.cloudformation.resource_provider import ResourceProvider, ResourceRequest

from enitrunk_localstack.cloudformation.common import (
    as_int,
    camel,
    generated_name,
    ignore_missing,
    plugin,
    success,
    with_ints,
)

# Container-definition maps whose keys are the user's, not CloudFormation property names.
USER_KEYED = frozenset({"DockerLabels", "Options", "SystemControls", "DriverOpts", "Labels"})


def _tags(props: dict) -> list[dict]:
    return [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags") or []]


class ClusterProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::ECS::Cluster",
        "primaryIdentifier": ["/properties/ClusterName"],
        "createOnlyProperties": ["/properties/ClusterName"],
        "readOnlyProperties": ["/properties/Arn"],
    }

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("ClusterName", generated_name(request))
        kwargs = {"clusterName": props["ClusterName"]}
        if tags := _tags(props):
            kwargs["tags"] = tags
        if props.get("ClusterSettings"):
            kwargs["settings"] = camel(props["ClusterSettings"])
        cluster = request.aws_client_factory.ecs.create_cluster(**kwargs)["cluster"]
        props["Arn"] = cluster["clusterArn"]
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        props = {**request.desired_state, "ClusterName": request.previous_state["ClusterName"], "Arn": request.previous_state["Arn"]}
        if props.get("ClusterSettings"):
            request.aws_client_factory.ecs.update_cluster(cluster=props["ClusterName"], settings=camel(props["ClusterSettings"]))
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        with ignore_missing({"ClusterNotFoundException"}):
            request.aws_client_factory.ecs.delete_cluster(cluster=request.desired_state["ClusterName"])
        return success({})


class TaskDefinitionProvider(ResourceProvider[dict]):
    # Every property is create-only: a change registers a new revision (a replacement).
    SCHEMA = {
        "typeName": "AWS::ECS::TaskDefinition",
        "primaryIdentifier": ["/properties/TaskDefinitionArn"],
        "createOnlyProperties": [
            f"/properties/{p}"
            for p in (
                "Family", "ContainerDefinitions", "Cpu", "Memory", "NetworkMode", "RequiresCompatibilities",
                "ExecutionRoleArn", "TaskRoleArn", "Volumes", "PlacementConstraints", "RuntimePlatform",
                "PidMode", "IpcMode", "ProxyConfiguration", "EphemeralStorage",
            )
        ],
        "readOnlyProperties": ["/properties/TaskDefinitionArn"],
    }

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("Family", generated_name(request))
        kwargs = {k: v for k, v in camel({k: v for k, v in props.items() if k != "Tags"}, USER_KEYED).items()}
        for key in ("cpu", "memory"):
            if key in kwargs:
                kwargs[key] = str(kwargs[key])
        for c in kwargs.get("containerDefinitions", []):
            with_ints(c, "cpu", "memory", "memoryReservation")
            for pm in c.get("portMappings", []):
                with_ints(pm, "containerPort", "hostPort")
        if tags := _tags(props):
            kwargs["tags"] = tags
        td = request.aws_client_factory.ecs.register_task_definition(**kwargs)["taskDefinition"]
        props["TaskDefinitionArn"] = td["taskDefinitionArn"]
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        # Only Tags are updatable in place.
        return success({**request.desired_state, "TaskDefinitionArn": request.previous_state["TaskDefinitionArn"]})

    def delete(self, request: ResourceRequest[dict]):
        with ignore_missing({"ClientException", "InvalidParameterException"}):
            request.aws_client_factory.ecs.deregister_task_definition(taskDefinition=request.desired_state["TaskDefinitionArn"])
        return success({})


class ServiceProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::ECS::Service",
        "primaryIdentifier": ["/properties/ServiceArn"],
        "createOnlyProperties": [
            "/properties/Cluster", "/properties/ServiceName", "/properties/LaunchType", "/properties/Role",
            "/properties/SchedulingStrategy", "/properties/LoadBalancers",
        ],
        "readOnlyProperties": ["/properties/ServiceArn", "/properties/Name"],
    }

    @staticmethod
    def _kwargs(props: dict) -> dict:
        kwargs = {}
        mapping = {
            "TaskDefinition": "taskDefinition",
            "LaunchType": "launchType",
            "SchedulingStrategy": "schedulingStrategy",
            "PlatformVersion": "platformVersion",
            "EnableECSManagedTags": "enableECSManagedTags",
            "PropagateTags": "propagateTags",
        }
        for cfn_key, api_key in mapping.items():
            if cfn_key in props:
                kwargs[api_key] = props[cfn_key]
        if "DesiredCount" in props:
            kwargs["desiredCount"] = as_int(props["DesiredCount"])
        for cfn_key in ("NetworkConfiguration", "CapacityProviderStrategy", "PlacementConstraints",
                        "PlacementStrategies", "DeploymentConfiguration", "LoadBalancers", "ServiceRegistries"):
            if cfn_key in props:
                api_key = "placementStrategy" if cfn_key == "PlacementStrategies" else cfn_key[:1].lower() + cfn_key[1:]
                kwargs[api_key] = camel(props[cfn_key])
        for item in kwargs.get("capacityProviderStrategy", []):
            with_ints(item, "weight", "base")
        return kwargs

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("ServiceName", generated_name(request))
        kwargs = self._kwargs(props)
        kwargs["serviceName"] = props["ServiceName"]
        if "Cluster" in props:
            kwargs["cluster"] = props["Cluster"]
        if tags := _tags(props):
            kwargs["tags"] = tags
        service = request.aws_client_factory.ecs.create_service(**kwargs)["service"]
        props["ServiceArn"] = service["serviceArn"]
        props["Name"] = service["serviceName"]
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        prev = request.previous_state
        props = {**request.desired_state, "ServiceArn": prev["ServiceArn"], "Name": prev["Name"], "ServiceName": prev.get("ServiceName", prev["Name"])}
        kwargs = {k: v for k, v in self._kwargs(props).items() if k not in ("launchType", "schedulingStrategy", "loadBalancers")}
        request.aws_client_factory.ecs.update_service(cluster=props.get("Cluster", "default"), service=prev["ServiceArn"], **kwargs)
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        props = request.desired_state
        ecs = request.aws_client_factory.ecs
        with ignore_missing({"ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"}):
            # CloudFormation scales the service to zero before deleting it.
            ecs.update_service(cluster=props.get("Cluster", "default"), service=props["ServiceArn"], desiredCount=0)
            ecs.delete_service(cluster=props.get("Cluster", "default"), service=props["ServiceArn"], force=True)
        return success({})


class CapacityProviderProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::ECS::CapacityProvider",
        "primaryIdentifier": ["/properties/Name"],
        "createOnlyProperties": ["/properties/Name", "/properties/AutoScalingGroupProvider/AutoScalingGroupArn"],
    }

    @staticmethod
    def _asg_provider(props: dict) -> dict:
        p = camel(props.get("AutoScalingGroupProvider") or {})
        if "managedScaling" in p:
            with_ints(
                p["managedScaling"],
                "targetCapacity", "minimumScalingStepSize", "maximumScalingStepSize", "instanceWarmupPeriod",
            )
        return p

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("Name", generated_name(request))
        kwargs = {"name": props["Name"], "autoScalingGroupProvider": self._asg_provider(props)}
        if tags := _tags(props):
            kwargs["tags"] = tags
        request.aws_client_factory.ecs.create_capacity_provider(**kwargs)
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        props = {**request.desired_state, "Name": request.previous_state["Name"]}
        provider = self._asg_provider(props)
        provider.pop("autoScalingGroupArn", None)
        request.aws_client_factory.ecs.update_capacity_provider(name=props["Name"], autoScalingGroupProvider=provider)
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        with ignore_missing({"ClientException", "InvalidParameterException"}):
            request.aws_client_factory.ecs.delete_capacity_provider(capacityProvider=request.desired_state["Name"])
        return success({})


class ClusterCapacityProviderAssociationsProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::ECS::ClusterCapacityProviderAssociations",
        "primaryIdentifier": ["/properties/Cluster"],
        "createOnlyProperties": ["/properties/Cluster"],
    }

    @staticmethod
    def _put(request: ResourceRequest[dict], props: dict, providers: list, strategy: list):
        request.aws_client_factory.ecs.put_cluster_capacity_providers(
            cluster=props["Cluster"], capacityProviders=providers, defaultCapacityProviderStrategy=strategy
        )

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        strategy = camel(props.get("DefaultCapacityProviderStrategy") or [])
        for item in strategy:
            with_ints(item, "weight", "base")
        self._put(request, props, props.get("CapacityProviders") or [], strategy)
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        return self.create(request)

    def delete(self, request: ResourceRequest[dict]):
        with ignore_missing({"ClusterNotFoundException"}):
            self._put(request, request.desired_state, [], [])
        return success({})


ClusterPlugin = plugin("AWS::ECS::Cluster", ClusterProvider)
TaskDefinitionPlugin = plugin("AWS::ECS::TaskDefinition", TaskDefinitionProvider)
ServicePlugin = plugin("AWS::ECS::Service", ServiceProvider)
CapacityProviderPlugin = plugin("AWS::ECS::CapacityProvider", CapacityProviderProvider)
ClusterCapacityProviderAssociationsPlugin = plugin(
    "AWS::ECS::ClusterCapacityProviderAssociations", ClusterCapacityProviderAssociationsProvider
)
