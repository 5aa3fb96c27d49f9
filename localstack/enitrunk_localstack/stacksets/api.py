"""The StackSets operations of CloudFormation's API, in place of LocalStack's (which deploy
synchronously, ignore preferences and failures, and record every operation as SUCCEEDED).

Pages cited: `API_*` under https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/.
A stack set lives in the account and Region that created it (the administrator's). Operations
(`CreateStackInstances`, `UpdateStackSet`, `UpdateStackInstances`, `DeleteStackInstances`) answer
their `OperationId` at once and run on their own thread (`plan` decides the order and the
concurrency, `deploy` deploys one instance); each instance runs on a thread of its own while the
operation allows it. Another operation on the same stack set meanwhile is refused with
`OperationInProgressException`, unless the stack set's `ManagedExecution` is `Active`, when it
waits `QUEUED` and runs after the ones before it, in request order (API_ManagedExecution:
"StackSets ... queues conflicting operations. After conflicting operations finish, StackSets
starts queued operations in request order"; here every operation of a stack set conflicts).

Service-managed stack sets target OUs of the caller's organization (`organizations`), which
needs trusted access; `CallAs=DELEGATED_ADMIN` needs the caller registered as a delegated
administrator for StackSets. List operations answer everything in one page.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from enitrunk_localstack.stacksets import deploy, organizations
from enitrunk_localstack.stacksets.plan import InvalidPreferences, Preferences, RegionRun

LOG = logging.getLogger(__name__)

DEFAULT_ADMIN_ROLE = "AWSCloudFormationStackSetAdministrationRole"
DEFAULT_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
TOLERANCE_EXCEEDED = "Cancelled since failure tolerance has exceeded"
# Chosen, as AWS's are not documented: the reasons of instances a StopStackSetOperation
# cancelled, and of those skipped because their account is suspended.
SKIPPED_SUSPENDED = "Skipped since the account was suspended at the time of the operation"
STOPPED_BY_USER = "Cancelled since the operation was stopped by StopStackSetOperation"
NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
ACCOUNT = re.compile(r"^[0-9]{12}$")

LOCK = threading.RLock()
CHANGED = threading.Condition(LOCK)
# (administrator account, Region) -> stack set id -> stack set
SETS: dict[tuple[str, str], dict[str, StackSet]] = {}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Instance:
    account: str
    region: str
    status: str = "OUTDATED"
    detailed: str = "PENDING"
    reason: str | None = None
    stack_id: str | None = None
    last_operation_id: str | None = None
    overrides: list = field(default_factory=list)
    ou: str | None = None


@dataclass
class Operation:
    id: str
    action: str
    targets: list[tuple[str, str]]
    preferences: dict
    template: dict
    admin_role_arn: str
    execution_role: str
    retain_stacks: bool | None = None
    overrides: list | None = None
    deployment_targets: dict | None = None
    status: str = "RUNNING"
    reason: str | None = None
    created: datetime = field(default_factory=now)
    ended: datetime | None = None
    results: dict = field(default_factory=dict)
    stop: bool = False
    exceeded_region: str | None = None
    # service-managed: the target OU of each account
    ous: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ("RUNNING", "STOPPING", "QUEUED")


@dataclass
class StackSet:
    name: str
    id: str
    arn: str
    account: str
    region: str
    request: dict
    admin_role_arn: str
    execution_role: str
    managed_execution: bool
    permission_model: str = "SELF_MANAGED"
    auto_deployment: dict = field(default_factory=dict)
    # service-managed: the organization's management account, the OUs and Regions targeted
    management: str | None = None
    ou_ids: list = field(default_factory=list)
    regions: list = field(default_factory=list)
    status: str = "ACTIVE"
    instances: dict = field(default_factory=dict)
    operations: dict = field(default_factory=dict)
    queue: list = field(default_factory=list)

    def template(self) -> dict:
        """What CreateStack/UpdateStack get for this stack set now (before instance overrides)."""
        r = self.request
        out = {}
        if r.get("TemplateBody"):
            out["TemplateBody"] = r["TemplateBody"]
        elif r.get("TemplateURL"):
            out["TemplateURL"] = r["TemplateURL"]
        for key in ("Parameters", "Capabilities", "Tags"):
            if r.get(key):
                out[key] = list(r[key])
        return out


# ------------------------------------------------------------------------------------- errors


def _validation(message: str):
    from localstack.services.cloudformation.engine.validations import ValidationError

    return ValidationError(message)


def _not_found(name: str):
    from localstack.aws.api.cloudformation import StackSetNotFoundException

    return StackSetNotFoundException(f"StackSet {name} not found")


def _check_call_as(context, request: dict) -> None:
    call_as = request.get("CallAs") or "SELF"
    if call_as == "SELF":
        return
    if call_as != "DELEGATED_ADMIN":
        raise _validation("CallAs must be SELF or DELEGATED_ADMIN")
    # API_CreateStackSet, CallAs: "Your Amazon Web Services account must be registered as a
    # delegated admin in the management account."
    management = organizations.management_account(context.account_id)
    if management is None or not organizations.is_delegated_admin(management, context.account_id):
        # Chosen wording: AWS's is not documented.
        raise _validation(
            f"Account {context.account_id} is not registered as a delegated administrator for "
            f"{organizations.STACKSETS_PRINCIPAL} in its organization"
        )


def _find(context, name: str) -> StackSet:
    sets = SETS.get((context.account_id, context.region), {})
    for s in sets.values():
        if name in (s.name, s.id, s.arn) and s.status == "ACTIVE":
            return s
    raise _not_found(name)


def _operation(stack_set: StackSet, operation_id: str) -> Operation:
    from localstack.aws.api.cloudformation import OperationNotFoundException

    op = stack_set.operations.get(operation_id)
    if op is None:
        raise OperationNotFoundException(f"Operation {operation_id} not found for StackSet {stack_set.name}")
    return op


def _preferences(request: dict) -> tuple[dict, Preferences]:
    raw = dict(request.get("OperationPreferences") or {})
    try:
        return raw, Preferences.parse(raw)
    except InvalidPreferences as e:
        raise _validation(str(e)) from None


def _accounts(request: dict) -> list[str]:
    accounts = request.get("Accounts")
    targets = request.get("DeploymentTargets") or {}
    if accounts and targets:
        raise _validation("You can specify either Accounts or DeploymentTargets, but not both.")
    if targets.get("OrganizationalUnitIds"):
        raise _validation("DeploymentTargets.OrganizationalUnitIds needs a stack set with SERVICE_MANAGED permissions")
    accounts = list(accounts or targets.get("Accounts") or [])
    if not accounts:
        raise _validation("Accounts or DeploymentTargets.Accounts must name at least one account")
    for a in accounts:
        if not ACCOUNT.match(a):
            raise _validation(f"Account {a} is not a 12-digit account id")
    return list(dict.fromkeys(accounts))


def _named_accounts(stack_set: StackSet, request: dict) -> list[str]:
    """The accounts an update or delete names: for service-managed stack sets, those whose
    instances were deployed for the named OUs."""
    if stack_set.permission_model != "SERVICE_MANAGED":
        return _accounts(request)
    named = (request.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
    if not named:
        raise _validation("DeploymentTargets.OrganizationalUnitIds is required for a stack set with SERVICE_MANAGED permissions")
    return list(dict.fromkeys(a for (a, _), i in stack_set.instances.items() if i.ou in named))


def _regions(request: dict) -> list[str]:
    regions = list(dict.fromkeys(request.get("Regions") or []))
    if not regions:
        raise _validation("Regions must name at least one Region")
    return regions


# ---------------------------------------------------------------------------------- operations


def _begin(stack_set: StackSet, op: Operation, queue: bool = False) -> str:
    """Registers `op` and starts it, or queues it; its id. Called under LOCK, after validation."""
    from localstack.aws.api.cloudformation import OperationIdAlreadyExistsException, OperationInProgressException

    if op.id in stack_set.operations:
        raise OperationIdAlreadyExistsException(f"Operation {op.id} already exists")
    busy = next((o for o in stack_set.operations.values() if o.active), None)
    if busy is not None and not (stack_set.managed_execution or queue):
        # API_CreateStackInstances, Errors: "OperationInProgressException: Another operation is
        # currently in progress for this StackSet." The message is AWS's answer as callers quote it.
        raise OperationInProgressException(f"Another Operation on StackSet {stack_set.arn} is in progress: {busy.id}")
    stack_set.operations[op.id] = op
    if busy is not None:
        op.status = "QUEUED"
        stack_set.queue.append(op)
    else:
        _start(stack_set, op)
    return op.id


def _start(stack_set: StackSet, op: Operation) -> None:
    op.status = "RUNNING"
    for key in op.targets:
        op.results[key] = {"Account": key[0], "Region": key[1], "Status": "PENDING"}
        instance = stack_set.instances.get(key)
        if instance is None:
            instance = stack_set.instances[key] = Instance(*key)
        instance.detailed = "PENDING"
        instance.reason = None
        instance.last_operation_id = op.id
        if op.action != "DELETE":
            instance.status = "OUTDATED"
        if op.overrides is not None:
            instance.overrides = list(op.overrides)
        if key in op.ous:
            instance.ou = op.ous[key]
    threading.Thread(target=_run, args=(stack_set, op), name=f"stackset-op-{op.id[:8]}", daemon=True).start()


def _run(stack_set: StackSet, op: Operation) -> None:
    try:
        _execute(stack_set, op)
    except Exception as e:
        LOG.exception("stack set %s: operation %s failed", stack_set.name, op.id)
        with LOCK:
            op.status, op.reason, op.ended = "FAILED", f"Internal failure: {e}", now()
    finally:
        with LOCK:
            if stack_set.queue:
                _start(stack_set, stack_set.queue.pop(0))
            CHANGED.notify_all()


def _execute(stack_set: StackSet, op: Operation) -> None:
    preferences = Preferences.parse(op.preferences)
    regions = list(dict.fromkeys(r for _, r in op.targets))
    accounts = {r: [a for a, rr in op.targets if rr == r] for r in regions}
    if stack_set.permission_model == "SERVICE_MANAGED":
        roles = deploy.MemberAccounts()
    else:
        roles = deploy.Roles(stack_set.account, stack_set.region, stack_set.arn, op.admin_role_arn,
                             op.execution_role, f"stackset-{op.id}")
    for group in preferences.region_groups(regions):
        runs = [RegionRun(r, accounts[r], preferences) for r in group]
        with CHANGED:
            while True:
                for run in runs:
                    why = STOPPED_BY_USER if op.stop else TOLERANCE_EXCEEDED if op.exceeded_region else None
                    if why:
                        for account in run.cancel():
                            _cancelled(stack_set, op, (account, run.region), why)
                    for account in run.start():
                        _running(stack_set, op, (account, run.region))
                        threading.Thread(target=_instance, args=(stack_set, op, roles, run, account), daemon=True,
                                         name=f"stackset-{account}-{run.region}").start()
                if all(run.done for run in runs):
                    break
                CHANGED.wait(1.0)
    with LOCK:
        failed = sum(1 for r in op.results.values() if r["Status"] == "FAILED")
        if op.stop:
            op.status = "STOPPED"
        elif op.exceeded_region:
            op.status = "FAILED"
            # Chosen wording; AWS documents the status, not this reason.
            op.reason = (f"The operation exceeded its failure tolerance in {op.exceeded_region}; "
                         f"{failed} stack instance(s) failed")
        else:
            op.status = "SUCCEEDED"
        op.ended = now()


def _running(stack_set, op, key) -> None:
    op.results[key]["Status"] = "RUNNING"
    instance = stack_set.instances.get(key)
    if instance is not None:
        instance.detailed = "RUNNING"


def _cancelled(stack_set, op, key, why) -> None:
    op.results[key].update(Status="CANCELLED", StatusReason=why)
    instance = stack_set.instances.get(key)
    if instance is not None:
        instance.detailed, instance.reason = "CANCELLED", why


def _instance(stack_set: StackSet, op: Operation, roles: deploy.Roles, run: RegionRun, account: str) -> None:
    key = (account, run.region)
    with LOCK:
        instance = stack_set.instances.get(key)
        stack_id = instance.stack_id if instance else None
        overrides = {p["ParameterKey"]: p for p in (instance.overrides if instance else [])}
    reason = None
    if stack_set.permission_model == "SERVICE_MANAGED" and organizations.suspended(stack_set.management, account):
        # API_StackInstanceComprehensiveStatus: "SKIPPED_SUSPENDED_ACCOUNT: The operation in the
        # specified account and Region has been skipped because the account was suspended at the
        # time of the operation." It is no failure; the result is CANCELLED (chosen: the result
        # statuses have no "skipped").
        with CHANGED:
            run.finished(account, True)
            op.results[key].update(Status="CANCELLED", StatusReason=SKIPPED_SUSPENDED)
            if instance is not None:
                instance.detailed, instance.reason = "SKIPPED_SUSPENDED_ACCOUNT", SKIPPED_SUSPENDED
            CHANGED.notify_all()
        return
    try:
        stack_id = _deploy(stack_set, op, roles, account, run.region, stack_id, overrides)
    except deploy.InstanceFailed as e:
        reason, stack_id = e.reason, e.stack_id or stack_id
    except Exception as e:
        LOG.exception("stack set %s: instance %s/%s", stack_set.name, account, run.region)
        reason = f"Internal failure: {e}"
    with CHANGED:
        run.finished(account, reason is None)
        if run.exceeded and op.exceeded_region is None:
            op.exceeded_region = run.region
        result = op.results[key]
        if reason is None:
            result["Status"] = "SUCCEEDED"
            if op.action == "DELETE":
                stack_set.instances.pop(key, None)
            elif instance is not None:
                instance.status, instance.detailed, instance.reason, instance.stack_id = "CURRENT", "SUCCEEDED", None, stack_id
        else:
            result.update(Status="FAILED", StatusReason=reason)
            if instance is not None:
                instance.stack_id = stack_id
                instance.reason = reason
                if op.action == "DELETE":
                    # API_StackInstance: "INOPERABLE: A DeleteStackInstances operation has failed
                    # and left the stack in an unstable state."
                    instance.status = instance.detailed = "INOPERABLE"
                else:
                    instance.status, instance.detailed = "OUTDATED", "FAILED"
        CHANGED.notify_all()


def _deploy(stack_set, op, roles, account, region, stack_id, overrides) -> str | None:
    if op.action == "DELETE":
        if op.retain_stacks or not stack_id:
            return stack_id
        cfn = roles.cloudformation(account, region)
        deploy.delete(cfn, stack_id)
        return stack_id
    template = dict(op.template)
    if overrides:
        parameters = {p["ParameterKey"]: p for p in template.get("Parameters") or []}
        parameters.update(overrides)
        template["Parameters"] = list(parameters.values())
    cfn = roles.cloudformation(account, region)
    if deploy.exists(cfn, stack_id):
        deploy.update(cfn, stack_id, template)
        return stack_id
    # The stack names StackSets gives: StackSet-<stack set name>-<uuid>.
    return deploy.create(cfn, f"StackSet-{stack_set.name}-{uuid.uuid4()}", template)


# ------------------------------------------------------------------------------------ handlers


def create_stack_set(self, context, request):
    _check_call_as(context, request)
    name = request.get("StackSetName") or ""
    if not NAME.match(name):
        raise _validation(f"StackSetName {name!r} must start with a letter and contain only letters, digits and hyphens (at most 128)")
    if bool(request.get("TemplateBody")) == bool(request.get("TemplateURL")):
        raise _validation("Exactly one of TemplateBody or TemplateURL must be specified")
    model = request.get("PermissionModel") or "SELF_MANAGED"
    if model not in ("SELF_MANAGED", "SERVICE_MANAGED"):
        raise _validation("PermissionModel must be SELF_MANAGED or SERVICE_MANAGED")
    management = None
    if model == "SERVICE_MANAGED":
        management = _service_managed_caller(context, request)
    elif request.get("AutoDeployment"):
        raise _validation("AutoDeployment is only supported for stack sets with SERVICE_MANAGED permissions")
    from localstack.aws.api.cloudformation import NameAlreadyExistsException

    with LOCK:
        sets = SETS.setdefault((context.account_id, context.region), {})
        if any(s.name == name and s.status == "ACTIVE" for s in sets.values()):
            raise NameAlreadyExistsException(f"StackSet {name} already exists")
        stack_set_id = f"{name}:{uuid.uuid4()}"
        sets[stack_set_id] = StackSet(
            name=name,
            id=stack_set_id,
            arn=f"arn:aws:cloudformation:{context.region}:{context.account_id}:stackset/{stack_set_id}",
            account=context.account_id,
            region=context.region,
            request=dict(request),
            # API_CreateStackSet, AdministrationRoleARN / ExecutionRoleName: these defaults.
            admin_role_arn=request.get("AdministrationRoleARN")
            or f"arn:aws:iam::{context.account_id}:role/{DEFAULT_ADMIN_ROLE}",
            execution_role=request.get("ExecutionRoleName") or DEFAULT_EXECUTION_ROLE,
            managed_execution=bool((request.get("ManagedExecution") or {}).get("Active")),
            permission_model=model,
            auto_deployment=dict(request.get("AutoDeployment") or {}),
            management=management,
        )
    return {"StackSetId": stack_set_id}


def _service_managed_caller(context, request) -> str:
    """The management account a service-managed stack set acts for; its caller must be it, or a
    delegated administrator calling as one (checked by `_check_call_as`)."""
    management = organizations.management_account(context.account_id)
    delegated = (request.get("CallAs") or "SELF") == "DELEGATED_ADMIN"
    # stacksets-orgs-activate-trusted-access: trusted access is the prerequisite; AWS refuses
    # with this message without it (as reported by the tools that detect it).
    if management is None or (management != context.account_id and not delegated) or not organizations.trusted_access(management):
        raise _validation("You must enable organizations access to operate a service managed stack set")
    return management


def _organization_targets(stack_set: StackSet, request: dict) -> list[tuple[str, str | None]]:
    """(account, target OU) of a service-managed operation's `DeploymentTargets`
    (API_DeploymentTargets: OUs, and `Accounts` with `AccountFilterType`)."""
    targets = request.get("DeploymentTargets") or {}
    if request.get("Accounts") or not targets.get("OrganizationalUnitIds"):
        raise _validation("DeploymentTargets.OrganizationalUnitIds is required for a stack set with SERVICE_MANAGED permissions")
    ou_ids = list(dict.fromkeys(targets["OrganizationalUnitIds"]))
    unknown = organizations.known_targets(stack_set.management, ou_ids)
    if unknown:
        raise _validation(f"OrganizationalUnitIds {unknown} are not roots or OUs of the organization")
    found = organizations.accounts_under(stack_set.management, ou_ids)
    accounts = list(targets.get("Accounts") or [])
    kind = targets.get("AccountFilterType") or "NONE"
    if kind == "INTERSECTION":
        found = [(a, ou) for a, ou in found if a in accounts]
    elif kind == "DIFFERENCE":
        found = [(a, ou) for a, ou in found if a not in accounts]
    elif kind == "UNION":
        found += [(a, None) for a in accounts if a not in {f[0] for f in found}]
    elif kind != "NONE":
        raise _validation("AccountFilterType must be NONE, INTERSECTION, DIFFERENCE or UNION")
    return found


def update_stack_set(self, context, request):
    _check_call_as(context, request)
    raw, _ = _preferences(request)
    with LOCK:
        stack_set = _find(context, request["StackSetName"])
        if request.get("TemplateBody") and request.get("TemplateURL"):
            raise _validation("Specify only one of TemplateBody, TemplateURL or UsePreviousTemplate")
        if request.get("PermissionModel") not in (None, stack_set.permission_model):
            raise _validation("PermissionModel cannot be changed by this emulator")
        if request.get("AutoDeployment") and stack_set.permission_model != "SERVICE_MANAGED":
            raise _validation("AutoDeployment is only supported for stack sets with SERVICE_MANAGED permissions")
        new = dict(stack_set.request)
        if request.get("TemplateBody") or request.get("TemplateURL"):
            new.pop("TemplateBody", None)
            new.pop("TemplateURL", None)
            new.update({k: request[k] for k in ("TemplateBody", "TemplateURL") if request.get(k)})
        elif not request.get("UsePreviousTemplate"):
            raise _validation("Specify TemplateBody, TemplateURL or UsePreviousTemplate")
        if "Parameters" in request:
            previous = {p["ParameterKey"]: p for p in stack_set.request.get("Parameters") or []}
            new["Parameters"] = [
                previous.get(p["ParameterKey"], p) if p.get("UsePreviousValue") else p for p in request["Parameters"]
            ]
        for key in ("Description", "Capabilities", "Tags"):
            if key in request:
                new[key] = request[key]
        if request.get("Accounts") or request.get("DeploymentTargets") or request.get("Regions"):
            keys = {(a, r) for a in _named_accounts(stack_set, request) for r in _regions(request)}
            missing = sorted(keys - set(stack_set.instances))
            if missing:
                raise _stack_instance_not_found(stack_set, *missing[0])
            targets = [k for k in stack_set.instances if k in keys]
        else:
            targets = list(stack_set.instances)
        admin = request.get("AdministrationRoleARN") or stack_set.admin_role_arn
        execution = request.get("ExecutionRoleName") or stack_set.execution_role
        previous_request = stack_set.request
        stack_set.request = new
        op = Operation(
            id=request.get("OperationId") or str(uuid.uuid4()), action="UPDATE", targets=targets, preferences=raw,
            template=stack_set.template(), admin_role_arn=admin, execution_role=execution,
        )
        try:
            _begin(stack_set, op)
        except Exception:
            stack_set.request = previous_request
            raise
        stack_set.admin_role_arn, stack_set.execution_role = admin, execution
        if request.get("AutoDeployment"):
            stack_set.auto_deployment = dict(request["AutoDeployment"])
        if "ManagedExecution" in request:
            stack_set.managed_execution = bool((request["ManagedExecution"] or {}).get("Active"))
        # Instances the update leaves out no longer match the stack set.
        for key, instance in stack_set.instances.items():
            if key not in targets:
                instance.status = "OUTDATED"
        return {"OperationId": op.id}


def delete_stack_set(self, context, request):
    _check_call_as(context, request)
    from localstack.aws.api.cloudformation import OperationInProgressException, StackSetNotEmptyException

    with LOCK:
        try:
            stack_set = _find(context, request["StackSetName"])
        except Exception:
            # Chosen: deleting a stack set that does not exist is a no-op, as LocalStack answered.
            return {}
        busy = next((o for o in stack_set.operations.values() if o.active), None)
        if busy is not None:
            raise OperationInProgressException(f"Another Operation on StackSet {stack_set.arn} is in progress: {busy.id}")
        if stack_set.instances:
            # API_DeleteStackSet: "Deletes a StackSet. Before you can delete a StackSet, all its
            # member stack instances must be deleted."
            raise StackSetNotEmptyException(f"StackSet {stack_set.name} is not empty: delete its stack instances first")
        stack_set.status = "DELETED"
        SETS[(context.account_id, context.region)].pop(stack_set.id, None)
    return {}


def describe_stack_set(self, context, request):
    _check_call_as(context, request)
    with LOCK:
        s = _find(context, request["StackSetName"])
        out = {
            "StackSetName": s.name,
            "StackSetId": s.id,
            "StackSetARN": s.arn,
            "Status": s.status,
            "Parameters": s.request.get("Parameters") or [],
            "Capabilities": s.request.get("Capabilities") or [],
            "Tags": s.request.get("Tags") or [],
            "AdministrationRoleARN": s.admin_role_arn,
            "ExecutionRoleName": s.execution_role,
            "PermissionModel": s.permission_model,
            "ManagedExecution": {"Active": s.managed_execution},
            "Regions": sorted({r for _, r in s.instances}),
        }
        if s.permission_model == "SERVICE_MANAGED":
            out["AutoDeployment"] = s.auto_deployment or {"Enabled": False}
            out["OrganizationalUnitIds"] = list(s.ou_ids)
        for key in ("Description", "TemplateBody"):
            if s.request.get(key):
                out[key] = s.request[key]
        return {"StackSet": out}


def list_stack_sets(self, context, request):
    _check_call_as(context, request)
    with LOCK:
        summaries = [
            {"StackSetName": s.name, "StackSetId": s.id, "Status": s.status, "PermissionModel": s.permission_model,
             "ManagedExecution": {"Active": s.managed_execution},
             **({"Description": s.request["Description"]} if s.request.get("Description") else {})}
            for s in SETS.get((context.account_id, context.region), {}).values()
            if request.get("Status") in (None, s.status)
        ]
    return {"Summaries": summaries}


def create_stack_instances(self, context, request):
    _check_call_as(context, request)
    raw, _ = _preferences(request)
    regions = _regions(request)
    with LOCK:
        stack_set = _find(context, request["StackSetName"])
        ous = {}
        if stack_set.permission_model == "SERVICE_MANAGED":
            found = _organization_targets(stack_set, request)
            accounts = [a for a, _ in found]
            ous = {(a, r): ou for a, ou in found for r in regions}
        else:
            accounts = _accounts(request)
        op = Operation(
            id=request.get("OperationId") or str(uuid.uuid4()), action="CREATE",
            targets=[(a, r) for r in regions for a in accounts], preferences=raw, template=stack_set.template(),
            admin_role_arn=stack_set.admin_role_arn, execution_role=stack_set.execution_role,
            overrides=list(request["ParameterOverrides"]) if "ParameterOverrides" in request else None,
            deployment_targets=request.get("DeploymentTargets"), ous=ous,
        )
        _begin(stack_set, op)
        if stack_set.permission_model == "SERVICE_MANAGED":
            # Auto-deployment targets what the stack set was deployed to: these OUs, these Regions.
            named = (request.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
            stack_set.ou_ids = list(dict.fromkeys([*stack_set.ou_ids, *named]))
            stack_set.regions = list(dict.fromkeys([*stack_set.regions, *regions]))
        return {"OperationId": op.id}


def update_stack_instances(self, context, request):
    _check_call_as(context, request)
    raw, _ = _preferences(request)
    regions = _regions(request)
    with LOCK:
        stack_set = _find(context, request["StackSetName"])
        targets = [(a, r) for r in regions for a in _named_accounts(stack_set, request)]
        for key in targets:
            if key not in stack_set.instances:
                # API_UpdateStackInstances: "You can only update stack instances that already exist."
                raise _stack_instance_not_found(stack_set, *key)
        op = Operation(
            id=request.get("OperationId") or str(uuid.uuid4()), action="UPDATE", targets=targets, preferences=raw,
            template=stack_set.template(), admin_role_arn=stack_set.admin_role_arn,
            execution_role=stack_set.execution_role,
            overrides=list(request.get("ParameterOverrides") or []),
            deployment_targets=request.get("DeploymentTargets"),
        )
        return {"OperationId": _begin(stack_set, op)}


def delete_stack_instances(self, context, request):
    _check_call_as(context, request)
    raw, _ = _preferences(request)
    regions = _regions(request)
    if request.get("RetainStacks") is None:
        raise _validation("RetainStacks is required")
    with LOCK:
        stack_set = _find(context, request["StackSetName"])
        if stack_set.permission_model == "SERVICE_MANAGED":
            # The instances deployed for those OUs. An OU stays a target of auto-deployment while
            # it keeps instances in Regions the delete leaves, and so does a Region while any OU
            # keeps instances in it.
            named = (request.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
            if not named:
                raise _validation("DeploymentTargets.OrganizationalUnitIds is required for a stack set with SERVICE_MANAGED permissions")
            accounts = list(dict.fromkeys(a for (a, _), i in stack_set.instances.items() if i.ou in named))
            kept = [(i.ou, r) for (_, r), i in stack_set.instances.items() if i.ou not in named or r not in regions]
            stack_set.ou_ids = [ou for ou in stack_set.ou_ids if ou not in named or any(k == ou for k, _ in kept)]
            stack_set.regions = [r for r in stack_set.regions if r not in regions or any(k == r for _, k in kept)]
        else:
            accounts = _accounts(request)
        # Chosen: account and Region pairs without an instance are left out of the operation.
        targets = [(a, r) for r in regions for a in accounts if (a, r) in stack_set.instances]
        op = Operation(
            id=request.get("OperationId") or str(uuid.uuid4()), action="DELETE", targets=targets, preferences=raw,
            template={}, admin_role_arn=stack_set.admin_role_arn, execution_role=stack_set.execution_role,
            retain_stacks=bool(request["RetainStacks"]), deployment_targets=request.get("DeploymentTargets"),
        )
        return {"OperationId": _begin(stack_set, op)}


def _stack_instance_not_found(stack_set, account, region):
    from localstack.aws.api.cloudformation import StackInstanceNotFoundException

    return StackInstanceNotFoundException(
        f"Stack instance for account {account} and Region {region} does not exist in StackSet {stack_set.name}"
    )


def _instance_summary(s: StackSet, i: Instance) -> dict:
    out = {
        "StackSetId": s.id,
        "Account": i.account,
        "Region": i.region,
        "Status": i.status,
        "StackInstanceStatus": {"DetailedStatus": i.detailed},
        "DriftStatus": "NOT_CHECKED",
    }
    for key, value in (("StackId", i.stack_id), ("StatusReason", i.reason), ("LastOperationId", i.last_operation_id),
                       ("OrganizationalUnitId", i.ou)):
        if value:
            out[key] = value
    return out


def list_stack_instances(self, context, request):
    _check_call_as(context, request)
    filters = {f["Name"]: f["Values"] for f in request.get("Filters") or []}
    with LOCK:
        s = _find(context, request["StackSetName"])
        summaries = [
            _instance_summary(s, i)
            for i in s.instances.values()
            if request.get("StackInstanceAccount") in (None, i.account)
            and request.get("StackInstanceRegion") in (None, i.region)
            and filters.get("DETAILED_STATUS") in (None, i.detailed)
            and filters.get("LAST_OPERATION_ID") in (None, i.last_operation_id)
        ]
    return {"Summaries": summaries}


def describe_stack_instance(self, context, request):
    _check_call_as(context, request)
    with LOCK:
        s = _find(context, request["StackSetName"])
        key = (request["StackInstanceAccount"], request["StackInstanceRegion"])
        i = s.instances.get(key)
        if i is None:
            raise _stack_instance_not_found(s, *key)
        out = _instance_summary(s, i)
        out["ParameterOverrides"] = list(i.overrides)
        return {"StackInstance": out}


def _operation_view(s: StackSet, op: Operation) -> dict:
    out = {
        "OperationId": op.id,
        "StackSetId": s.id,
        "Action": op.action,
        "Status": op.status,
        "OperationPreferences": dict(op.preferences),
        "AdministrationRoleARN": op.admin_role_arn,
        "ExecutionRoleName": op.execution_role,
        "CreationTimestamp": op.created,
        "StatusDetails": {"FailedStackInstancesCount": sum(1 for r in op.results.values() if r["Status"] == "FAILED")},
    }
    if op.action == "DELETE":
        out["RetainStacks"] = bool(op.retain_stacks)
    if op.ended is not None and not op.active:
        out["EndTimestamp"] = op.ended
    if op.reason:
        out["StatusReason"] = op.reason
    if op.deployment_targets:
        out["DeploymentTargets"] = op.deployment_targets
    return out


def describe_stack_set_operation(self, context, request):
    _check_call_as(context, request)
    with LOCK:
        s = _find(context, request["StackSetName"])
        return {"StackSetOperation": _operation_view(s, _operation(s, request["OperationId"]))}


def list_stack_set_operations(self, context, request):
    _check_call_as(context, request)
    keys = ("OperationId", "Action", "Status", "CreationTimestamp", "EndTimestamp", "StatusReason", "StatusDetails",
            "OperationPreferences")
    with LOCK:
        s = _find(context, request["StackSetName"])
        views = [_operation_view(s, op) for op in reversed(list(s.operations.values()))]
    return {"Summaries": [{k: v[k] for k in keys if k in v} for v in views]}


def list_stack_set_operation_results(self, context, request):
    _check_call_as(context, request)
    with LOCK:
        s = _find(context, request["StackSetName"])
        op = _operation(s, request["OperationId"])
        return {"Summaries": [dict(r) for r in op.results.values()]}


def stop_stack_set_operation(self, context, request):
    _check_call_as(context, request)
    from localstack.aws.api.cloudformation import InvalidOperationException

    with CHANGED:
        s = _find(context, request["StackSetName"])
        op = _operation(s, request["OperationId"])
        if op.status == "QUEUED":
            s.queue.remove(op)
            for key in op.targets:
                op.results[key] = {"Account": key[0], "Region": key[1], "Status": "CANCELLED", "StatusReason": STOPPED_BY_USER}
            op.status, op.ended = "STOPPED", now()
        elif op.status == "RUNNING":
            # API_StopStackSetOperation: "StackSets will cancel all the unstarted stack instance
            # deployments and wait for those are in-progress to complete."
            op.status, op.stop = "STOPPING", True
            CHANGED.notify_all()
        elif op.status != "STOPPING":
            raise InvalidOperationException(f"Operation {op.id} is {op.status} and cannot be stopped")
    return {}


def activate_organizations_access(self, context, request):
    _check_call_as(context, request)
    management = organizations.management_account(context.account_id)
    delegated = (request.get("CallAs") or "SELF") == "DELEGATED_ADMIN"
    if management is None or (management != context.account_id and not delegated):
        # Chosen wording: AWS's is not documented.
        raise _validation("Organizations access can be activated only from the organization's management account or a delegated administrator")
    organizations.enable_trusted_access(management)
    return {}


def describe_organizations_access(self, context, request):
    _check_call_as(context, request)
    management = organizations.management_account(context.account_id)
    enabled = management is not None and organizations.trusted_access(management)
    return {"Status": "ENABLED" if enabled else "DISABLED"}


def account_moved(management: str, account: str) -> None:
    """Auto-deployment after `MoveAccount` (stacksets-orgs-manage-auto-deployment): an account
    now under a target OU gets the stack set's instances in its Regions; one no longer under
    any loses them, its stacks deleted unless `RetainStacksOnAccountRemoval`. These operations
    are queued behind a running one rather than refused."""
    with LOCK:
        for sets in SETS.values():
            for stack_set in list(sets.values()):
                auto = stack_set.auto_deployment or {}
                if stack_set.management != management or stack_set.status != "ACTIVE" or not auto.get("Enabled"):
                    continue
                target = organizations.under(management, account, stack_set.ou_ids)
                have = [k for k in stack_set.instances if k[0] == account]
                if target is not None and not have and stack_set.regions:
                    keys = [(account, r) for r in stack_set.regions]
                    op = Operation(id=str(uuid.uuid4()), action="CREATE", targets=keys, preferences={},
                                   template=stack_set.template(), admin_role_arn=stack_set.admin_role_arn,
                                   execution_role=stack_set.execution_role, ous={k: target for k in keys})
                    _begin(stack_set, op, queue=True)
                elif target is None and have:
                    op = Operation(id=str(uuid.uuid4()), action="DELETE", targets=have, preferences={}, template={},
                                   admin_role_arn=stack_set.admin_role_arn, execution_role=stack_set.execution_role,
                                   retain_stacks=bool(auto.get("RetainStacksOnAccountRemoval")))
                    _begin(stack_set, op, queue=True)


HANDLERS = {
    "CreateStackSet": create_stack_set,
    "UpdateStackSet": update_stack_set,
    "DeleteStackSet": delete_stack_set,
    "DescribeStackSet": describe_stack_set,
    "ListStackSets": list_stack_sets,
    "CreateStackInstances": create_stack_instances,
    "UpdateStackInstances": update_stack_instances,
    "DeleteStackInstances": delete_stack_instances,
    "ListStackInstances": list_stack_instances,
    "DescribeStackInstance": describe_stack_instance,
    "DescribeStackSetOperation": describe_stack_set_operation,
    "ListStackSetOperations": list_stack_set_operations,
    "ListStackSetOperationResults": list_stack_set_operation_results,
    "StopStackSetOperation": stop_stack_set_operation,
    "ActivateOrganizationsAccess": activate_organizations_access,
    "DescribeOrganizationsAccess": describe_organizations_access,
}


def install() -> None:
    """Puts these handlers on LocalStack's CloudFormation provider (before it is instantiated: its
    dispatch table is built from the class when the service first loads)."""
    from localstack.aws.api import handler
    from localstack.services.cloudformation.v2.provider import CloudformationProviderV2

    for operation, fn in HANDLERS.items():
        setattr(CloudformationProviderV2, fn.__name__, handler(operation, expand=False)(fn))
    organizations.install()
