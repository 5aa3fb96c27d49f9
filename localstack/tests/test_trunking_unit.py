"""trunking.decide on its own: when a registering container instance gets a trunk."""

from enitrunk_localstack.services.trunking import FAIL, NONE, RESOURCE_NAME_DNS_REASON, TRUNK, TRUNKING_CAPABILITY, decide

AGENT = {TRUNKING_CAPABILITY, "ecs.capability.task-eni"}


def test_enabled_supported_and_dns_records_off_gets_a_trunk():
    assert decide("enabled", True, AGENT, False).outcome == TRUNK


def test_the_setting_off_for_the_principal_registers_without_a_trunk():
    assert decide("disabled", True, AGENT, False).outcome == NONE


def test_an_unsupported_type_or_an_old_agent_registers_without_a_trunk():
    assert decide("enabled", False, AGENT, False).outcome == NONE
    assert decide("enabled", True, {"ecs.capability.task-eni"}, False).outcome == NONE


def test_resource_name_dns_records_on_fail_the_registration_with_a_reason():
    decision = decide("enabled", True, AGENT, True)
    assert decision.outcome == FAIL and decision.why == RESOURCE_NAME_DNS_REASON
    # Without the setting there is no trunk to provision, so nothing fails.
    assert decide("disabled", True, AGENT, True).outcome == NONE
