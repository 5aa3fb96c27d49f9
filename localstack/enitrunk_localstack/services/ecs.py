"""The `ecs:enitrunk` service provider (moto-backed) and its ECS account settings.

LocalStack community ships no ECS. It selects a service's provider by plugin name
`<api>:<provider>` in the `localstack.aws.provider` namespace, chosen with
`PROVIDER_OVERRIDE_<API>=<provider>`; `localstack/run` sets `PROVIDER_OVERRIDE_ECS=enitrunk`.
Operations this provider does not handle go to moto (`dispatch`).

ECS account settings are not moto's (moto keeps one value per account, ignoring the principal):
they live in `account_settings.AccountSettings`, keyed by the calling principal (`auth.identity`:
an assumed-role session acts as its role, an IAM user as itself, root credentials as the account
root). Each account-settings call is first authorized against the caller's identity-based policies
with the condition key `ecs:account-setting` (`auth.authorize`). Capacity providers and strategies
are handled in `ecs_capacity`; container instances (registration, trunks, deregistration) in
`ecs_container_instances`; tasks and their placement in `ecs_tasks` and `ecs_scheduler`: all mixed
into the provider.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from localstack.aws.api import RequestContext, handler
from localstack.services.plugins import Service, aws_provider
from localstack.state import StateVisitor

from enitrunk_localstack.services.account_settings import AccountSettings, InvalidParameter, NotPermitted
from enitrunk_localstack.services.dispatch import moto_dispatch_table
from enitrunk_localstack.services.ecs_capacity import CapacityProviderHandlers
from enitrunk_localstack.services.ecs_container_instances import ContainerInstanceHandlers
from enitrunk_localstack.services.ecs_errors import ClientException, InvalidParameterException
from enitrunk_localstack.services.ecs_iam import authorized_principal
from enitrunk_localstack.services.ecs_tasks import TaskHandlers

LOG = logging.getLogger(__name__)


# The actions with the condition key `ecs:account-setting`, per the Service Authorization Reference
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html);
# ListAccountSettings has none.
ACCOUNT_SETTING_KEY_ACTIONS = frozenset({"PutAccountSetting", "PutAccountSettingDefault", "DeleteAccountSetting"})


def account_settings_principal(context: RequestContext, operation: str, request: dict) -> str:
    """The principal an account-settings call acts as, once its identity-based policies allow the call
    (resource `*`, condition key `ecs:account-setting` = the setting's name)."""
    keys = {"ecs:account-setting": request.get("name") or ""} if operation in ACCOUNT_SETTING_KEY_ACTIONS else {}
    return authorized_principal(context, f"ecs:{operation}", keys=keys)


class EcsProvider(TaskHandlers, ContainerInstanceHandlers, CapacityProviderHandlers):
    """ECS: account settings here; capacity providers, container instances and tasks in the mixins;
    everything else in moto."""

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
        caller = account_settings_principal(context, "PutAccountSetting", request)
        with account_setting_errors():
            s = self.settings(context).put(caller, request.get("name"), request.get("value"), request.get("principalArn"))
        LOG.debug("ecs PutAccountSetting %s=%s for %s (caller %s)", s["name"], s["value"], s["principalArn"], caller)
        return {"setting": _wire(s)}

    @handler("PutAccountSettingDefault", expand=False)
    def put_account_setting_default(self, context: RequestContext, request: dict) -> dict:
        account_settings_principal(context, "PutAccountSettingDefault", request)
        with account_setting_errors():
            s = self.settings(context).put_default(request.get("name"), request.get("value"))
        return {"setting": _wire(s)}

    @handler("DeleteAccountSetting", expand=False)
    def delete_account_setting(self, context: RequestContext, request: dict) -> dict:
        caller = account_settings_principal(context, "DeleteAccountSetting", request)
        with account_setting_errors():
            s = self.settings(context).delete(caller, request.get("name"), request.get("principalArn"))
        return {"setting": _wire(s)}

    @handler("ListAccountSettings", expand=False)
    def list_account_settings(self, context: RequestContext, request: dict) -> dict:
        caller = account_settings_principal(context, "ListAccountSettings", request)
        with account_setting_errors():
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
def account_setting_errors():
    """The account-settings logic's errors (it has no LocalStack imports) as the ECS errors."""
    try:
        yield
    except InvalidParameter as e:
        raise InvalidParameterException(str(e)) from None
    except NotPermitted as e:
        raise ClientException(str(e)) from None


def _wire(s: dict) -> dict:
    return {"name": s["name"], "value": s["value"], "principalArn": s["principalArn"], "type": s["type"]}


@aws_provider(api="ecs", name="enitrunk")
def ecs():
    return Service.for_provider(EcsProvider(), dispatch_table_factory=moto_dispatch_table)
