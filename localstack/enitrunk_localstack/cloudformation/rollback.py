"""A failed stack create or update rolls back as CloudFormation's does, through `CreateStack`,
`UpdateStack` and change sets alike.

LocalStack's engine (v2) stops at the failed resource and keeps what it did: a failed create
leaves the stack `CREATE_FAILED` (with a stray `ROLLBACK_COMPLETE` event) holding what it
created, so a custom resource never gets the Delete that CloudFormation sends on rollback; a
failed update through a change set leaves it `ROLLBACK_COMPLETE` holding the new template and
whatever was changed, and `UpdateStack` even says `UPDATE_COMPLETE`. CloudFormation instead:

- create: `ROLLBACK_IN_PROGRESS` with the reason "The following resource(s) failed to create:
  [X]. Rollback requested by user.", deletes what it created in reverse dependency order (a
  custom resource whose Create failed gets a Delete for the physical id its `FAILED` response
  gave, https://github.com/aws/aws-cdk/pull/5525; a stack set whose instances failed, with
  them), ends `ROLLBACK_COMPLETE` (`ROLLBACK_FAILED`
  if a delete fails), and then "only a delete operation can be performed"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html);
- update: `UPDATE_ROLLBACK_IN_PROGRESS`, takes what it updated back to the previous properties
  (an Update request to a custom resource, the failed one included,
  https://github.com/aws/aws-cdk/issues/17040), then `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`
  deletes what it created (for a custom resource whose function went back to its previous id:
  the id it leaves), and ends `UPDATE_ROLLBACK_COMPLETE` with the previous template, parameters
  and outputs; removals and the cleanup of replaced resources, which wait for success, never run.

The engine runs one resource at a time, each after those it depends on, so the order it ran
them in is a dependency order, and its reverse the order of deletes.

The hooks (`localstack.hooks.on_infra_start`):
- `ChangeSetModelExecutor.execute`, for a stack being created or updated, runs the change set
  and on a failure rolls back; with `DisableRollback` (`ExecuteChangeSet`, `CreateStack`) or
  `OnFailure`/`OnStackFailure=DO_NOTHING` it leaves the stack `CREATE_FAILED`/`UPDATE_FAILED`
  as the failure left it. `OnFailure=DELETE` rolls back like `ROLLBACK` (the stack is not
  deleted afterwards); `UpdateStack`'s own `DisableRollback` is not read.
- `_execute_resource_change` records each change; `_process_event` and `visit_node_resource`:
  a failed resource does not fail the stack (the rollback settles it), and the resources that
  were waiting for it, never started, get no `*_FAILED` of their own.
- `Stack.set_stack_status`: the provider's own verdict after the run (`CREATE_COMPLETE`,
  `UPDATE_COMPLETE`, ... from looking at what is left) cannot undo what the rollback settled.
- `ExecuteChangeSet` remembers its `DisableRollback`; `UpdateStack` and `UPDATE` change sets are
  refused on a stack in a state that refuses updates; `DeleteStack` of a rolled-back stack that
  holds nothing just ends it.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from enitrunk_localstack.cloudformation.custom_resource import PHYSICAL_ID, PROPERTIES
from enitrunk_localstack.cloudformation.engine_patches import is_custom
from enitrunk_localstack.cloudformation.stackset import ID as STACK_SET_ID
from enitrunk_localstack.cloudformation.stackset import TYPE as STACK_SET

LOG = logging.getLogger(__name__)

# Attributes this module keeps on LocalStack's objects.
CHANGES = "enitrunk_changes"  # executor: (name, before, after) of each resource change, in order
FAILED = "enitrunk_failed"  # executor: the resources that failed, in order
STOPPED = "enitrunk_stopped"  # executor: a resource failed; nothing else starts
DISABLE_ROLLBACK = "enitrunk_disable_rollback"  # change set: ExecuteChangeSet's DisableRollback

ROLLBACK, DO_NOTHING, DELETE = "ROLLBACK", "DO_NOTHING", "DELETE"


def on_failure(change_set, operation: str) -> str:
    """What a failed `operation` ("create" or "update") does: `ROLLBACK`, `DO_NOTHING` or
    `DELETE`, as the request said.

    `CreateStack` says it with `OnFailure` or `DisableRollback`; a change set with
    `CreateChangeSet`'s `OnStackFailure` (creates only) or `ExecuteChangeSet`'s `DisableRollback`
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
    """
    disable = getattr(change_set, DISABLE_ROLLBACK, None)
    if disable is not None or operation == "update":
        return DO_NOTHING if disable else ROLLBACK
    payload = change_set.stack.request_payload or {}
    if payload.get("DisableRollback"):
        return DO_NOTHING
    return payload.get("OnFailure") or payload.get("OnStackFailure") or ROLLBACK


def failed_to(verb: str, names: list[str]) -> str:
    return f"The following resource(s) failed to {verb}: [{', '.join(names)}]."


def kept_by_failed_create(resource_type: str, model: dict) -> str | None:
    """The physical id a failed create leaves behind for the rollback to delete: a custom
    resource's whose request was sent (the function may have done part of the work), a stack
    set's created before its instances failed; none for the other types."""
    if is_custom(resource_type):
        return model.get(PHYSICAL_ID)
    if resource_type == STACK_SET:
        return model.get(STACK_SET_ID)
    return None


def refuses_updates(status: str) -> bool:
    """Stack states in which CloudFormation refuses an update: while an operation runs, after a
    rolled-back create, a failed update rollback (`ContinueUpdateRollback` first) and a delete.
    (`CREATE_FAILED` and `UPDATE_FAILED`, without rollback, can be updated.)"""
    return (status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS") or status in {
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    }


@hooks.on_infra_start()
def patch_rollback():
    from datetime import UTC, datetime

    from localstack.aws.api.cloudformation import ChangeAction, ResourceStatus, StackStatus
    from localstack.services.cloudformation.engine.v2.change_set_model import is_nothing
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import (
        ChangeSetModelExecutor,
        ChangeSetModelExecutorResult,
        EventOperationFromAction,
    )
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import PreprocProperties
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.services.cloudformation.v2.entities import Stack
    from localstack.utils.patch import patch

    # The states this module settles a stack in, and the provider's verdicts that must not undo them.
    verdicts = [
        ({StackStatus.ROLLBACK_COMPLETE, StackStatus.ROLLBACK_FAILED, StackStatus.CREATE_FAILED},
         {StackStatus.CREATE_COMPLETE, StackStatus.CREATE_FAILED}),
        ({StackStatus.UPDATE_ROLLBACK_COMPLETE, StackStatus.UPDATE_ROLLBACK_FAILED, StackStatus.UPDATE_FAILED},
         {StackStatus.UPDATE_COMPLETE, StackStatus.UPDATE_FAILED}),
    ]

    @patch(ChangeSetModelExecutor.execute)
    def execute(fn, self):
        status = self._change_set.stack.status
        if status == StackStatus.CREATE_IN_PROGRESS:
            return execute_create(self)
        if status == StackStatus.UPDATE_IN_PROGRESS:
            return execute_update(self)
        return fn(self)

    def run(self) -> Exception | None:
        """Runs the change set, recording each resource change; returns what stopped it."""
        setattr(self, CHANGES, [])
        setattr(self, FAILED, [])
        try:
            self.process()
        except Exception as e:  # TriggerRollback (a resource failed) or an engine error
            return e
        return None

    def succeeded(self, cleanup_status=None):
        stack = self._change_set.stack
        # As the engine does: the deferred deletes (removed and replaced resources), newest first.
        if self._deferred_actions and cleanup_status:
            stack.set_stack_status(cleanup_status)
        for deferred in self._deferred_actions[::-1]:
            deferred.action()
        # The provider records the stack's new status before its resources and outputs, so a
        # DescribeStacks in between saw the new status with the old outputs: record them first.
        stack.resolved_resources, stack.resolved_outputs = self.resources, self.outputs
        return ChangeSetModelExecutorResult(resources=self.resources, outputs=self.outputs)

    def failures(self) -> dict[str, list[str]]:
        """The resources that failed, by verb: {"create": [...], "update": [...]}."""
        out = {}
        for name, verb in getattr(self, FAILED):
            out.setdefault(verb, []).append(name)
        return out

    def execute_create(self):
        stack = self._change_set.stack
        failure = run(self)
        if failure is None:
            return succeeded(self)
        failed = failures(self).get("create", [])
        reason = failed_to("create", failed) if failed else str(failure)
        LOG.debug("stack %s: create failed (%s)", stack.stack_name, reason)
        if on_failure(self._change_set, "create") == DO_NOTHING:
            stack.set_stack_status(StackStatus.CREATE_FAILED, reason)
            return ChangeSetModelExecutorResult(resources=self.resources, outputs=[], failure_message=reason)
        stack.set_stack_status(StackStatus.ROLLBACK_IN_PROGRESS, f"{reason} Rollback requested by user.")
        remaining, undeleted = roll_back_create(self)
        # As LocalStack records for a rolled-back change set: what the stack held is gone.
        stack.deletion_time = datetime.now(tz=UTC)
        if undeleted:
            stack.set_stack_status(StackStatus.ROLLBACK_FAILED, failed_to("delete", [undeleted]))
        else:
            stack.set_stack_status(StackStatus.ROLLBACK_COMPLETE)
        return ChangeSetModelExecutorResult(resources=remaining, outputs=[], failure_message=reason)

    def execute_update(self):
        stack = self._change_set.stack
        failure = run(self)
        if failure is None:
            return succeeded(self, StackStatus.UPDATE_COMPLETE_CLEANUP_IN_PROGRESS)
        failed = failures(self)
        reason = " ".join(failed_to(verb, names) for verb, names in failed.items()) or str(failure)
        LOG.debug("stack %s: update failed (%s)", stack.stack_name, reason)
        if on_failure(self._change_set, "update") == DO_NOTHING:
            stack.set_stack_status(StackStatus.UPDATE_FAILED, reason)
            resources = {**self._before_resolved_resources, **self.resources}
            return ChangeSetModelExecutorResult(resources=resources, outputs=stack.resolved_outputs, failure_message=reason)
        stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_IN_PROGRESS, reason)
        resources, cleanup, unreverted = roll_back_update(self)
        if unreverted:
            stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_FAILED, failed_to("update", [unreverted]))
            resources = {**resources, **self.resources}
        else:
            stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS)
            for name, resource_type, physical_id, model, record in reversed(cleanup):
                # As after a successful update, a failed cleanup delete fails nothing.
                delete(self, name, resource_type, physical_id, model, record)
            stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_COMPLETE)
        # The stack keeps the template and parameters it is back to: the provider copies them
        # from the change set once this returns.
        change_set = self._change_set
        change_set.template, change_set.template_body = stack.template, stack.template_body
        change_set.processed_template = stack.processed_template
        change_set.resolved_parameters = stack.resolved_parameters
        return ChangeSetModelExecutorResult(resources=resources, outputs=stack.resolved_outputs, failure_message=reason)

    def left_behind(resource: dict) -> str | None:
        """The physical id of what a resource's last action left: none if its create failed,
        except what `kept_by_failed_create` names."""
        if resource.get("ResourceStatus") in (ResourceStatus.CREATE_COMPLETE, ResourceStatus.UPDATE_COMPLETE):
            return resource.get("PhysicalResourceId")
        return kept_by_failed_create(resource.get("Type", ""), resource.get("Properties") or {})

    def forget(self, name, resource_type):
        """A resource whose create failed and left nothing: as on AWS, its record goes."""
        if name in (self._change_set.stack.resource_states or {}):
            self._change_set.stack.set_resource_status(
                logical_resource_id=name,
                physical_resource_id=None,
                resource_type=resource_type,
                status=ResourceStatus.DELETE_COMPLETE,
            )

    def delete(self, name, resource_type, physical_id, model, record=True) -> bool:
        """Deletes one physical resource, with its events; `record=False` for one that is no
        longer what the stack's record of `name` names (a replaced one). True if it went."""
        if physical_id is None:
            forget(self, name, resource_type)
            return True
        stack = self._change_set.stack

        def status(value, reason=None):
            if record:
                stack.set_resource_status(
                    logical_resource_id=name,
                    physical_resource_id=physical_id,
                    resource_type=resource_type,
                    status=value,
                    resource_status_reason=reason,
                )
            else:
                stack._store_event(name, resource_type, physical_id, value, reason)

        status(ResourceStatus.DELETE_IN_PROGRESS)
        event = self._execute_resource_action(
            action=ChangeAction.Remove,
            logical_resource_id=name,
            resource_type=resource_type,
            before_properties=PreprocProperties(properties=model),
            after_properties=None,
            # Leaves the executor's record of the resource alone; the caller keeps it.
            part_of_replacement=True,
        )
        if event.status == OperationStatus.SUCCESS:
            status(ResourceStatus.DELETE_COMPLETE)
            return True
        status(ResourceStatus.DELETE_FAILED, event.message)
        return False

    def roll_back_create(self) -> tuple[dict, str | None]:
        """Deletes what the create made, newest first; returns the resources left and the one
        whose delete failed.

        A delete that fails stops the rollback there: what is older may be what the resource
        left behind needs, so it stays too.
        """
        remaining = {}
        undeleted = None
        # A resource whose own preprocessing failed was never handed to a provider.
        for name, _ in getattr(self, FAILED):
            if name not in self.resources:
                forget(self, name, self._change_set.stack.resource_states[name]["ResourceType"])
        for name, resource in reversed(list(self.resources.items())):
            if remaining:
                remaining[name] = resource
                continue
            model = resource.get("Properties") or {}
            if not delete(self, name, resource["Type"], left_behind(resource), model):
                remaining[name] = resource
                undeleted = name
        return remaining, undeleted

    def roll_back_update(self) -> tuple[dict, list, str | None]:
        """Takes each resource the update changed back to the previous template, in the order
        the update changed them; returns the stack's resources after, the deletes left for the
        cleanup (what the update created), and the resource that could not be taken back."""
        stack = self._change_set.stack
        resources = dict(self._before_resolved_resources)
        cleanup = []
        unreverted = None
        for name, before, after in getattr(self, CHANGES):
            current = self.resources.get(name) or {}
            if is_nothing(after):
                continue  # a removal: it waits for the update to succeed, so it never ran
            if is_nothing(before):  # created by the update
                cleanup.append((name, after.resource_type, left_behind(current), current.get("Properties") or {}, True))
                continue
            previous = resources.get(name) or {}
            if before.resource_type != after.resource_type or after.requires_replacement:
                # Replaced: the previous resource is still there (its delete waits for success).
                new_id = left_behind(current)
                if new_id and new_id != previous.get("PhysicalResourceId"):
                    cleanup.append((name, after.resource_type, new_id, current.get("Properties") or {}, False))
                stack.set_resource_status(
                    logical_resource_id=name,
                    physical_resource_id=previous.get("PhysicalResourceId"),
                    resource_type=before.resource_type,
                    status=ResourceStatus.UPDATE_COMPLETE,
                )
                continue
            if unreverted:
                continue
            # Updated in place, or failed to be: an Update back to the previous properties.
            model = current.get("Properties") or previous.get("Properties") or {}
            if is_custom(before.resource_type) and current.get("ResourceStatus") == ResourceStatus.UPDATE_FAILED:
                # The function's model still holds the old properties; what it was last asked for
                # are the new ones, the rollback's OldResourceProperties.
                model = {**model, PROPERTIES: after.properties.properties}
            physical_id = current.get("PhysicalResourceId") or model.get(PHYSICAL_ID) or previous.get("PhysicalResourceId")

            def status(value, physical_id, reason=None):
                stack.set_resource_status(
                    logical_resource_id=name,
                    physical_resource_id=physical_id,
                    resource_type=before.resource_type,
                    status=value,
                    resource_status_reason=reason,
                )

            status(ResourceStatus.UPDATE_IN_PROGRESS, physical_id)
            event = self._execute_resource_action(
                action=ChangeAction.Modify,
                logical_resource_id=name,
                resource_type=before.resource_type,
                before_properties=PreprocProperties(properties=model),
                after_properties=before.properties,
            )
            if event.status != OperationStatus.SUCCESS:
                status(ResourceStatus.UPDATE_FAILED, physical_id, event.message)
                unreverted = name
                continue
            reverted = self.resources[name]
            resources[name] = reverted
            status(ResourceStatus.UPDATE_COMPLETE, reverted["PhysicalResourceId"])
            if reverted["PhysicalResourceId"] != physical_id:
                # A custom resource's function went back to another id: the one it leaves goes.
                cleanup.append((name, before.resource_type, physical_id, model, False))
        return resources, cleanup, unreverted

    @patch(ChangeSetModelExecutor._execute_resource_change)
    def _execute_resource_change(fn, self, name, before, after):
        changes = getattr(self, CHANGES, None)
        if changes is not None:
            changes.append((name, before, after))
        return fn(self, name=name, before=before, after=after)

    @patch(ChangeSetModelExecutor.visit_node_resource)
    def visit_node_resource(fn, self, node_resource):
        try:
            return fn(self, node_resource)
        except Exception:
            if getattr(self, CHANGES, None) is not None:
                setattr(self, STOPPED, True)
            raise

    @patch(ChangeSetModelExecutor._process_event)
    def _process_event(fn, self, *, action, logical_resource_id, event_status, resource_type, special_action=None, reason=None):
        if getattr(self, CHANGES, None) is None or event_status != OperationStatus.FAILED:
            return fn(
                self,
                action=action,
                logical_resource_id=logical_resource_id,
                event_status=event_status,
                resource_type=resource_type,
                special_action=special_action,
                reason=reason,
            )
        if getattr(self, STOPPED, False):
            # Waiting for a resource that failed: it never started.
            return
        # The resource's failure, without the stack's: the rollback decides what the stack is.
        verb = special_action or EventOperationFromAction[action.value]
        getattr(self, FAILED).append((logical_resource_id, verb.lower()))
        model = (self.resources.get(logical_resource_id) or {}).get("Properties") or {}
        self._change_set.stack.set_resource_status(
            logical_resource_id=logical_resource_id,
            # A custom resource that answered FAILED keeps the physical id it answered, a stack
            # set whose instances failed its id.
            physical_resource_id=kept_by_failed_create(resource_type, model)
            or self._get_physical_id(logical_resource_id, False),
            resource_type=resource_type,
            status=ResourceStatus(f"{verb}_FAILED"),
            resource_status_reason=reason,
        )

    @patch(Stack.set_stack_status)
    def set_stack_status(fn, self, status, reason=None):
        if any(self.status in settled and status in undone for settled, undone in verdicts):
            LOG.debug("stack %s: stays %s (not %s)", self.stack_name, self.status, status)
            return
        fn(self, status, reason)


@hooks.on_infra_start()
def patch_stack_operations():
    from datetime import UTC, datetime

    from localstack.aws.api.cloudformation import ChangeSetType, StackStatus
    from localstack.services.cloudformation.engine.validations import ValidationError
    from localstack.services.cloudformation.stores import get_cloudformation_store
    from localstack.services.cloudformation.v2.provider import (
        CloudformationProviderV2,
        find_change_set_v2,
        find_stack_v2,
        is_stack_arn,
    )
    from localstack.utils.patch import patch

    def stack_of(context, stack_name):
        state = get_cloudformation_store(context.account_id, context.region)
        if not stack_name:
            return None
        if is_stack_arn(stack_name):
            return state.stacks_v2.get(stack_name)
        return find_stack_v2(state, stack_name)

    def refuse_update(stack):
        if stack is not None and refuses_updates(stack.status):
            # The message of CloudFormation's ValidationError, e.g. in
            # https://github.com/aws/aws-sam-cli/issues/4230.
            raise ValidationError(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")

    @patch(CloudformationProviderV2.update_stack)
    def update_stack(fn, self, context, request):
        refuse_update(stack_of(context, request.get("StackName")))
        return fn(self, context, request)

    @patch(CloudformationProviderV2.create_change_set)
    def create_change_set(fn, self, context, request):
        if request.get("ChangeSetType", ChangeSetType.UPDATE) == ChangeSetType.UPDATE:
            refuse_update(stack_of(context, request.get("StackName")))
        return fn(self, context, request)

    @patch(CloudformationProviderV2.execute_change_set)
    def execute_change_set(fn, self, context, change_set_name, stack_name=None, disable_rollback=None, **kwargs):
        state = get_cloudformation_store(context.account_id, context.region)
        try:
            change_set = find_change_set_v2(state, change_set_name, stack_name)
        except Exception:  # the handler raises the right error for it
            change_set = None
        if change_set is not None:
            setattr(change_set, DISABLE_ROLLBACK, disable_rollback)
        return fn(self, context, change_set_name, stack_name=stack_name, disable_rollback=disable_rollback, **kwargs)

    @patch(CloudformationProviderV2.delete_stack)
    def delete_stack(fn, self, context, stack_name, **kwargs):
        stack = stack_of(context, stack_name)
        if stack is not None and stack.status == StackStatus.ROLLBACK_COMPLETE and not stack.resolved_resources:
            # The rollback deleted everything: nothing for the engine to walk through.
            stack.set_stack_status(StackStatus.DELETE_IN_PROGRESS)
            stack.set_stack_status(StackStatus.DELETE_COMPLETE)
            stack.deletion_time = datetime.now(tz=UTC)
            return None
        return fn(self, context, stack_name, **kwargs)
