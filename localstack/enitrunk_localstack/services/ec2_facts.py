"""Facts about a moto EC2 instance that the emulated agent and ECS read: the launch template it came
from, its instance profile's role, its resource-name DNS option, its Auto Scaling group.

moto keeps some of these only on the launch template (an Auto Scaling group launches without
copying `IamInstanceProfile` or `PrivateDnsNameOptions` onto the instance), so they are read the
way EC2 applies them: the instance's own association (`RunInstances`, `AssociateIamInstanceProfile`),
else the launch template version it was launched from (its `aws:ec2launchtemplate:*` tags), else
the subnet's launch default.
"""

from __future__ import annotations

from typing import Any

RUNNING = "running"


def ec2_backend(account: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def find_instance(account: str, region: str, instance_id: str):
    """The instance, or None when EC2 has no such instance."""
    from moto.ec2.exceptions import InvalidInstanceIdError

    try:
        return ec2_backend(account, region).get_instance(instance_id)
    except InvalidInstanceIdError:
        return None


def is_running(instance) -> bool:
    return instance is not None and instance.state == RUNNING


def launch_template_data(instance) -> dict[str, Any]:
    """The data of the launch template version the instance was launched from ({} if none)."""
    tags = instance.ec2_backend.tags.get(instance.id, {})
    template_id = tags.get("aws:ec2launchtemplate:id")
    if not template_id:
        return {}
    try:
        version = instance.ec2_backend._get_template_from_args(
            {"LaunchTemplateId": template_id, "Version": tags.get("aws:ec2launchtemplate:version")}
        )
    except Exception:  # the template was deleted since
        return {}
    return version.data or {}


def instance_profile_role_arn(instance, partition: str = "aws") -> str | None:
    """The ARN of the role in the instance's instance profile, or None without one."""
    from moto.ec2.utils import filter_iam_instance_profiles

    association = instance.ec2_backend.iam_instance_profile_associations.get(instance.id)
    profile = getattr(association, "iam_instance_profile", None)
    if profile is None:
        spec = launch_template_data(instance).get("IamInstanceProfile") or {}
        if spec.get("Arn") or spec.get("Name"):
            try:
                profile = filter_iam_instance_profiles(
                    instance.owner_id, partition, iam_instance_profile_arn=spec.get("Arn"),
                    iam_instance_profile_name=spec.get("Name"),
                )
            except Exception:  # the profile was deleted since
                profile = None
    roles = getattr(profile, "roles", None) or []
    return roles[0].arn if roles else None


def resource_name_dns_a_record(instance) -> bool:
    """Whether the instance answers resource-based IPv4 (A record) DNS requests."""
    options = launch_template_data(instance).get("PrivateDnsNameOptions") or {}
    if "EnableResourceNameDnsARecord" in options:
        return _true(options["EnableResourceNameDnsARecord"])
    subnet = instance.ec2_backend.get_subnet(instance.subnet_id) if instance.subnet_id else None
    on_launch = getattr(subnet, "private_dns_name_options_on_launch", None) or {}
    return _true(on_launch.get("EnableResourceNameDnsARecord", False))


def _true(value) -> bool:
    return value is True or str(value).lower() == "true"


def security_group_ids(instance) -> list[str]:
    return [g.id for g in instance.security_groups]


def auto_scaling_group_arn(instance) -> str | None:
    group = getattr(instance, "autoscaling_group", None)
    return getattr(group, "arn", None)


def next_device_index(instance) -> int:
    used = set(instance.nics)
    return next(i for i in range(1, 1 + len(used) + 1) if i not in used)
