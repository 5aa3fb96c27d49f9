"""Who may `sts:AssumeRole` a role: the checks moto leaves out (it assumes any ARN, existing or not).

From the STS API reference (AssumeRole): "To allow a user to assume a role in the same account, you
can do either of the following: Attach a policy to the user that allows the user to call AssumeRole
(as long as the role's trust policy trusts the account). Add the user as a principal directly in
the role's trust policy. [...] When a resource-based policy grants access to a principal in the
same account, no additional identity-based policy is required." And: "A user who wants to access a
role in a different account must also have permissions that are delegated from the account
administrator."

So, in order:
1. The root user may not assume roles (AWS answers "Roles may not be assumed by root accounts.").
2. The role must exist, else the caller is not authorized (AWS does not say which).
3. An explicit Deny in the trust policy or the caller's identity policies refuses.
4. A service principal (LocalStack's internal calls on behalf of a service, e.g. Lambda getting its
   function's credentials) needs a trust-policy Allow naming that service.
5. A user or session needs a trust-policy Allow that names it, or its account; then, unless the
   Allow names it directly and it is in the role's account, an identity-based Allow of
   `sts:AssumeRole` on the role's ARN.
LocalStack's own internal calls that name no service are not checked.
"""

from __future__ import annotations

from localstack.aws.api import CommonServiceException

from enitrunk_localstack.auth.authorize import condition_context, identity_decision
from enitrunk_localstack.auth.identity import LOCALSTACK, SERVICE, Caller
from enitrunk_localstack.auth.policy import Decision, Request, evaluate

ACTION = "sts:AssumeRole"


class AccessDenied(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("AccessDenied", message, status_code=403, sender_fault=True)


def not_authorized(caller: Caller, role_arn: str) -> AccessDenied:
    return AccessDenied(f"User: {caller.arn} is not authorized to perform: {ACTION} on resource: {role_arn}")


def check_assume_role(caller: Caller, role_arn: str, external_id: str | None, session_name: str | None) -> None:
    """Raises `AccessDenied` unless `caller` may assume `role_arn`."""
    if caller.kind == LOCALSTACK:
        return
    if caller.is_root:
        raise AccessDenied("Roles may not be assumed by root accounts.")
    trust_policy = role_trust_policy(role_arn)
    if trust_policy is None:
        raise not_authorized(caller, role_arn)
    context = condition_context(caller)
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    if session_name is not None:
        context["sts:RoleSessionName"] = session_name
    trusted = evaluate([trust_policy], Request(ACTION, role_arn, context, caller.as_principal()))
    if caller.kind == SERVICE:
        if trusted is not Decision.ALLOW:
            raise not_authorized(caller, role_arn)
        return
    identity = identity_decision(caller, ACTION, role_arn, context)
    if Decision.DENY in (trusted, identity) or trusted is Decision.IMPLICIT_DENY:
        raise not_authorized(caller, role_arn)
    same_account = f":{caller.account}:" in role_arn
    if trusted is Decision.ALLOW and same_account:
        return
    if identity is not Decision.ALLOW:
        raise not_authorized(caller, role_arn)


def role_trust_policy(role_arn: str):
    """The trust policy of the role with exactly this ARN, or None if there is none."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam" or not parts[4].isdigit() or not parts[5].startswith("role/"):
        return None
    try:
        backend = iam_backends[parts[4]][parts[1]]
    except KeyError:
        return None
    for role in list(backend.get_roles()):
        if role.arn == role_arn:
            return role.assume_role_policy_document
    return None
