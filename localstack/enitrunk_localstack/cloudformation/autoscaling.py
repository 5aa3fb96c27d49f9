"""CloudFormation resource provider for `AWS::AutoScaling::AutoScalingGroup`, backed by moto
through the Auto Scaling API (`autoscaling:enitrunk`).

Ref follows the CloudFormation reference: AutoScalingGroup → its name.
"""

from __future__ import annotations

from localstack.services.cloudformation.resource_provider import ResourceProvider, ResourceRequest

from enitrunk_localstack.cloudformation.common import as_int, generated_name, ignore_missing, plugin, success


class AutoScalingGroupProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::AutoScaling::AutoScalingGroup",
        "primaryIdentifier": ["/properties/AutoScalingGroupName"],
        "createOnlyProperties": ["/properties/AutoScalingGroupName", "/properties/InstanceId"],
    }

    @staticmethod
    def _kwargs(props: dict) -> dict:
        kwargs: dict = {}
        for key in ("MinSize", "MaxSize", "DesiredCapacity", "DefaultCooldown", "HealthCheckGracePeriod"):
            if props.get(key) is not None:
                kwargs[key] = as_int(props[key])
        for key in ("HealthCheckType", "NewInstancesProtectedFromScaleIn", "CapacityRebalance",
                    "TerminationPolicies", "AvailabilityZones", "MixedInstancesPolicy", "LaunchConfigurationName"):
            if props.get(key) is not None:
                kwargs[key] = props[key]
        if props.get("LaunchTemplate"):
            lt = dict(props["LaunchTemplate"])
            if "Version" in lt:
                lt["Version"] = str(lt["Version"])
            kwargs["LaunchTemplate"] = lt
        if props.get("VPCZoneIdentifier"):
            # A list in the template, a comma-separated string in the API.
            zones = props["VPCZoneIdentifier"]
            kwargs["VPCZoneIdentifier"] = ",".join(zones) if isinstance(zones, list) else zones
        return kwargs

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("AutoScalingGroupName", generated_name(request))
        kwargs = self._kwargs(props)
        kwargs["AutoScalingGroupName"] = props["AutoScalingGroupName"]
        if props.get("Tags"):
            kwargs["Tags"] = [
                {"Key": t["Key"], "Value": t["Value"], "PropagateAtLaunch": str(t.get("PropagateAtLaunch", "false")).lower() == "true"}
                for t in props["Tags"]
            ]
        request.aws_client_factory.autoscaling.create_auto_scaling_group(**kwargs)
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        props = {**request.desired_state, "AutoScalingGroupName": request.previous_state["AutoScalingGroupName"]}
        kwargs = self._kwargs(props)
        kwargs.pop("TerminationPolicies", None)
        request.aws_client_factory.autoscaling.update_auto_scaling_group(AutoScalingGroupName=props["AutoScalingGroupName"], **kwargs)
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        # Auto Scaling has no not-found code: a missing group is a ValidationError saying "not found".
        with ignore_missing(lambda e: "not found" in str(e).lower() or e.response["Error"]["Code"] == "ValidationError"):
            request.aws_client_factory.autoscaling.delete_auto_scaling_group(
                AutoScalingGroupName=request.desired_state["AutoScalingGroupName"], ForceDelete=True
            )
        return success({})


AutoScalingGroupPlugin = plugin("AWS::AutoScaling::AutoScalingGroup", AutoScalingGroupProvider)
