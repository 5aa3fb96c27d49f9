"""One stack instance's stack, in its account and Region, as its account's execution role.

Self-managed permissions
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html):
CloudFormation assumes the administrator account's administration role (its trust policy must
name `cloudformation.amazonaws.com`), and that role's session assumes the execution role in the
target account (its trust policy must name the administration role or the administrator account,
and the administration role's policy must allow `sts:AssumeRole` on it). Both `AssumeRole` calls
go through LocalStack's gateway, so the extension's trust and permission checks
(`auth/assume_role.py`) decide them; the stack is then created, updated or deleted with the
execution role's credentials, in the target Region, so it belongs to the target account.

The stack is polled every `ENITRUNK_STACKSET_POLL_SECONDS` (default 0.25) until it leaves
`*_IN_PROGRESS`.
"""

from __future__ import annotations

import logging
import os
import threading
import time

LOG = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("ENITRUNK_STACKSET_POLL_SECONDS", "0.25"))
# CloudFormation's own limit on a stack operation is the resources' timeouts; this only keeps a
# stuck stack from holding an operation thread forever.
STACK_DEADLINE_SECONDS = 3600
NO_UPDATES = "No updates are to be performed"


class InstanceFailed(Exception):
    """The stack instance's operation failed; the message is its `StatusReason`."""

    def __init__(self, reason: str, stack_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.stack_id = stack_id


def trust_reason(account: str, execution_role: str, administration_role_arn: str) -> str:
    # AWS's words when the execution role cannot be assumed (missing, or not trusting the
    # administration role), as reported by the callers that match on them (e.g. the Terraform AWS
    # provider retries on "role with trust relationship").
    admin_name = administration_role_arn.rsplit("/", 1)[-1]
    return f"Account {account} should have '{execution_role}' role with trust relationship to Role '{admin_name}'."


def _error_message(e: Exception) -> str:
    response = getattr(e, "response", None)
    if response:
        return response.get("Error", {}).get("Message") or str(e)
    return str(e)


def _is_access_denied(e: Exception) -> bool:
    response = getattr(e, "response", None) or {}
    return response.get("Error", {}).get("Code") == "AccessDenied"


class Roles:
    """The role chain of one operation: the administration role's session, assumed once and shared
    by its instances, then each target account's execution role."""

    def __init__(self, admin_account: str, admin_region: str, stack_set_arn: str, admin_role_arn: str,
                 execution_role: str, session_name: str):
        self.admin_account = admin_account
        self.admin_region = admin_region
        self.stack_set_arn = stack_set_arn
        self.admin_role_arn = admin_role_arn
        self.execution_role = execution_role
        self.session_name = session_name[:64]
        self._admin: dict | None = None
        self._admin_error: str | None = None
        self._lock = threading.Lock()

    def _administration(self) -> dict:
        with self._lock:
            return self._assume_administration()

    def _assume_administration(self) -> dict:
        from localstack.aws.connect import connect_to

        if self._admin is None and self._admin_error is None:
            sts = connect_to(
                aws_access_key_id=self.admin_account, aws_secret_access_key="test", region_name=self.admin_region
            ).sts.request_metadata(service_principal="cloudformation", source_arn=self.stack_set_arn)
            try:
                self._admin = sts.assume_role(RoleArn=self.admin_role_arn, RoleSessionName=self.session_name)["Credentials"]
            except Exception as e:
                LOG.info("stack set %s: cannot assume %s: %s", self.stack_set_arn, self.admin_role_arn, _error_message(e))
                # Chosen wording: AWS's for this case is not documented.
                self._admin_error = (
                    f"CloudFormation could not assume the administration role {self.admin_role_arn}: it must exist "
                    f"and trust cloudformation.amazonaws.com ({_error_message(e)})"
                )
        if self._admin_error is not None:
            raise InstanceFailed(self._admin_error)
        return self._admin

    def cloudformation(self, account: str, region: str):
        """A CloudFormation client in `account` and `region`, signed as its execution role."""
        from localstack.aws.connect import connect_to

        admin = self._administration()
        sts = connect_to(
            aws_access_key_id=admin["AccessKeyId"],
            aws_secret_access_key=admin["SecretAccessKey"],
            aws_session_token=admin["SessionToken"],
            region_name=self.admin_region,
        ).sts
        role_arn = f"arn:aws:iam::{account}:role/{self.execution_role}"
        try:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=self.session_name)["Credentials"]
        except Exception as e:
            if not _is_access_denied(e):
                raise
            LOG.info("stack set %s: cannot assume %s: %s", self.stack_set_arn, role_arn, _error_message(e))
            raise InstanceFailed(trust_reason(account, self.execution_role, self.admin_role_arn)) from None
        return connect_to(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        ).cloudformation


class MemberAccounts:
    """Service-managed permissions: CloudFormation acts in each member account through the roles
    it creates there itself (stacksets-orgs-activate-trusted-access); those roles are not
    modelled, so the stack is created as the member account."""

    def cloudformation(self, account: str, region: str):
        from localstack.aws.connect import connect_to

        return connect_to(aws_access_key_id=account, aws_secret_access_key="test", region_name=region).cloudformation


def _wait(cfn, stack_id: str) -> dict | None:
    """The stack once no longer in progress; None once it is gone."""
    deadline = time.monotonic() + STACK_DEADLINE_SECONDS
    while True:
        try:
            stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        except Exception as e:
            if "does not exist" in _error_message(e):
                return None
            raise
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(POLL_SECONDS)


def failure_reason(cfn, stack: dict) -> str:
    """The first failed resource of the stack's last operation, as StackSets reports it; else the stack's reason."""
    try:
        found = cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
    except Exception:
        found = []
    for event in reversed(found):
        reason = event.get("ResourceStatusReason") or ""
        if (
            event.get("ResourceStatus", "").endswith("_FAILED")
            and event.get("LogicalResourceId") != stack["StackName"]
            and "cancelled" not in reason.lower()
        ):
            end = "" if reason.endswith(".") else "."
            return (
                f"ResourceLogicalId:{event['LogicalResourceId']}, ResourceType:{event['ResourceType']}, "
                f"ResourceStatusReason:{reason}{end}"
            )
    return stack.get("StackStatusReason") or f"Stack {stack['StackName']} ended {stack['StackStatus']}"


def create(cfn, stack_name: str, template: dict) -> str:
    """Creates the stack; its id. A failed create is rolled back and the stack deleted, as
    StackSets leaves it (the stack shows `DELETED`, stacksets-troubleshooting)."""
    try:
        stack_id = cfn.create_stack(StackName=stack_name, **template)["StackId"]
    except Exception as e:
        raise InstanceFailed(_error_message(e)) from None
    stack = _wait(cfn, stack_id)
    if stack is not None and stack["StackStatus"] == "CREATE_COMPLETE":
        return stack_id
    reason = failure_reason(cfn, stack) if stack else f"Stack {stack_name} disappeared during its creation"
    if stack is not None:
        try:
            cfn.delete_stack(StackName=stack_id)
            _wait(cfn, stack_id)
        except Exception as e:
            LOG.info("cannot delete the failed stack %s: %s", stack_id, _error_message(e))
    raise InstanceFailed(reason, stack_id)


def exists(cfn, stack_id: str | None) -> bool:
    if not stack_id:
        return False
    try:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    except Exception as e:
        if "does not exist" in _error_message(e):
            return False
        raise
    return stack["StackStatus"] not in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE")


def update(cfn, stack_id: str, template: dict) -> None:
    try:
        cfn.update_stack(StackName=stack_id, **template)
    except Exception as e:
        if NO_UPDATES in _error_message(e):
            return
        raise InstanceFailed(_error_message(e), stack_id) from None
    stack = _wait(cfn, stack_id)
    if stack is None:
        raise InstanceFailed(f"Stack {stack_id} disappeared during its update", stack_id)
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        raise InstanceFailed(failure_reason(cfn, stack), stack_id)


def delete(cfn, stack_id: str) -> None:
    try:
        cfn.delete_stack(StackName=stack_id)
    except Exception as e:
        if "does not exist" in _error_message(e):
            return
        raise InstanceFailed(_error_message(e), stack_id) from None
    stack = _wait(cfn, stack_id)
    if stack is not None and stack["StackStatus"] != "DELETE_COMPLETE":
        raise InstanceFailed(failure_reason(cfn, stack), stack_id)
