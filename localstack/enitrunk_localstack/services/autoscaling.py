"""The `autoscaling:enitrunk` service provider: the Auto Scaling API, entirely moto's.

LocalStack community ships no Auto Scaling provider; `localstack/run` selects this one with
`PROVIDER_OVERRIDE_AUTOSCALING=enitrunk`.
"""

from __future__ import annotations

from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

from enitrunk_localstack.services.dispatch import moto_dispatch_table


class AutoScalingProvider:
    """Auto Scaling, entirely moto's (community LocalStack has no provider for it)."""

    service = "autoscaling"

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.autoscaling.models import autoscaling_backends

        visitor.visit(autoscaling_backends)


@aws_provider(api="autoscaling", name="enitrunk")
def autoscaling():
    return Service.for_provider(AutoScalingProvider(), dispatch_table_factory=moto_dispatch_table)
