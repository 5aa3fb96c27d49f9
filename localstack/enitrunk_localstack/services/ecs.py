"""The `ecs:enitrunk` service provider (moto-backed) and its ECS account settings.

LocalStack community ships no ECS. It selects a service's provider by plugin name
`<api>:<provider>` in the `localstack.aws.provider` namespace, chosen with
`PROVIDER_OVERRIDE_<API>=<provider>`; `localstack/run` sets `PROVIDER_OVERRIDE_ECS=enitrunk`.
Operations this provider does not handle go to moto (`dispatch`).

ECS account settings are not moto's (moto keeps one value per account, ignoring the principal):
they live in `account_settings.AccountSettings`, keyed by the calling principal, which is resolved
from the request's access key through moto's STS assumed-role records and IAM users. Capacity
providers and strategies are handled in `ecs_capacity`, mixed into the provider.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from localstack.aws.api import RequestContext, handler
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor
from localstack.utils.aws.request_context import extract_access_key_id_from_auth_header

from enitrunk_localstack.services.account_settings import AccountSettings, InvalidParameter, root_arn
from enitrunk_localstack.services.dispatch import moto_dispatch_table
from enitrunk_localstack.services.ecs_capacity import CapacityProviderHandlers
from enitrunk_localstack.services.ecs_errors import InvalidParameterException

LOG = logging.getLogger(__name__)


def caller_principal(context: RequestContext) -> str:
    """The IAM principal whose credentials signed the request.

    An assumed-role session (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`) acts as its role
    `arn:aws:iam::ACCT:role/NAME` for ECS account settings; IAM users as themselves; anything
    else (LocalStack's `test` credentials, the account id as key) is the account root.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    partition = context.partition or "aws"
    access_key = extract_access_key_id_from_auth_header(context.request.headers)
    if access_key:
        accounts = [context.account_id] + [a for a in list(sts_backends.keys()) if a != context.account_id]
        for account in accounts:
            try:
                backend = sts_backends[account][partition]
            except KeyError:
                continue
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return role.role_arn
        user = iam_backends[context.account_id][partition].get_user_from_access_key_id(access_key)
        if user is not None:
            return user.arn
    return root_arn(context.account_id, partition)


class EcsProvider(CapacityProviderHandlers):
    """ECS: account settings here, capacity providers in services (`ecs_capacity`), everything else in moto."""

    service = "ecs"

    def __init__(self) -> None:
        self._settings: dict[tuple[str, str], AccountSettings] = {}
        self._lock = threading.Lock()

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.ecs.models import ecs_backends

        visitor.visit(ecs_backends)

    def settings(self, context: RequestContext) -> AccountSettings:
        key = (context.account_id, context.region)
        with self._lock:
            if key not in self._settings:
                self._settings[key] = AccountSettings(context.account_id, context.partition or "aws")
            return self._settings[key]

    @handler("PutAccountSetting", expand=False)
    def put_account_setting(self, context: RequestContext, request: dict) -> dict:
        caller = caller_principal(context)
        with invalid_parameter():
            s = self.settings(context).put(caller, request.get("name"), request.get("value"), request.get("principalArn"))
        LOG.debug("ecs PutAccountSetting %s=%s for %s (caller %s)", s["name"], s["value"], s["principalArn"], caller)
        return {"setting": _wire(s)}

    @handler("PutAccountSettingDefault", expand=False)
    def put_account_setting_default(self, context: RequestContext, request: dict) -> dict:
        with invalid_parameter():
            s = self.settings(context).put_default(request.get("name"), request.get("value"))
        return {"setting": _wire(s)}

    @handler("DeleteAccountSetting", expand=False)
    def delete_account_setting(self, context: RequestContext, request: dict) -> dict:
        caller = caller_principal(context)
        with invalid_parameter():
            s = self.settings(context).delete(caller, request.get("name"), request.get("principalArn"))
        return {"setting": _wire(s)}

    @handler("ListAccountSettings", expand=False)
    def list_account_settings(self, context: RequestContext, request: dict) -> dict:
        caller = caller_principal(context)
        with invalid_parameter():
            settings = self.settings(context).list(
                caller,
                name=request.get("name"),
                value=request.get("value"),
                principal_arn=request.get("principalArn"),
                effective_settings=bool(request.get("effectiveSettings", False)),
            )
        # Pagination: the full list is at most a dozen entries, far below the API's page size.
        return {"settings": [_wire(s) for s in settings]}


@contextmanager
def invalid_parameter():
    """The account-settings logic's `InvalidParameter` (it has no LocalStack imports) as the ECS error."""
    try:
        yield
    except InvalidParameter as e:
        raise InvalidParameterException(str(e)) from None


def _wire(s: dict) -> dict:
    return {"name": s["name"], "value": s["value"], "principalArn": s["principalArn"], "type": s["type"]}


@aws_provider(api="ecs", name="enitrunk")
def ecs():
    return Service.for_provider(EcsProvider(), dispatch_table_factory=moto_dispatch_table)
