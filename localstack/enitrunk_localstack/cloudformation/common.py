"""Helpers shared by the CloudFormation resource providers: `custom_resource`, and the moto-backed
`ecs`, `ec2` and `autoscaling`."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Collection
from contextlib import contextmanager

from botocore.exceptions import ClientError

from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    OperationStatus,
    ProgressEvent,
    ResourceRequest,
)


def camel(value, keep_keys_of: frozenset[str] = frozenset()):
    """CloudFormation's PascalCase property shapes → the ECS API's camelCase, recursively.

    Maps whose keys are user data (e.g. `DockerLabels`, `Options`) keep their keys.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k[:1].lower() + k[1:]
            out[key] = v if k in keep_keys_of else camel(v, keep_keys_of)
        return out
    if isinstance(value, list):
        return [camel(v, keep_keys_of) for v in value]
    return value


def generated_name(request: ResourceRequest, max_len: int = 255) -> str:
    """`<stack>-<logical id>-<random>`, the shape of CloudFormation's generated names."""
    suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
    base = f"{request.stack_name}-{request.logical_resource_id}"
    return f"{base[: max_len - 13]}-{suffix}"


def as_int(value) -> int | None:
    return None if value is None else int(str(value))


def with_ints(shape: dict, *keys: str) -> dict:
    """`shape` with `keys` as integers: templates give numbers as strings as often as not."""
    for key in keys:
        if key in shape:
            shape[key] = as_int(shape[key])
    return shape


@contextmanager
def ignore_missing(missing: Collection[str] | Callable[[ClientError], bool]):
    """A delete succeeds when what it deletes is already gone, as in CloudFormation.

    `missing` says which errors mean "gone": a collection of error codes, or a predicate.
    """
    try:
        yield
    except ClientError as e:
        gone = missing(e) if callable(missing) else e.response["Error"]["Code"] in missing
        if not gone:
            raise


def success(model: dict) -> ProgressEvent:
    return ProgressEvent(OperationStatus.SUCCESS, resource_model=model)


def plugin(type_name: str, provider_cls) -> type[CloudFormationResourceProviderPlugin]:
    """A `localstack.cloudformation.resource_providers` plugin class for `provider_cls`."""

    class _Plugin(CloudFormationResourceProviderPlugin):
        name = type_name

        def __init__(self):
            self.factory = None

        def load(self):
            self.factory = provider_cls

    _Plugin.__name__ = _Plugin.__qualname__ = provider_cls.__name__ + "Plugin"
    return _Plugin
