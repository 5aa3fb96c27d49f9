"""ECS account settings kept per principal, with the resolution rules of the ECS API.

Pure logic (no LocalStack imports) so that it can be unit tested directly; `services.ecs` wires it
to requests. AWS semantics (API reference, PutAccountSetting / ListAccountSettings):
- a setting belongs to a principal (IAM user, IAM role, or the account root);
- the root's own setting *is* the account default (`PutAccountSettingDefault` writes it);
- the effective value for a principal is its own value, else the account default, else AWS's;
- `principalArn`: "In order to use this parameter, you must be the root user, or the principal."
  (PutAccountSetting, DeleteAccountSetting, ListAccountSettings); otherwise the call acts on the
  caller, an assumed-role session acting as its role.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from enitrunk_localstack.auth.policy import root_arn

# Setting names the ECS API accepts today (DESIGN §4), with the value AWS uses for a principal
# that has no setting and an account without a default. Long ARN formats have been enabled for
# every account since 2021; the rest are opt-in.
AWS_DEFAULTS: dict[str, str] = {
    "serviceLongArnFormat": "enabled",
    "taskLongArnFormat": "enabled",
    "containerInstanceLongArnFormat": "enabled",
    "awsvpcTrunking": "disabled",
    "containerInsights": "disabled",
    "fargateFIPSMode": "disabled",
    "tagResourceAuthorization": "off",
    "fargateTaskRetirementWaitPeriod": "7",
    "guardDutyActivate": "off",
    "defaultLogDriverMode": "non-blocking",
    "fargateEventWindows": "disabled",
    "dualStackIPv6": "disabled",
}

# Values the API validates per setting; settings not listed here take free-form values.
ALLOWED_VALUES: dict[str, set[str]] = {
    "serviceLongArnFormat": {"enabled", "disabled"},
    "taskLongArnFormat": {"enabled", "disabled"},
    "containerInstanceLongArnFormat": {"enabled", "disabled"},
    "awsvpcTrunking": {"enabled", "disabled"},
    "containerInsights": {"enabled", "disabled", "enhanced"},
    "fargateFIPSMode": {"enabled", "disabled"},
    "tagResourceAuthorization": {"on", "off"},
    "fargateTaskRetirementWaitPeriod": {"0", "7", "14"},
    "guardDutyActivate": {"on", "off"},
    "defaultLogDriverMode": {"blocking", "non-blocking"},
    "fargateEventWindows": {"enabled", "disabled"},
    "dualStackIPv6": {"enabled", "disabled"},
}


class InvalidParameter(Exception):
    """Maps to the ECS `InvalidParameterException`."""


class NotPermitted(Exception):
    """Maps to the ECS `ClientException`, which the API reference describes as "using an action or
    resource on behalf of a user that doesn't have permissions to use the action or resource"."""


def is_root(principal_arn: str) -> bool:
    return principal_arn.endswith(":root")


def validate_name(name: str | None) -> str:
    if not name:
        raise InvalidParameter("Setting name must be specified.")
    if name not in AWS_DEFAULTS:
        names = ", ".join(AWS_DEFAULTS)
        raise InvalidParameter(f"Invalid setting name '{name}'. Valid setting names are: {names}.")
    return name


def validate_value(name: str, value: str | None) -> str:
    if value is None or value == "":
        raise InvalidParameter("Setting value must be specified.")
    allowed = ALLOWED_VALUES.get(name)
    if allowed is not None and value not in allowed:
        raise InvalidParameter(
            f"Invalid value '{value}' for setting '{name}'. Valid values are: {', '.join(sorted(allowed))}."
        )
    return value


@dataclass
class AccountSettings:
    """The settings of one account in one region (ECS account settings are regional)."""

    account_id: str
    partition: str = "aws"
    # principal ARN -> setting name -> value; the root's entry is the account default.
    by_principal: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def root(self) -> str:
        return root_arn(self.account_id, self.partition)

    def _target(self, caller: str, principal_arn: str | None) -> str:
        """Which principal a call acts on: the caller, or one named by root or by itself."""
        if not principal_arn or principal_arn == caller:
            return caller
        if not is_root(caller):
            raise NotPermitted(
                f"Only the root user or the principal itself may specify principalArn: {caller} is neither "
                f"the root user nor {principal_arn}."
            )
        if f":{self.account_id}:" not in principal_arn:
            raise InvalidParameter(f"The principal {principal_arn} is not in account {self.account_id}.")
        return principal_arn

    def put(self, caller: str, name: str, value: str, principal_arn: str | None = None) -> dict:
        validate_name(name)
        validate_value(name, value)
        target = self._target(caller, principal_arn)
        with self.lock:
            self.by_principal.setdefault(target, {})[name] = value
        return setting(name, value, target)

    def put_default(self, name: str, value: str) -> dict:
        validate_name(name)
        validate_value(name, value)
        with self.lock:
            self.by_principal.setdefault(self.root, {})[name] = value
        return setting(name, value, self.root)

    def delete(self, caller: str, name: str, principal_arn: str | None = None) -> dict:
        validate_name(name)
        target = self._target(caller, principal_arn)
        with self.lock:
            own = self.by_principal.get(target, {})
            removed = own.pop(name, None)
            if not own:
                self.by_principal.pop(target, None)
        # The response describes the setting that was removed; when none was set, what now applies.
        return setting(name, removed if removed is not None else self.effective(target, name), target)

    def effective(self, principal: str, name: str) -> str:
        with self.lock:
            own = self.by_principal.get(principal, {})
            if name in own:
                return own[name]
            default = self.by_principal.get(self.root, {})
            if name in default:
                return default[name]
        return AWS_DEFAULTS[name]

    def list(
        self,
        caller: str,
        name: str | None = None,
        value: str | None = None,
        principal_arn: str | None = None,
        effective_settings: bool = False,
    ) -> list[dict]:
        if name is not None:
            validate_name(name)
        principal = self._target(caller, principal_arn)
        names = [name] if name else list(AWS_DEFAULTS)
        out: list[dict] = []
        with self.lock:
            own = dict(self.by_principal.get(principal, {}))
        for n in names:
            if effective_settings:
                v = self.effective(principal, n)
                # Reported for the principal asked about, whichever level the value came from.
                s = setting(n, v, principal, "user" if self._is_set(n, principal) else "aws_managed")
            elif n in own:
                s = setting(n, own[n], principal)
            else:
                continue
            if value is not None and s["value"] != value:
                continue
            out.append(s)
        return out

    def _is_set(self, name: str, principal: str) -> bool:
        with self.lock:
            return name in self.by_principal.get(principal, {}) or name in self.by_principal.get(self.root, {})


def setting(name: str, value: str, principal_arn: str, type_: str = "user") -> dict:
    return {"name": name, "value": value, "principalArn": principal_arn, "type": type_}
