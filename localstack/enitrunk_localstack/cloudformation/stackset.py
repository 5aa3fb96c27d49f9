"""CloudFormation resource provider for `AWS::CloudFormation::StackSet`, on the extension's own
StackSets (`stacksets.api`), called as the stack's account in the stack's Region.

The resource reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-stackset.html):
Ref and `Fn::GetAtt StackSetId` give the stack set's id; `PermissionModel` and `StackSetName`
changes replace it; the rest updates in place. AWS's own provider
(aws-cloudformation/aws-cloudformation-resource-providers-cloudformation,
`aws-cloudformation-stackset`) does, and so does this one:
- create: `CreateStackSet`, then `CreateStackInstances` for each `StackInstancesGroup`, each
  waited for; an operation that ends other than `SUCCEEDED` fails the resource ("Stack set
  operation [ID] was unexpectedly stopped or failed", AWS's words; here followed by the
  operation, its reason and each failed instance's reason);
- update: the instances of targets and Regions no longer in the groups deleted, then
  `UpdateStackSet` when the stack set itself changed, then instances for what was added, then
  `UpdateStackInstances` where a group's `ParameterOverrides` changed, in that order;
- delete: `DeleteStackInstances` of every instance (`RetainStacks` false), then `DeleteStackSet`.
An operation refused with `OperationInProgressException` (another one runs, e.g. an
auto-deployment) is asked again once that one ends, as AWS's provider retries it.

A create that fails after `CreateStackSet` keeps the stack set's id in its model, so the
rollback deletes the instances made so far and the stack set (`rollback.kept_by_failed_create`).
Operations run in the background (`stacksets.api`); they are polled every
`ENITRUNK_STACKSET_POLL_SECONDS` (`stacksets.deploy.POLL_SECONDS`).
"""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace

from localstack.aws.api import ServiceException
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from enitrunk_localstack.cloudformation.common import as_int, plugin, success
from enitrunk_localstack.stacksets import api, deploy

LOG = logging.getLogger(__name__)

TYPE = "AWS::CloudFormation::StackSet"
ID = "StackSetId"
# Stack set properties that UpdateStackSet takes as they are.
STACK_SET_KEYS = ("Description", "TemplateBody", "TemplateURL", "Parameters", "Capabilities", "Tags",
                  "AdministrationRoleARN", "ExecutionRoleName", "AutoDeployment", "ManagedExecution")
ACTIVE = ("RUNNING", "STOPPING", "QUEUED")
# Only keeps an operation that never ends from holding the stack forever; CloudFormation's own
# limit for this resource type is far longer (AWS's provider stabilizes for up to 24 hours).
OPERATION_DEADLINE_SECONDS = 3600


class Failed(Exception):
    """What fails the resource; the message is its reason."""


def as_bool(value) -> bool:
    # Templates give booleans as strings as often as not (`!Ref` of a String parameter).
    return value if isinstance(value, bool) else str(value).lower() == "true"


def stack_set_request(props: dict) -> dict:
    """`CreateStackSet`'s arguments (without `StackSetName`) from the resource's properties."""
    out = {k: props[k] for k in STACK_SET_KEYS if props.get(k) not in (None, "", [])}
    if "AutoDeployment" in out:
        out["AutoDeployment"] = {k: as_bool(v) for k, v in out["AutoDeployment"].items()}
    if "ManagedExecution" in out:
        out["ManagedExecution"] = {k: as_bool(v) for k, v in out["ManagedExecution"].items()}
    if "Parameters" in out:
        out["Parameters"] = [_parameter(p) for p in out["Parameters"]]
    return out


def _parameter(p: dict) -> dict:
    out = {"ParameterKey": p["ParameterKey"]}
    if "ParameterValue" in p:
        value = p["ParameterValue"]
        out["ParameterValue"] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def preferences(props: dict) -> dict:
    prefs = dict(props.get("OperationPreferences") or {})
    for key in ("FailureToleranceCount", "FailureTolerancePercentage", "MaxConcurrentCount", "MaxConcurrentPercentage"):
        if key in prefs:
            prefs[key] = as_int(prefs[key])
    return prefs


def targets(props: dict) -> dict[tuple[str, str], list]:
    """(target, Region) -> parameter overrides, for every group. A target is an OU (or root) id
    for service-managed permissions, an account id for self-managed ones."""
    service_managed = props.get("PermissionModel") == "SERVICE_MANAGED"
    out = {}
    for group in props.get("StackInstancesGroup") or []:
        found = group.get("DeploymentTargets") or {}
        names = found.get("OrganizationalUnitIds") if service_managed else found.get("Accounts")
        overrides = [_parameter(p) for p in group.get("ParameterOverrides") or []]
        for name in names or []:
            for region in group.get("Regions") or []:
                out[(name, region)] = overrides
    return out


def batches(keys, overrides: dict | None = None) -> list[tuple[list[str], list[str], list | None]]:
    """(targets, Regions, overrides) calls covering `keys`: targets with the same Regions (and
    the same overrides) share one call."""
    by_target: dict[str, list[str]] = {}
    for name, region in keys:
        by_target.setdefault(name, []).append(region)
    grouped: dict[str, tuple[list[str], list[str], list | None]] = {}
    for name, regions in by_target.items():
        these = None if overrides is None else overrides[(name, regions[0])]
        # Overrides may differ by Region: such a target gets a call per Region.
        if overrides is not None and any(overrides[(name, r)] != these for r in regions):
            for region in regions:
                o = overrides[(name, region)]
                grouped.setdefault(json.dumps([[region], o], sort_keys=True), ([], [region], o))[0].append(name)
            continue
        key = json.dumps([sorted(regions), these], sort_keys=True)
        grouped.setdefault(key, ([], sorted(regions), these))[0].append(name)
    return list(grouped.values())


class StackSets:
    """The StackSets calls of one resource request, as the stack's account in its Region."""

    def __init__(self, request: ResourceRequest, props: dict):
        self.context = SimpleNamespace(account_id=request.account_id, region=request.region_name)
        self.call_as = props.get("CallAs") or "SELF"
        self.service_managed = props.get("PermissionModel") == "SERVICE_MANAGED"
        self.preferences = preferences(props)

    def call(self, fn, request: dict) -> dict:
        return fn(None, self.context, {**request, "CallAs": self.call_as})

    def operation(self, what: str, fn, stack_set_id: str, request: dict) -> None:
        """Starts the operation (again once a running one ends, if refused for it) and waits for
        its end; `Failed` unless it `SUCCEEDED`."""
        request = {"StackSetName": stack_set_id, **request}
        deadline = time.monotonic() + OPERATION_DEADLINE_SECONDS
        while True:
            try:
                op_id = self.call(fn, request)["OperationId"]
                break
            except ServiceException as e:
                if e.code != "OperationInProgressException" or time.monotonic() > deadline:
                    raise Failed(f"{what} failed: {e.message}") from None
                time.sleep(deploy.POLL_SECONDS)
        while True:
            op = self.call(api.describe_stack_set_operation, {"StackSetName": stack_set_id, "OperationId": op_id})
            op = op["StackSetOperation"]
            if op["Status"] not in ACTIVE:
                break
            if time.monotonic() > deadline:
                raise Failed(f"{what} operation {op_id} did not end within {OPERATION_DEADLINE_SECONDS} seconds")
            time.sleep(deploy.POLL_SECONDS)
        if op["Status"] != "SUCCEEDED":
            raise Failed(self.failure(what, stack_set_id, op))

    def failure(self, what: str, stack_set_id: str, op: dict) -> str:
        results = self.call(api.list_stack_set_operation_results,
                            {"StackSetName": stack_set_id, "OperationId": op["OperationId"]})["Summaries"]
        failed = [f"{r['Account']}/{r['Region']}: {r.get('StatusReason') or 'FAILED'}" for r in results
                  if r["Status"] == "FAILED"]
        # AWS's words first (its provider's TerminalException); what follows is chosen.
        reason = f"Stack set operation [{op['OperationId']}] was unexpectedly stopped or failed: {what} ended {op['Status']}"
        if op.get("StatusReason"):
            reason += f" ({op['StatusReason']})"
        if failed:
            reason += ". Failed stack instances: " + "; ".join(failed)
        return reason

    def deployment_targets(self, names: list[str]) -> dict:
        key = "OrganizationalUnitIds" if self.service_managed else "Accounts"
        return {"DeploymentTargets": {key: names}}

    def create_instances(self, stack_set_id: str, names, regions, overrides) -> None:
        request = {**self.deployment_targets(names), "Regions": regions, "OperationPreferences": self.preferences}
        if overrides:
            request["ParameterOverrides"] = overrides
        self.operation("CreateStackInstances", api.create_stack_instances, stack_set_id, request)

    def update_instances(self, stack_set_id: str, names, regions, overrides) -> None:
        request = {**self.deployment_targets(names), "Regions": regions, "OperationPreferences": self.preferences,
                   "ParameterOverrides": overrides or []}
        self.operation("UpdateStackInstances", api.update_stack_instances, stack_set_id, request)

    def delete_instances(self, stack_set_id: str, names, regions) -> None:
        request = {**self.deployment_targets(names), "Regions": regions, "RetainStacks": False,
                   "OperationPreferences": self.preferences}
        self.operation("DeleteStackInstances", api.delete_stack_instances, stack_set_id, request)

    def instances(self, stack_set_id: str) -> list[dict]:
        return self.call(api.list_stack_instances, {"StackSetName": stack_set_id})["Summaries"]

    def delete_everything(self, stack_set_id: str) -> None:
        """Every instance (whatever put it there: the groups, or auto-deployment), then the stack set."""
        deadline = time.monotonic() + OPERATION_DEADLINE_SECONDS
        while True:
            try:
                found = self.instances(stack_set_id)
            except ServiceException as e:
                if e.code == "StackSetNotFoundException":
                    return
                raise Failed(f"ListStackInstances failed: {e.message}") from None
            if found:
                key = "OrganizationalUnitId" if self.service_managed else "Account"
                names = sorted({i[key] for i in found if i.get(key)})
                if len(names) == 0 or any(not i.get(key) for i in found):
                    # Accounts added to OUs with AccountFilterType UNION: a delete names OUs only.
                    raise Failed(f"stack set {stack_set_id} has stack instances outside its organizational units; "
                                 "delete them with DeleteStackInstances, then delete the stack again")
                self.delete_instances(stack_set_id, names, sorted({i["Region"] for i in found}))
            try:
                self.call(api.delete_stack_set, {"StackSetName": stack_set_id})
                return
            except ServiceException as e:
                # An auto-deployment may have started, or added instances, meanwhile: once more.
                busy = e.code in ("OperationInProgressException", "StackSetNotEmptyException")
                if not busy or time.monotonic() > deadline:
                    raise Failed(f"DeleteStackSet failed: {e.message}") from None
                time.sleep(deploy.POLL_SECONDS)


class StackSetProvider(ResourceProvider[dict]):
    SCHEMA = {
        "typeName": TYPE,
        "required": ["PermissionModel", "StackSetName"],
        "primaryIdentifier": [f"/properties/{ID}"],
        "readOnlyProperties": [f"/properties/{ID}"],
        "createOnlyProperties": ["/properties/PermissionModel", "/properties/StackSetName"],
    }

    def create(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        props = dict(request.desired_state or {})
        for key in ("StackSetName", "PermissionModel"):
            if not props.get(key):
                return failed({}, f"Property {key} cannot be empty.")
        sets = StackSets(request, props)
        try:
            answer = sets.call(api.create_stack_set, {"StackSetName": props["StackSetName"],
                                                      "PermissionModel": props["PermissionModel"],
                                                      **stack_set_request(props)})
        except ServiceException as e:
            return failed({}, f"CreateStackSet failed: {e.message}")
        props[ID] = answer[ID]
        try:
            for names, regions, overrides in batches(targets(props), targets(props)):
                sets.create_instances(props[ID], names, regions, overrides)
        except Failed as e:
            # The model names the stack set: the rollback deletes it, and what it deployed.
            return failed(props, str(e))
        return success(props)

    def update(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        previous = request.previous_state or {}
        props = {**request.desired_state, ID: previous.get(ID)}
        sets = StackSets(request, props)
        before, after = targets(previous), targets(props)
        try:
            removed = [k for k in before if k not in after]
            for names, regions, _ in batches(removed):
                sets.delete_instances(props[ID], names, regions)
            if stack_set_request(previous) != stack_set_request(props) or props.get("CallAs") != previous.get("CallAs"):
                change = stack_set_request(props)
                if not change.get("TemplateBody") and not change.get("TemplateURL"):
                    change["UsePreviousTemplate"] = True
                # Parameters and Capabilities removed from the template mean none.
                change.setdefault("Parameters", [])
                change.setdefault("Capabilities", [])
                change["OperationPreferences"] = sets.preferences
                sets.operation("UpdateStackSet", api.update_stack_set, props[ID], change)
            added = [k for k in after if k not in before]
            for names, regions, overrides in batches(added, after):
                sets.create_instances(props[ID], names, regions, overrides)
            changed = [k for k in after if k in before and before[k] != after[k]]
            for names, regions, overrides in batches(changed, after):
                sets.update_instances(props[ID], names, regions, overrides)
        except Failed as e:
            # The rollback's update goes from these properties back to the previous ones.
            return failed(props, str(e))
        return success(props)

    def delete(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        props = request.desired_state or {}
        if not props.get(ID):
            return success({})  # its CreateStackSet never succeeded
        try:
            StackSets(request, props).delete_everything(props[ID])
        except Failed as e:
            return failed(props, str(e))
        return success({})


def failed(model: dict, message: str) -> ProgressEvent[dict]:
    LOG.info("%s: %s", TYPE, message)
    return ProgressEvent(OperationStatus.FAILED, resource_model=model, message=message)


StackSetPlugin = plugin(TYPE, StackSetProvider)
