"""AWS Organizations (moto's) for service-managed stack sets, and what StackSets reads from it.

LocalStack community answers every Organizations call with "not included in your current
license plan"; a gateway handler (installed at start with the StackSets handlers) serves them
from moto's backend instead, and tells StackSets when `MoveAccount` has moved an account, for
auto-deployment. moto keeps an organization in its management account's backend, and records
every member account's management account (`organizations_backends.master_accounts`).
"""

from __future__ import annotations

import json
import logging
from xml.etree import ElementTree

LOG = logging.getLogger(__name__)

# The service principal of StackSets' trusted access and delegated administrators
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html).
STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def _backends():
    from moto.organizations.models import organizations_backends

    return organizations_backends


def management_account(account: str) -> str | None:
    """The management account of `account`'s organization (itself when it is one); None outside one."""
    backends = _backends()
    if account in backends and backends[account]["aws"].org is not None:
        return account
    found = backends.master_accounts.get(account)
    return found[0] if found else None


def _backend(management: str):
    return _backends()[management]["aws"]


def organization_id(account: str) -> str | None:
    """The id (`o-...`) of the organization `account` is in, management account included; None outside one."""
    management = management_account(account)
    if management is None:
        return None
    org = _backend(management).org
    return org.id if org is not None else None


def trusted_access(management: str) -> bool:
    return any(s["ServicePrincipal"] == STACKSETS_PRINCIPAL for s in _backend(management).services)


def enable_trusted_access(management: str) -> None:
    _backend(management).enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)


def is_delegated_admin(management: str, account: str) -> bool:
    for admin in _backend(management).admins:
        if admin.account.id == account and STACKSETS_PRINCIPAL in admin.services:
            return True
    return False


def is_any_delegated_admin(management: str, account: str) -> bool:
    return any(admin.account.id == account for admin in _backend(management).admins)


# Organizations API reference, "Reference: API operations by account"
# (https://docs.aws.amazon.com/organizations/latest/APIReference/action-reference.html): the
# read operations that "can be called only from the organization's management account or by a
# member account that is a delegated administrator" (the write ones are management-only here).
DELEGATED_READS = frozenset({
    "DescribeAccount", "DescribeCreateAccountStatus", "DescribeHandshake", "DescribeOrganizationalUnit",
    "DescribePolicy", "ListAccounts", "ListAccountsForParent", "ListAWSServiceAccessForOrganization",
    "ListChildren", "ListCreateAccountStatus", "ListDelegatedAdministrators", "ListDelegatedServicesForAccount",
    "ListHandshakesForOrganization", "ListOrganizationalUnitsForParent", "ListParents", "ListPolicies",
    "ListPoliciesForTarget", "ListRoots", "ListTagsForResource", "ListTargetsForPolicy",
})
# The same page's "Operations you can call from only the organization's management account" (a
# delegated administrator included: only an Organizations delegation policy, which the extension
# does not have, lets one call some of them).
MANAGEMENT_ONLY = frozenset({
    "CancelHandshake", "CreateAccount", "CreateGovCloudAccount", "CreateOrganizationalUnit", "DeleteOrganization",
    "DeleteOrganizationalUnit", "DeregisterDelegatedAdministrator", "DisableAWSServiceAccess", "EnableAllFeatures",
    "EnableAWSServiceAccess", "InviteAccountToOrganization", "MoveAccount", "RegisterDelegatedAdministrator",
    "RemoveAccountFromOrganization", "UpdateOrganizationalUnit",
})
ACCESS_DENIED = "You don't have permissions to access this resource."


def _member_of(account: str) -> str | None:
    """The management account of the organization `account` is a member (not the management
    account) of; None otherwise."""
    management = management_account(account)
    return management if management not in (None, account) else None


def _json_error(response, code: str, message: str, status: int = 400) -> None:
    # Organizations speaks JSON 1.1; its errors are JSON too.
    response.status_code = status
    response.headers["Content-Type"] = "application/x-amz-json-1.1"
    response.set_data(json.dumps({"__type": code, "Message": message}).encode())


def _xml_error_as_json(response) -> None:
    """moto raises some Organizations errors (ParentNotFoundException, ...) as XML, which no
    JSON client reads: the same code and message, as JSON."""
    body = response.get_data()
    if response.status_code < 400 or not body.lstrip().startswith(b"<"):
        return
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return
    code, message = root.findtext(".//Code"), root.findtext(".//Message")
    if code:
        _json_error(response, code, (message or "").strip(), response.status_code)


def _parents(backend, node_id: str) -> list[str]:
    """The OUs (and root) above an account or OU, nearest first."""
    by_id = {ou.id: ou for ou in backend.ou}
    chain = []
    parent = next((a.parent_id for a in backend.accounts if a.id == node_id), None)
    if parent is None and node_id in by_id:
        parent = getattr(by_id[node_id], "parent_id", None)
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = getattr(by_id.get(parent), "parent_id", None)
    return chain


def known_targets(management: str, ou_ids: list[str]) -> list[str]:
    """The given ids that are not roots or OUs of the organization."""
    ids = {ou.id for ou in _backend(management).ou}
    return [i for i in ou_ids if i not in ids]


def accounts_under(management: str, ou_ids: list[str]) -> list[tuple[str, str]]:
    """(account, the target OU it is under) for every account in or below the OUs, the
    management account left out: "StackSets doesn't deploy stack instances to the organization's
    management account, even if the management account is in your organization or in an OU in
    your organization" (stacksets-concepts, service-managed permissions)."""
    backend = _backend(management)
    out = []
    for account in sorted(backend.accounts, key=lambda a: a.create_time):
        if account.id == management:
            continue
        chain = [account.parent_id, *_parents(backend, account.parent_id)]
        target = next((ou for ou in chain if ou in ou_ids), None)
        if target is not None:
            out.append((account.id, target))
    return out


def suspended(management: str, account: str) -> bool:
    return any(a.id == account and a.status == "SUSPENDED" for a in _backend(management).accounts)


def under(management: str, account: str, ou_ids) -> str | None:
    """The target OU `account` is under now, if any."""
    backend = _backend(management)
    parent = next((a.parent_id for a in backend.accounts if a.id == account), None)
    if parent is None:
        return None
    return next((ou for ou in [parent, *_parents(backend, parent)] if ou in ou_ids), None)


def serve(chain, context, response) -> None:
    """Serves an Organizations request from moto; after a `MoveAccount`, tells StackSets."""
    if not context.service or context.service.service_name != "organizations" or context.operation is None:
        return
    from localstack.services.moto import dispatch_to_moto

    operation = context.operation.name
    member_of = _member_of(context.account_id)
    if member_of and (
        operation in MANAGEMENT_ONLY
        or (operation in DELEGATED_READS and not is_any_delegated_admin(member_of, context.account_id))
    ):
        _json_error(response, "AccessDeniedException", ACCESS_DENIED)
        chain.stop()
        return
    answer = dispatch_to_moto(context)
    response.update_from(answer)
    _xml_error_as_json(response)
    chain.stop()
    if context.operation.name == "MoveAccount" and answer.status_code == 200:
        request = context.service_request or {}
        management = management_account(context.account_id)
        if management is not None:
            from enitrunk_localstack.stacksets.api import account_moved

            try:
                account_moved(management, request["AccountId"])
            except Exception:
                LOG.exception("auto-deployment after moving %s failed", request.get("AccountId"))


def install() -> None:
    from localstack.aws import handlers
    from moto.organizations.models import FakeDelegatedAdministrator

    handlers.serve_custom_service_request_handlers.append(serve)
    _delegated_reads_see_the_organization()
    # moto 5.1.54 refuses StackSets' principal in RegisterDelegatedAdministrator, which the user
    # guide registers (stacksets-orgs-delegated-admin: "--service-principal=member.org.stacksets.cloudformation.amazonaws.com").
    if STACKSETS_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS_PRINCIPAL)


def _delegated_reads_see_the_organization() -> None:
    """moto answers each account from its own backend, where a member has no organization: a
    delegated administrator's reads are answered from its management account's."""
    from moto.organizations.responses import OrganizationsResponse

    own = OrganizationsResponse.organizations_backend

    def organizations_backend(self):
        member_of = _member_of(self.current_account)
        if member_of and self._get_action() in DELEGATED_READS and is_any_delegated_admin(member_of, self.current_account):
            return _backends()[member_of][self.partition]
        return own.fget(self)

    OrganizationsResponse.organizations_backend = property(organizations_backend)
