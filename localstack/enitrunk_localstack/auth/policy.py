"""IAM policy evaluation for the requests the extension authorizes: pure logic, no LocalStack imports.

The rules are the IAM User Guide's for requests within one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
"An explicit deny in any of the policies overrides the allow", and without an Allow the request
is implicitly denied. A statement applies when its `Action`/`NotAction`, `Resource`/`NotResource`,
`Principal` (resource-based policies only) and every `Condition` match the request.

moto's `moto.iam.access_control.IAMPolicy` is not used: its conditions pass when the key is
missing from the request and when the operator is unknown, an Allow whose condition fails counts
as an explicit Deny, actions match case-sensitively, `?`, `NotResource` and `StringLike` are not
supported, and a `Service` principal is compared as if it were an ARN.

What this evaluator supports, and what it does with the rest:
- `Action`/`NotAction`: case-insensitive, with `*` and `?` wildcards; `Resource`/`NotResource`:
  case-sensitive, same wildcards (over the whole ARN).
- `Principal` (`"*"`, `AWS`, `Service`): see `principal_match`. `NotPrincipal` is not supported.
- Condition operators `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
  `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
  `ArnNotEquals`, `ArnNotLike`, `Bool` (`true`/`false`, any case), each with `...IfExists`.
  Condition keys are case-insensitive.
  A key missing from the request makes a positive operator false and a negated one true
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
- Unknown operators, `ForAnyValue:`/`ForAllValues:` set operators, `NotPrincipal` and
  unparseable documents fail closed: such an Allow statement grants nothing and such a Deny
  statement denies. Policy variables (`${aws:username}`) are matched literally.
"""

from __future__ import annotations

import enum
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ROOT_ARN = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")


def root_arn(account_id: str, partition: str = "aws") -> str:
    """The ARN naming an account's root user (and, in a `Principal`, the account)."""
    return f"arn:{partition}:iam::{account_id}:root"


class Decision(enum.Enum):
    DENY = "explicit deny"
    # An Allow that names the caller (or every principal, or an identity policy's Allow).
    ALLOW = "allow"
    # Only in resource-based policies: an Allow naming the caller's account; whether the caller
    # may act is then up to its identity-based policies.
    ALLOW_ACCOUNT = "allow for the account"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Principal:
    """The caller as a resource-based policy's `Principal` element names it."""

    # ARNs naming this caller directly: a user's ARN; for a role session the role's ARN and the
    # session's ARN.
    arns: frozenset[str] = frozenset()
    account: str | None = None
    # A service principal, e.g. `lambda.amazonaws.com`.
    service: str | None = None


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    # Condition keys of the request (any case) and their values.
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    # Set when evaluating a resource-based policy (a role's trust policy).
    principal: Principal | None = None


class _FailClosed(Exception):
    """A statement element this evaluator does not support."""


def evaluate(documents: Iterable[Any], request: Request) -> Decision:
    """The decision of these policies together: explicit Deny, else any Allow, else implicit deny."""
    decision = Decision.IMPLICIT_DENY
    for document in documents:
        try:
            found = statements(document)
        except ValueError:
            return Decision.DENY
        for statement in found:
            effect = statement.get("Effect")
            try:
                match = _statement_match(statement, request)
            except _FailClosed:
                match = Decision.DENY if effect == "Deny" else None
            if match is None:
                continue
            if effect == "Deny":
                return Decision.DENY
            if effect == "Allow" and decision is not Decision.ALLOW:
                decision = match
    return decision


def statements(document: Any) -> list[dict]:
    """The statements of a policy document (a dict, or its JSON text, URL-encoded or not).

    Raises ValueError for text that is not JSON either way.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = json.loads(urllib.parse.unquote(document))
    found = document.get("Statement", []) if isinstance(document, dict) else []
    found = [found] if isinstance(found, dict) else found
    return [s for s in found if isinstance(s, dict)]


def _statement_match(statement: dict, request: Request) -> Decision | None:
    """`ALLOW`/`ALLOW_ACCOUNT` when the statement applies to the request (whatever its effect), else None."""
    if "NotPrincipal" in statement:
        raise _FailClosed("NotPrincipal")
    if "NotAction" in statement:
        if _any_match(statement["NotAction"], request.action, ignore_case=True):
            return None
    elif not _any_match(statement.get("Action", []), request.action, ignore_case=True):
        return None
    if "NotResource" in statement:
        if _any_match(statement["NotResource"], request.resource):
            return None
    elif "Resource" in statement and not _any_match(statement["Resource"], request.resource):
        return None
    match = Decision.ALLOW
    if request.principal is not None:
        match = principal_match(statement.get("Principal"), request.principal)
        if match is None:
            return None
    if not conditions_hold(statement.get("Condition") or {}, request.context):
        return None
    return match


def principal_match(element: Any, principal: Principal) -> Decision | None:
    """How a `Principal` element names the caller: `ALLOW` directly, `ALLOW_ACCOUNT` by account, or None.

    `"*"` (or `{"AWS": "*"}`) names everyone. `AWS` values name a user or role by ARN (a role
    covers its sessions), a session by its ARN, or an account by id or root ARN ("the account":
    its identity-based policies then decide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    `Service` values name only a service principal, never an IAM caller.
    """
    if element is None:
        return None
    if element == "*":
        return Decision.ALLOW
    if not isinstance(element, dict):
        return None
    best = None
    for value in _values(element.get("AWS")):
        if value == "*" or value in principal.arns:
            return Decision.ALLOW
        root = ROOT_ARN.match(value)
        account = root.group(1) if root else value
        if principal.account is not None and account == principal.account:
            best = Decision.ALLOW_ACCOUNT
    if principal.service is not None and principal.service in _values(element.get("Service")):
        return Decision.ALLOW
    return best


_OPERATOR = re.compile(r"^(String|Arn)(Not)?(Equals|Like|EqualsIgnoreCase)(IfExists)?$")
# Bucket policies refuse requests without TLS with `"Bool": {"aws:SecureTransport": "false"}`.
_BOOL = re.compile(r"^Bool(IfExists)?$")


def conditions_hold(block: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Every operator of a `Condition` block holds (AND), each for every key it names (AND)."""
    keys = {k.lower(): v for k, v in context.items()}
    for operator, tests in block.items():
        parsed, boolean = _OPERATOR.match(operator), _BOOL.match(operator)
        if (parsed is None and boolean is None) or not isinstance(tests, dict):
            raise _FailClosed(operator)
        if parsed is not None:
            kind, negated, comparison, if_exists = parsed.groups()
        else:
            kind, negated, comparison, if_exists = "Bool", None, "EqualsIgnoreCase", boolean.group(1)
        if kind == "Arn" and comparison == "EqualsIgnoreCase":
            raise _FailClosed(operator)
        for key, expected in tests.items():
            present = keys.get(key.lower())
            if present is None:
                if not (negated or if_exists):
                    return False
                continue
            hit = any(
                _compare(comparison, kind, str(want), value)
                for want in _values(expected)
                for value in _values(present)
            )
            if hit == bool(negated):
                return False
    return True


def _compare(comparison: str, kind: str, want: str, value: str) -> bool:
    if comparison == "EqualsIgnoreCase":
        return want.lower() == value.lower()
    # ArnEquals and ArnLike both take wildcards
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
    if comparison == "Like" or kind == "Arn":
        return _glob(want, value)
    return want == value


def _values(element: Any) -> list[str]:
    if element is None:
        return []
    items = element if isinstance(element, (list, tuple)) else [element]
    # JSON booleans are written `true`/`false` in policies and request contexts alike.
    return [("true" if e else "false") if isinstance(e, bool) else str(e) for e in items]


def _any_match(patterns: Any, value: str, ignore_case: bool = False) -> bool:
    return any(_glob(p, value, ignore_case) for p in _values(patterns))


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, (re.IGNORECASE if ignore_case else 0) | re.DOTALL) is not None
