"""Authorization of an action by the caller's identity-based policies, as AWS words a refusal.

Root is allowed everything ("The credentials of the account owner allow full access to all
resources in the account", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html), and
so are LocalStack's internal calls. Users and role sessions need an identity-based Allow and no
explicit Deny (`policy.evaluate`).
"""

from __future__ import annotations

from collections.abc import Mapping

from enitrunk_localstack.auth.identity import SESSION, SERVICE, USER, Caller, identity_policies
from enitrunk_localstack.auth.policy import Decision, Request, evaluate


def condition_context(caller: Caller) -> dict[str, str]:
    """The global condition keys of a request by `caller` that the extension provides."""
    if caller.kind == SERVICE:
        context = {"aws:PrincipalServiceName": caller.service or "", "aws:SourceAccount": caller.account}
        if caller.source_arn:
            context["aws:SourceArn"] = caller.source_arn
        return context
    context = {"aws:PrincipalArn": caller.principal_arn, "aws:PrincipalAccount": caller.account}
    if caller.userid:
        context["aws:userid"] = caller.userid
    return context


def identity_decision(caller: Caller, action: str, resource: str, context: Mapping[str, str]) -> Decision:
    return evaluate(identity_policies(caller), Request(action, resource, context))


def refusal(caller: Caller, action: str, resource: str = "*", keys: Mapping[str, str] | None = None) -> str | None:
    """The message AWS refuses `action` with, or None when `caller`'s identity-based policies allow it."""
    if caller.kind not in (USER, SESSION):
        return None
    decision = identity_decision(caller, action, resource, {**condition_context(caller), **(keys or {})})
    if decision is Decision.ALLOW:
        return None
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}"
