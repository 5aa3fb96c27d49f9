"""Who signed a request: the caller behind its access key, and that caller's identity-based policies.

AWS authenticates every request before anything else
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
"AWS first authenticates the principal that makes the request"). Here an access key is one of:
- a root key LocalStack documents (https://docs.localstack.cloud/references/credentials/): `test`,
  or a 12-digit account id ("taken by LocalStack as the account ID"), acting as that account's root
  user. LocalStack's own internal key `__internal_call__` also acts as root;
- an IAM user's access key (`iam:CreateAccessKey`, kept by moto), acting as that user while it is
  `Active`;
- an STS session's key (moto's assumed-role records), acting as that session when the request
  carries the session's token.
Anything else is not a caller (`Unrecognized`). A call LocalStack makes internally (its clients mark
it with the `x-localstack-data` header) acts as the user or session whose key signs it, else for
the service principal it names, else for LocalStack itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from enitrunk_localstack.auth.policy import Principal, root_arn

ROOT_ACCESS_KEY = "test"
INTERNAL_ACCESS_KEY = "__internal_call__"
ACCOUNT_ID_KEY = re.compile(r"^\d{12}$")
# Marker LocalStack puts in the Authorization header of unsigned requests
# (`localstack.aws.handlers.auth.MissingAuthHeaderInjector`).
UNSIGNED_ACCESS_KEY = "injectedaccesskey"

ROOT, USER, SESSION, SERVICE, LOCALSTACK = "root", "user", "session", "service", "localstack"


class Unrecognized(Exception):
    """No caller has this access key (or the session token does not match)."""


class Unsigned(Exception):
    """The request carries no credentials at all."""


@dataclass(frozen=True)
class Caller:
    kind: str
    account: str
    partition: str = "aws"
    # As GetCallerIdentity reports it: the root, user or session ARN; the service's name.
    arn: str = ""
    # The IAM principal that owns ECS account settings and IAM policies: a session's role (its ARN
    # with path, from the session record), else `arn`.
    principal_arn: str = ""
    # The user or role name whose policies apply (users and sessions).
    name: str = ""
    service: str | None = None
    source_arn: str | None = None
    # `aws:userid`: the account id for the root, the user's unique id, `ROLE-ID:SESSION-NAME` for
    # a role session (IAM User Guide, "aws:userid" in the global condition context keys).
    userid: str = ""

    @property
    def is_root(self) -> bool:
        return self.kind in (ROOT, LOCALSTACK)

    def as_principal(self) -> Principal:
        if self.kind == SERVICE:
            return Principal(service=self.service)
        return Principal(arns=frozenset({self.arn, self.principal_arn}), account=self.account)


def root_caller(account: str, partition: str, kind: str = ROOT) -> Caller:
    arn = root_arn(account, partition)
    return Caller(kind=kind, account=account, partition=partition, arn=arn, principal_arn=arn, userid=account)


def caller_of(context) -> Caller:
    """The caller of a LocalStack request (`RequestContext`); raises `Unrecognized` or `Unsigned`."""
    partition = context.partition or "aws"
    access_key, token = credentials_of(context.request)
    unsigned = access_key in (None, "", UNSIGNED_ACCESS_KEY)
    root_key = not unsigned and (access_key in (ROOT_ACCESS_KEY, INTERNAL_ACCESS_KEY) or bool(ACCOUNT_ID_KEY.match(access_key)))
    # The keys moto issues are never root keys: only look those up.
    found = None if unsigned or root_key else key_owner(access_key, token, context.account_id, partition)
    if found is not None:
        return found
    if context.is_internal_call:
        params = context.internal_request_params or {}
        if params.get("service_principal"):
            service = f"{params['service_principal']}.amazonaws.com"
            return Caller(kind=SERVICE, account=context.account_id, partition=partition, arn=service,
                          service=service, source_arn=params.get("source_arn"))
        return root_caller(context.account_id, partition, LOCALSTACK)
    if unsigned:
        raise Unsigned()
    if root_key:
        return root_caller(context.account_id, partition)
    raise Unrecognized(access_key)


def credentials_of(request) -> tuple[str | None, str | None]:
    """The access key id and session token of a request signed in its header or its query (pre-signed)."""
    from localstack.utils.aws.request_context import extract_access_key_id_from_auth_header

    credential = request.args.get("X-Amz-Credential")
    if credential:
        return credential.split("/", 1)[0], request.args.get("X-Amz-Security-Token")
    return extract_access_key_id_from_auth_header(request.headers), request.headers.get("X-Amz-Security-Token")


def key_owner(access_key: str, token: str | None, account: str, partition: str) -> Caller | None:
    """The user or session an access key belongs to, or None when it is neither's.

    Raises `Unrecognized` for a session key whose token does not match, and for a user's key that
    is not `Active`.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    # LocalStack decodes the account from a key it issued; look there first.
    accounts = [account] + [a for a in list(sts_backends.keys()) if a != account]
    for candidate in accounts:
        try:
            session = sts_backends[candidate][partition].get_assumed_role_from_access_key(access_key)
        except KeyError:
            continue
        if session is not None:
            if token != session.session_token:
                raise Unrecognized(access_key)
            return Caller(kind=SESSION, account=session.account_id, partition=partition, arn=session.arn,
                          principal_arn=session.role_arn, name=session.role_arn.rsplit("/", 1)[-1],
                          userid=session.user_id)
    backend = iam_backends[account][partition]
    for user in list(backend.users.values()):
        for key in user.access_keys:
            if key.access_key_id == access_key:
                if key.status != "Active":
                    raise Unrecognized(access_key)
                return Caller(kind=USER, account=account, partition=partition, arn=user.arn,
                              principal_arn=user.arn, name=user.name, userid=user.id)
    return None


def identity_policies(caller: Caller) -> list:
    """The identity-based policy documents of a user (its own and its groups') or of a session's role.

    Inline and attached managed policies, AWS managed ones included (moto ships them, e.g.
    `arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`). Permissions
    boundaries and session policies are not applied.
    """
    from moto.iam.models import iam_backends

    backend = iam_backends[caller.account][caller.partition]
    if caller.kind == USER:
        user = backend.users.get(caller.name)
        holders = [user] + list(backend.get_groups_for_user(caller.name)) if user else []
    elif caller.kind == SESSION:
        holders = [r for r in backend.get_roles() if r.arn == caller.principal_arn]
    else:
        return []
    documents = []
    for holder in holders:
        documents.extend(holder.policies.values())
        documents.extend(_default_document(p) for p in holder.managed_policies.values())
    return documents


def _default_document(managed_policy):
    for version in managed_policy.versions:
        if version.is_default:
            return version.document
    return "{}"
