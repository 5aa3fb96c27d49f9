"""ECS actions authorized by the caller's identity-based policies, and the principal they act as.

An assumed-role session (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`) acts as its role, with the
role's path (`arn:aws:iam::ACCT:role/PATH/NAME`); IAM users as themselves; root credentials and
LocalStack's internal calls as the account root. A refusal is ECS's `AccessDeniedException`
(`auth.authorize` words it).
"""

from __future__ import annotations

from collections.abc import Mapping

from localstack.aws.api import RequestContext

from enitrunk_localstack.auth.authorize import refusal
from enitrunk_localstack.auth.identity import SESSION, USER, caller_of
from enitrunk_localstack.auth.policy import root_arn
from enitrunk_localstack.services.ecs_errors import AccessDeniedException


def authorized_principal(
    context: RequestContext, action: str, resource: str = "*", keys: Mapping[str, str] | None = None
) -> str:
    """The principal `context`'s caller acts as, once its policies allow `action` on `resource`."""
    caller = caller_of(context)
    reason = refusal(caller, action, resource=resource, keys=keys)
    if reason is not None:
        raise AccessDeniedException(reason)
    if caller.kind in (USER, SESSION):
        return caller.principal_arn
    return root_arn(context.account_id, context.partition or "aws")
