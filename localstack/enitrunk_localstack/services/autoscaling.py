"""The `autoscaling:enitrunk` service provider: the Auto Scaling API, moto's, with instance
refreshes (`autoscaling_refresh`), which moto lacks.

LocalStack community ships no Auto Scaling provider; `localstack/run` selects this one with
`PROVIDER_OVERRIDE_AUTOSCALING=enitrunk`. Operations without a handler here go to moto (`dispatch`).
"""

from __future__ import annotations

from contextlib import contextmanager

from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

from enitrunk_localstack.services import autoscaling_refresh
from enitrunk_localstack.services.dispatch import moto_dispatch_table
from enitrunk_localstack.services.instance_refresh import RefreshError


@contextmanager
def refresh_errors():
    """The instance-refresh logic's errors (it has no LocalStack imports) as Auto Scaling errors:
    each a sender fault with HTTP 400, as the API reference lists them."""
    try:
        yield
    except RefreshError as e:
        raise CommonServiceException(e.code, e.message, status_code=400, sender_fault=True) from None


class AutoScalingProvider:
    """Auto Scaling: instance refreshes here, everything else in moto."""

    service = "autoscaling"

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.autoscaling.models import autoscaling_backends

        visitor.visit(autoscaling_backends)

    @handler("StartInstanceRefresh", expand=False)
    def start_instance_refresh(self, context: RequestContext, request: dict) -> dict:
        with refresh_errors():
            return autoscaling_refresh.start(context.account_id, context.region, request)

    @handler("DescribeInstanceRefreshes", expand=False)
    def describe_instance_refreshes(self, context: RequestContext, request: dict) -> dict:
        with refresh_errors():
            return autoscaling_refresh.describe(context.account_id, context.region, request)

    @handler("CancelInstanceRefresh", expand=False)
    def cancel_instance_refresh(self, context: RequestContext, request: dict) -> dict:
        with refresh_errors():
            return autoscaling_refresh.cancel(context.account_id, context.region, request)

    @handler("RollbackInstanceRefresh", expand=False)
    def rollback_instance_refresh(self, context: RequestContext, request: dict) -> dict:
        with refresh_errors():
            return autoscaling_refresh.rollback(context.account_id, context.region, request)


@aws_provider(api="autoscaling", name="enitrunk")
def autoscaling():
    return Service.for_provider(AutoScalingProvider(), dispatch_table_factory=moto_dispatch_table)
