"""Fixes to moto 5.1.54's Auto Scaling groups, applied when LocalStack starts
(`localstack.hooks.on_infra_start`). An instance refresh depends on both.

- `HealthCheckGracePeriod` defaults to 0 seconds, as the API reference says ("Default: 0
  seconds", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html);
  moto makes it 300, and makes an explicit 0 300 too. A refresh's instance warmup defaults to it.
- Each instance remembers the launch template version it was launched from, and
  `DescribeAutoScalingGroups`/`DescribeAutoScalingInstances` report that version for it (moto
  reports the template's default version for every instance, and tags each EC2 instance with the
  default version's number, whatever version the group launched). Skip matching compares it with
  the version the group launches now.
"""

from __future__ import annotations

import inspect

from localstack.runtime import hooks

# Where an InstanceState keeps what it was launched from: {LaunchTemplateId, LaunchTemplateName, Version}.
LAUNCHED_FROM = "enitrunk_launched_from"


def group_launch_template(group) -> dict | None:
    """The launch template and version number the group launches from now, or None (a launch
    configuration). `$Latest` and `$Default` resolve to the version they name at this moment."""
    template = group.ec2_launch_template
    if template is None:
        return None
    version = template.get_version(group.launch_template_version)
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "Version": str(version.number)}


def launched_from(state) -> dict | None:
    return getattr(state, LAUNCHED_FROM, None)


@hooks.on_infra_start()
def fix_autoscaling_groups():
    from localstack.utils.patch import patch
    from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState

    @patch(AutoScalingBackend.create_auto_scaling_group)
    def create_auto_scaling_group(fn, self, *args, **kwargs):
        group = fn(self, *args, **kwargs)
        period = inspect.signature(fn).bind(self, *args, **kwargs).arguments.get("health_check_period")
        group.health_check_grace_period = int(period) if period is not None else 0
        return group

    @patch(FakeAutoScalingGroup.replace_autoscaling_group_instances)
    def replace_autoscaling_group_instances(fn, self, count_needed, propagated_tags):
        template = group_launch_template(self)
        before = {id(s) for s in self.instance_states}
        fn(self, count_needed, propagated_tags)
        if template is None:
            return
        for state in self.instance_states:
            if id(state) not in before:
                setattr(state, LAUNCHED_FROM, template)
                state.instance.add_tags({"aws:ec2launchtemplate:version": template["Version"]})

    group_template = InstanceState.launch_template

    def launch_template(self):
        return dict(launched_from(self) or {}) or group_template.fget(self)

    InstanceState.launch_template = property(launch_template)
