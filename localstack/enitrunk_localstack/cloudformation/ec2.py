"""CloudFormation resource providers for `AWS::EC2::LaunchTemplate` and `AWS::EC2::EIP`, backed
by moto's EC2.

LocalStack 4.13.1 community has a provider for neither, and its engine "deploys" unsupported
types as a no-op whose `Fn::GetAtt` is the string `unknown` (so a NAT gateway then fails on
`AllocationId 'unknown'`). Ref and GetAtt follow the CloudFormation reference: LaunchTemplate →
LaunchTemplateId / LaunchTemplateId, LatestVersionNumber, DefaultVersionNumber; EIP
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-eip.html)
→ the public IP address / AllocationId, PublicIp.
"""

from __future__ import annotations

from localstack.services.cloudformation.resource_provider import ResourceProvider, ResourceRequest

from enitrunk_localstack.cloudformation.common import generated_name, ignore_missing, plugin, success


class LaunchTemplateProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::EC2::LaunchTemplate",
        "primaryIdentifier": ["/properties/LaunchTemplateId"],
        "createOnlyProperties": ["/properties/LaunchTemplateName", "/properties/TagSpecifications"],
        "readOnlyProperties": [
            "/properties/LaunchTemplateId", "/properties/LatestVersionNumber", "/properties/DefaultVersionNumber",
        ],
    }

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        props.setdefault("LaunchTemplateName", generated_name(request, 128))
        kwargs = {"LaunchTemplateName": props["LaunchTemplateName"], "LaunchTemplateData": props.get("LaunchTemplateData") or {}}
        if props.get("VersionDescription"):
            kwargs["VersionDescription"] = props["VersionDescription"]
        if props.get("TagSpecifications"):
            kwargs["TagSpecifications"] = props["TagSpecifications"]
        lt = request.aws_client_factory.ec2.create_launch_template(**kwargs)["LaunchTemplate"]
        props["LaunchTemplateId"] = lt["LaunchTemplateId"]
        props["LatestVersionNumber"] = str(lt["LatestVersionNumber"])
        props["DefaultVersionNumber"] = str(lt["DefaultVersionNumber"])
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        # CloudFormation creates a new version and makes it the default.
        prev = request.previous_state
        props = {**request.desired_state, "LaunchTemplateName": prev["LaunchTemplateName"], "LaunchTemplateId": prev["LaunchTemplateId"]}
        ec2 = request.aws_client_factory.ec2
        version = ec2.create_launch_template_version(
            LaunchTemplateId=prev["LaunchTemplateId"], LaunchTemplateData=props.get("LaunchTemplateData") or {}
        )["LaunchTemplateVersion"]["VersionNumber"]
        ec2.modify_launch_template(LaunchTemplateId=prev["LaunchTemplateId"], DefaultVersion=str(version))
        props["LatestVersionNumber"] = props["DefaultVersionNumber"] = str(version)
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        with ignore_missing(lambda e: "NotFound" in e.response["Error"]["Code"]):
            request.aws_client_factory.ec2.delete_launch_template(LaunchTemplateId=request.desired_state["LaunchTemplateId"])
        return success({})


# What EC2 answers for an address (or its association) that no longer exists.
EIP_MISSING = frozenset({"InvalidAllocationID.NotFound", "InvalidAddress.NotFound", "InvalidAssociationID.NotFound"})


class EipProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": "AWS::EC2::EIP",
        # CloudFormation's physical id (and Ref) for an EIP is its public IP address.
        "primaryIdentifier": ["/properties/PublicIp"],
        "createOnlyProperties": [
            f"/properties/{p}"
            for p in ("Domain", "NetworkBorderGroup", "PublicIpv4Pool", "TransferAddress", "Address", "IpamPoolId")
        ],
        "readOnlyProperties": ["/properties/PublicIp", "/properties/AllocationId"],
    }

    def create(self, request: ResourceRequest[dict]):
        props = dict(request.desired_state)
        ec2 = request.aws_client_factory.ec2
        kwargs = {"Domain": props.get("Domain", "vpc")}
        for key in ("NetworkBorderGroup", "PublicIpv4Pool", "Address", "IpamPoolId"):
            if props.get(key):
                kwargs[key] = props[key]
        if props.get("Tags"):
            kwargs["TagSpecifications"] = [{"ResourceType": "elastic-ip", "Tags": props["Tags"]}]
        address = ec2.allocate_address(**kwargs)
        props["PublicIp"] = address["PublicIp"]
        props["AllocationId"] = address["AllocationId"]
        if props.get("InstanceId"):
            ec2.associate_address(AllocationId=props["AllocationId"], InstanceId=props["InstanceId"])
        return success(props)

    def update(self, request: ResourceRequest[dict]):
        prev = request.previous_state
        props = {**request.desired_state, "PublicIp": prev["PublicIp"], "AllocationId": prev["AllocationId"]}
        ec2 = request.aws_client_factory.ec2
        allocation = prev["AllocationId"]
        if props.get("InstanceId") != prev.get("InstanceId"):
            if prev.get("InstanceId"):
                self._disassociate(ec2, allocation)
            if props.get("InstanceId"):
                ec2.associate_address(AllocationId=allocation, InstanceId=props["InstanceId"])
        old_tags = {t["Key"]: t["Value"] for t in prev.get("Tags") or []}
        new_tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        if removed := [k for k in old_tags if k not in new_tags]:
            ec2.delete_tags(Resources=[allocation], Tags=[{"Key": k} for k in removed])
        if changed := [{"Key": k, "Value": v} for k, v in new_tags.items() if old_tags.get(k) != v]:
            ec2.create_tags(Resources=[allocation], Tags=changed)
        return success(props)

    def delete(self, request: ResourceRequest[dict]):
        props = request.desired_state
        ec2 = request.aws_client_factory.ec2
        allocation = props.get("AllocationId")
        if not allocation:
            return success({})
        with ignore_missing(EIP_MISSING):
            self._disassociate(ec2, allocation)
            ec2.release_address(AllocationId=allocation)
        return success({})

    @staticmethod
    def _disassociate(ec2, allocation: str) -> None:
        # Releasing an address that is still associated with an instance fails (AuthFailure).
        addresses = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
        for address in addresses:
            if address.get("AssociationId") and address.get("InstanceId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])


LaunchTemplatePlugin = plugin("AWS::EC2::LaunchTemplate", LaunchTemplateProvider)
EipPlugin = plugin("AWS::EC2::EIP", EipProvider)
