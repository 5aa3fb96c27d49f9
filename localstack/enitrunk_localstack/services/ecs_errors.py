"""The ECS API's error responses that the `ecs:enitrunk` handlers raise."""

from __future__ import annotations

from contextlib import contextmanager

from localstack.aws.api import CommonServiceException


class ClientException(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("ClientException", message, status_code=400, sender_fault=True)


class InvalidParameterException(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("InvalidParameterException", message, status_code=400, sender_fault=True)


class AccessDeniedException(CommonServiceException):
    """ECS's answer to a call the caller's IAM policies do not allow: HTTP 400, as the ECS API's
    common errors list it (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html)."""

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message, status_code=400, sender_fault=True)


class ClusterNotFoundException(CommonServiceException):
    def __init__(self, message: str = "Cluster not found."):
        super().__init__("ClusterNotFoundException", message, status_code=400, sender_fault=True)


@contextmanager
def moto_errors():
    """moto's ECS errors, raised from a backend called directly, as the API errors they name."""
    from moto.core.exceptions import ServiceException

    try:
        yield
    except ServiceException as e:
        raise CommonServiceException(e.code, e.message, status_code=400, sender_fault=True) from None
