"""CloudFormation resource provider for `AWS::AutoScaling::AutoScalingGroup`, backed by moto
through the Auto Scaling API (`autoscaling:enitrunk`).

Ref follows the CloudFormation reference: AutoScalingGroup → its name.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from localstack.services.cloudformation.resource_provider import ResourceProvider, ResourceRequest

from enitrunk_localstack.cloudformation.common import as_int, generated_name, plugin, success


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
        try:
            request.aws_client_factory.autoscaling.delete_auto_scaling_group(
                AutoScalingGroupName=request.desired_state["AutoScalingGroupName"], ForceDelete=True
            )
        except ClientError as e:
            if "not found" not in str(e).lower() and e.response["Error"]["Code"] != "ValidationError":
                raise
        return success({})


AutoScalingGroupPlugin = plugin("AWS::AutoScaling::AutoScalingGroup", AutoScalingGroupProvider)
