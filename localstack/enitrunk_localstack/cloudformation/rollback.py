"""A failed stack create rolls back as CloudFormation's does, through `CreateStack` and through a
`CREATE` change set alike.

LocalStack's engine (v2) stops at the failed resource, keeps what it created before, records the
stack `CREATE_FAILED` (and a stray `ROLLBACK_COMPLETE` event) and so never sends a custom resource
the Delete that CloudFormation sends on rollback. CloudFormation instead: the stack goes
`ROLLBACK_IN_PROGRESS` with the reason "The following resource(s) failed to create: [X]. Rollback
requested by user.", deletes what it created in reverse dependency order (a custom resource whose
Create failed gets a Delete for the physical id its `FAILED` response gave, see
https://github.com/aws/aws-cdk/pull/5525), ends `ROLLBACK_COMPLETE` (`ROLLBACK_FAILED` if a
delete fails), and then "only a delete operation can be performed"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html).

The hooks (`localstack.hooks.on_infra_start`):
- `ChangeSetModelExecutor.execute`, for a stack in `CREATE_IN_PROGRESS`: runs the create; on a
  failure rolls back, or with `DisableRollback`/`OnFailure=DO_NOTHING` leaves the stack
  `CREATE_FAILED` with what it created. `OnFailure=DELETE` rolls back like `ROLLBACK` (the stack
  is not deleted afterwards). The engine creates one resource at a time, each after those it
  depends on, so the reverse of creation order is a reverse dependency order.
- `ChangeSetModelExecutor._process_event` and `visit_node_resource`: during such a create, a
  failed resource does not fail the stack (the rollback settles it), and the resources that were
  waiting for it, never started, get no `CREATE_FAILED` of their own.
- `Stack.set_stack_status`: the provider's own verdict after the run (`CREATE_COMPLETE` or
  `CREATE_FAILED`, from looking at what is left) cannot undo a settled `ROLLBACK_*`/`CREATE_FAILED`.
- `ExecuteChangeSet` remembers its `DisableRollback`; `UpdateStack` and `UPDATE` change sets are
  refused on a stack that can only be deleted; `DeleteStack` of a rolled-back stack that holds
  nothing just ends it.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from enitrunk_localstack.cloudformation.custom_resource import PHYSICAL_ID
from enitrunk_localstack.cloudformation.engine_patches import is_custom

LOG = logging.getLogger(__name__)

# Attributes this module keeps on LocalStack's objects.
CREATING = "enitrunk_creating"  # executor: runs a create that this module settles
STOPPED = "enitrunk_stopped"  # executor: a resource failed; nothing else starts
DISABLE_ROLLBACK = "enitrunk_disable_rollback"  # change set: ExecuteChangeSet's DisableRollback

ROLLBACK, DO_NOTHING, DELETE = "ROLLBACK", "DO_NOTHING", "DELETE"


def on_failure(change_set) -> str:
    """What a failed create does: `ROLLBACK`, `DO_NOTHING` or `DELETE`, as the request said.

    `CreateStack` says it with `OnFailure` or `DisableRollback`; a change set with
    `CreateChangeSet`'s `OnStackFailure` or `ExecuteChangeSet`'s `DisableRollback`
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
    """
    disable = getattr(change_set, DISABLE_ROLLBACK, None)
    if disable is not None:
        return DO_NOTHING if disable else ROLLBACK
    payload = change_set.stack.request_payload or {}
    if payload.get("DisableRollback"):
        return DO_NOTHING
    return payload.get("OnFailure") or payload.get("OnStackFailure") or ROLLBACK


def failed_to(verb: str, names: list[str]) -> str:
    return f"The following resource(s) failed to {verb}: [{', '.join(names)}]."


def can_only_be_deleted(status: str) -> bool:
    """Stack states in which CloudFormation refuses an update: a create still running or rolled
    back, and a stack on its way out. (`CREATE_FAILED`, after `DO_NOTHING`, can be updated.)"""
    return status in {
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    }


@hooks.on_infra_start()
def patch_create_rollback():
    from datetime import UTC, datetime

    from localstack.aws.api.cloudformation import ChangeAction, ResourceStatus, StackStatus
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import (
        ChangeSetModelExecutor,
        ChangeSetModelExecutorResult,
        EventOperationFromAction,
    )
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import PreprocProperties
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.services.cloudformation.v2.entities import Stack
    from localstack.utils.patch import patch

    settled = {StackStatus.ROLLBACK_COMPLETE, StackStatus.ROLLBACK_FAILED, StackStatus.CREATE_FAILED}

    @patch(ChangeSetModelExecutor.execute)
    def execute(fn, self):
        if self._change_set.stack.status != StackStatus.CREATE_IN_PROGRESS:
            return fn(self)
        setattr(self, CREATING, True)
        failure = None
        try:
            self.process()
        except Exception as e:  # TriggerRollback (a resource failed) or an engine error
            failure = e
        stack = self._change_set.stack
        if failure is None:
            for deferred in self._deferred_actions[::-1]:
                deferred.action()
            return ChangeSetModelExecutorResult(resources=self.resources, outputs=self.outputs)

        failed = [
            name
            for name, state in (stack.resource_states or {}).items()
            if state.get("ResourceStatus") == ResourceStatus.CREATE_FAILED
        ]
        reason = failed_to("create", failed) if failed else str(failure)
        LOG.debug("stack %s: create failed (%s)", stack.stack_name, reason)
        if on_failure(self._change_set) == DO_NOTHING:
            stack.set_stack_status(StackStatus.CREATE_FAILED, reason)
            return ChangeSetModelExecutorResult(resources=self.resources, outputs=[], failure_message=reason)
        stack.set_stack_status(StackStatus.ROLLBACK_IN_PROGRESS, f"{reason} Rollback requested by user.")
        remaining, undeleted = roll_back(self, failed)
        # As LocalStack records for a rolled-back change set: what the stack held is gone.
        stack.deletion_time = datetime.now(tz=UTC)
        if undeleted:
            stack.set_stack_status(StackStatus.ROLLBACK_FAILED, failed_to("delete", [undeleted]))
        else:
            stack.set_stack_status(StackStatus.ROLLBACK_COMPLETE)
        return ChangeSetModelExecutorResult(resources=remaining, outputs=[], failure_message=reason)

    def roll_back(self, failed: list[str]) -> tuple[dict, str | None]:
        """Deletes what the create made, newest first; returns the resources left and the one
        whose delete failed.

        A delete that fails stops the rollback there: what is older may be what the resource
        left behind needs, so it stays too.
        """
        stack = self._change_set.stack
        remaining = {}
        undeleted = None
        # A resource whose own preprocessing failed was never handed to a provider.
        never_attempted = [name for name in failed if name not in self.resources]
        for name in never_attempted:
            state = stack.resource_states[name]
            stack.set_resource_status(
                logical_resource_id=name,
                physical_resource_id=None,
                resource_type=state["ResourceType"],
                status=ResourceStatus.DELETE_COMPLETE,
            )
        for name, resource in reversed(list(self.resources.items())):
            if remaining:
                remaining[name] = resource
                continue
            resource_type = resource["Type"]
            model = resource.get("Properties") or {}
            if resource.get("ResourceStatus") == ResourceStatus.CREATE_COMPLETE:
                physical_id = resource.get("PhysicalResourceId")
            elif is_custom(resource_type) and model.get(PHYSICAL_ID):
                physical_id = model[PHYSICAL_ID]
            else:
                # Its create failed and left nothing; as on AWS, the record goes.
                stack.set_resource_status(
                    logical_resource_id=name,
                    physical_resource_id=None,
                    resource_type=resource_type,
                    status=ResourceStatus.DELETE_COMPLETE,
                )
                continue

            def status(value, reason=None):
                stack.set_resource_status(
                    logical_resource_id=name,
                    physical_resource_id=physical_id,
                    resource_type=resource_type,
                    status=value,
                    resource_status_reason=reason,
                )

            status(ResourceStatus.DELETE_IN_PROGRESS)
            event = self._execute_resource_action(
                action=ChangeAction.Remove,
                logical_resource_id=name,
                resource_type=resource_type,
                before_properties=PreprocProperties(properties=model),
                after_properties=None,
                # Leaves the executor's record of the resource alone; this function keeps it.
                part_of_replacement=True,
            )
            if event.status == OperationStatus.SUCCESS:
                status(ResourceStatus.DELETE_COMPLETE)
            else:
                status(ResourceStatus.DELETE_FAILED, event.message)
                remaining[name] = resource
                undeleted = name
        return remaining, undeleted

    @patch(ChangeSetModelExecutor.visit_node_resource)
    def visit_node_resource(fn, self, node_resource):
        try:
            return fn(self, node_resource)
        except Exception:
            if getattr(self, CREATING, False):
                setattr(self, STOPPED, True)
            raise

    @patch(ChangeSetModelExecutor._process_event)
    def _process_event(fn, self, *, action, logical_resource_id, event_status, resource_type, special_action=None, reason=None):
        if not getattr(self, CREATING, False) or event_status != OperationStatus.FAILED:
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
        model = (self.resources.get(logical_resource_id) or {}).get("Properties") or {}
        stack = self._change_set.stack
        stack.set_resource_status(
            logical_resource_id=logical_resource_id,
            # A custom resource that answered FAILED keeps the physical id it answered.
            physical_resource_id=model.get(PHYSICAL_ID) if is_custom(resource_type) else None,
            resource_type=resource_type,
            status=ResourceStatus(f"{special_action or EventOperationFromAction[action.value]}_FAILED"),
            resource_status_reason=reason,
        )

    @patch(Stack.set_stack_status)
    def set_stack_status(fn, self, status, reason=None):
        if self.status in settled and status in (StackStatus.CREATE_COMPLETE, StackStatus.CREATE_FAILED):
            LOG.debug("stack %s: stays %s (not %s)", self.stack_name, self.status, status)
            return
        fn(self, status, reason)


@hooks.on_infra_start()
def patch_stack_operations_after_a_failed_create():
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
        if stack is not None and can_only_be_deleted(stack.status):
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
