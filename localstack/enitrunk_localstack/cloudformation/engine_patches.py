"""Fixes to LocalStack's CloudFormation engine (v2): the custom-resource replacement Delete, and
the delete of a stack whose create failed part way and was not rolled back.

For a custom resource, CloudFormation cannot know from the template whether an Update replaces
the resource: the function decides, by answering with a new `PhysicalResourceId`. CloudFormation
then sends, in the UPDATE_COMPLETE_CLEANUP_IN_PROGRESS phase, a Delete for the *old* physical id
with the *old* properties
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html).
LocalStack's engine only replaces on create-only property changes, so this hook (registered in
`localstack.hooks.on_infra_start`) wraps `ChangeSetModelExecutor._execute_resource_change` and
defers that Delete itself.

A create that failed without rollback (`DisableRollback`, `OnFailure=DO_NOTHING`; `rollback`)
leaves the stack CREATE_FAILED with the resources created so far, and those after the failed one
were never created. DeleteStack then asked their providers to delete them anyway, which fails
for many types (AWS::IAM::InstanceProfile: "Failed to delete resource with id InstanceProfile")
and left the stack DELETE_FAILED. CloudFormation deletes only what exists; so does the second hook.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


@hooks.on_infra_start()
def patch_custom_resource_replacement():
    from localstack.aws.api.cloudformation import ChangeAction, ResourceStatus
    from localstack.services.cloudformation.engine.v2.change_set_model import is_nothing
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.utils.patch import patch

    @patch(ChangeSetModelExecutor._execute_resource_change)
    def _execute_resource_change(fn, self, name, before, after):
        fn(self, name=name, before=before, after=after)
        if is_nothing(before) or is_nothing(after):
            return
        if before.resource_type != after.resource_type or after.requires_replacement:
            return
        if not is_custom(after.resource_type):
            return
        old = self._before_resolved_resources.get(name) or {}
        new = self.resources.get(name) or {}
        old_id, new_id = old.get("PhysicalResourceId"), new.get("PhysicalResourceId")
        if new.get("ResourceStatus") != ResourceStatus.UPDATE_COMPLETE or not old_id or old_id == new_id:
            return
        old_properties = self._merge_before_properties(name, before)
        stack = self._change_set.stack
        resource_type = before.resource_type

        def cleanup():
            # Events only: the logical resource now is the new physical resource, so the stack's
            # resource state must not be touched by the old one's deletion.
            stack._store_event(name, resource_type, old_id, ResourceStatus.DELETE_IN_PROGRESS)
            event = self._execute_resource_action(
                action=ChangeAction.Remove,
                logical_resource_id=name,
                resource_type=resource_type,
                before_properties=old_properties,
                after_properties=None,
                part_of_replacement=True,
            )
            if event.status == OperationStatus.SUCCESS:
                stack._store_event(name, resource_type, old_id, ResourceStatus.DELETE_COMPLETE)
            else:
                # As in CloudFormation, a failed cleanup does not fail the update.
                stack._store_event(name, resource_type, old_id, ResourceStatus.DELETE_FAILED, event.message)

        LOG.debug("custom resource %s replaced (%s -> %s); deferring the Delete of the old id", name, old_id, new_id)
        self._defer_action(f"cleanup-from-replacement-{name}", cleanup)

    # The StackSets operations (`stacksets/api.py`) go in with the engine's first patch.
    from enitrunk_localstack.stacksets.api import install as install_stacksets

    install_stacksets()


@hooks.on_infra_start()
def patch_delete_skips_never_created_resources():
    from localstack.aws.api.cloudformation import ResourceStatus, StackStatus
    from localstack.services.cloudformation.engine.v2.change_set_model import is_nothing
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor
    from localstack.utils.patch import patch

    @patch(ChangeSetModelExecutor._execute_resource_change)
    def _execute_resource_change(fn, self, name, before, after):
        stack = self._change_set.stack
        if stack.status != StackStatus.DELETE_IN_PROGRESS or is_nothing(before) or not is_nothing(after):
            return fn(self, name=name, before=before, after=after)
        if name not in (stack.resolved_resources or {}):
            # The engine records every resource it attempted; this one it never reached.
            LOG.debug("stack %s: %s was never created; nothing to delete", stack.stack_name, name)
            return
        state = (stack.resource_states or {}).get(name) or {}
        if (
            state.get("ResourceStatus") == ResourceStatus.CREATE_FAILED
            and not state.get("PhysicalResourceId")
            and not is_custom(state.get("ResourceType", ""))
        ):
            # Its create failed, so there is nothing to delete; as on AWS, the record goes.
            # Custom resources are the exception: AWS sends their function the Delete anyway.
            stack.set_resource_status(
                logical_resource_id=name,
                physical_resource_id=None,
                resource_type=state["ResourceType"],
                status=ResourceStatus.DELETE_COMPLETE,
            )
            return
        fn(self, name=name, before=before, after=after)
