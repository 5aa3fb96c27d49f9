"""Whether ECS gives a registering container instance a trunk network interface: pure logic for
`ecs_container_instances` (no LocalStack imports; unit tested in `tests/test_trunking_unit.py`).

From the developer guide (container-instance-eni.md, "ENI trunking considerations" and
"Working with container instances with increased ENI limits",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html):
- "Your account or container instance IAM role must opt-in to the awsvpcTrunking account setting"
  (the setting effective for the principal that registers the instance, when it registers: "Only
  new Amazon EC2 instances launched after opting in to awsvpcTrunking receive the increased ENI
  limits and the trunk network interface. Previously launched instances do not receive these
  features regardless of the actions taken.");
- a supported instance type (the table in `instance_types`);
- "Only Linux variants ... with version 1.28.1 or later of the container agent" (the agent then
  reports `ecs.capability.task-eni-trunking`);
- "Amazon EC2 instances must have resource-based IPv4 DNS requests turned off."
- "the instance transitions to a REGISTERING status while the trunk elastic network interface is
  provisioned for the instance. If the registration fails, the instance transitions to a
  REGISTRATION_FAILED status ... the statusReason field ... describes the reason for the failure."

Where the guide is silent, chosen: an instance whose type or agent cannot be trunked registers
`ACTIVE` without a trunk (nothing is provisioned, so no `REGISTERING`); one with resource-based
DNS A records on goes `REGISTERING`, then `REGISTRATION_FAILED` with `RESOURCE_NAME_DNS_REASON`.
"""

from __future__ import annotations

from dataclasses import dataclass

NONE, TRUNK, FAIL = "none", "trunk", "fail"
TRUNKING_CAPABILITY = "ecs.capability.task-eni-trunking"

RESOURCE_NAME_DNS_REASON = (
    "Unable to provision a trunk network interface for the instance: its resource-based IPv4 (A record) "
    "DNS requests are turned on. ENI trunking requires them turned off "
    "(PrivateDnsNameOptions.EnableResourceNameDnsARecord: false)."
)


@dataclass(frozen=True)
class Decision:
    outcome: str  # NONE: ACTIVE without a trunk; TRUNK: REGISTERING, then ACTIVE with one; FAIL: REGISTERING, then REGISTRATION_FAILED
    why: str  # for the log, or the statusReason of FAIL


def decide(setting: str, type_supported: bool, capabilities: set[str], resource_name_dns_a_record: bool) -> Decision:
    if setting != "enabled":
        return Decision(NONE, f"awsvpcTrunking is {setting} for the registering principal")
    if TRUNKING_CAPABILITY not in capabilities:
        return Decision(NONE, "the agent does not report ecs.capability.task-eni-trunking (Linux agent 1.28.1 or later)")
    if not type_supported:
        return Decision(NONE, "the instance type does not support ENI trunking")
    if resource_name_dns_a_record:
        return Decision(FAIL, RESOURCE_NAME_DNS_REASON)
    return Decision(TRUNK, "awsvpcTrunking is enabled for the registering principal")
