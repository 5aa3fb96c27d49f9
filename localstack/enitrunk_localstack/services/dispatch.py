"""The dispatch table of a moto-backed service provider: its own `@handler`s, then moto.

LocalStack's `MotoFallbackDispatcher` only wraps operations of a generated API class, which
community has for neither ECS nor Auto Scaling, so every other operation of the botocore service
model is routed to moto here.
"""

from __future__ import annotations


def moto_dispatch_table(provider) -> dict:
    """The provider's @handler operations, and moto for every other operation of the service."""
    from localstack.aws.skeleton import create_dispatch_table
    from localstack.aws.spec import load_service
    from localstack.services.moto import _proxy_moto

    table = create_dispatch_table(provider)
    for operation in load_service(provider.service).operation_names:
        table.setdefault(operation, _proxy_moto)
    return table
