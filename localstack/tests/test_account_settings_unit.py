"""account_settings.AccountSettings on its own: resolution and permission rules."""

import pytest

from enitrunk_localstack.services.account_settings import AWS_DEFAULTS, AccountSettings, InvalidParameter, NotPermitted

ROOT = "arn:aws:iam::111111111111:root"
ROLE = "arn:aws:iam::111111111111:role/ec2"
OTHER = "arn:aws:iam::111111111111:role/other"


def test_resolution_order():
    s = AccountSettings("111111111111")
    assert s.effective(ROLE, "awsvpcTrunking") == "disabled"
    s.put_default("awsvpcTrunking", "enabled")
    assert s.effective(ROLE, "awsvpcTrunking") == "enabled"
    s.put(ROLE, "awsvpcTrunking", "disabled")
    assert s.effective(ROLE, "awsvpcTrunking") == "disabled"
    s.delete(ROLE, "awsvpcTrunking")
    assert s.effective(ROLE, "awsvpcTrunking") == "enabled"


def test_root_setting_is_the_account_default():
    s = AccountSettings("111111111111")
    s.put(ROOT, "awsvpcTrunking", "enabled")
    assert s.effective(OTHER, "awsvpcTrunking") == "enabled"


def test_effective_list_covers_every_known_name():
    s = AccountSettings("111111111111")
    names = [x["name"] for x in s.list(ROLE, effective_settings=True)]
    assert names == list(AWS_DEFAULTS)


def test_value_filter():
    s = AccountSettings("111111111111")
    s.put(ROLE, "awsvpcTrunking", "enabled")
    assert s.list(ROLE, value="enabled", effective_settings=True)[0]["name"] in AWS_DEFAULTS
    assert all(x["value"] == "enabled" for x in s.list(ROLE, value="enabled", effective_settings=True))


def test_non_root_cannot_name_another_principal():
    s = AccountSettings("111111111111")
    with pytest.raises(NotPermitted):
        s.put(ROLE, "awsvpcTrunking", "enabled", principal_arn=OTHER)
    with pytest.raises(NotPermitted):
        s.delete(ROLE, "awsvpcTrunking", principal_arn=OTHER)
    # Reading too: "In order to use this parameter, you must be the root user, or the principal."
    with pytest.raises(NotPermitted):
        s.list(ROLE, principal_arn=OTHER, effective_settings=True)
    with pytest.raises(NotPermitted):
        s.list(ROLE, principal_arn=ROOT, effective_settings=True)
    assert s.list(ROLE, name="awsvpcTrunking", principal_arn=ROLE) == []
    assert s.list(ROOT, name="awsvpcTrunking", principal_arn=OTHER, effective_settings=True)[0]["principalArn"] == OTHER


def test_root_cannot_name_a_principal_of_another_account():
    s = AccountSettings("111111111111")
    with pytest.raises(InvalidParameter):
        s.put(ROOT, "awsvpcTrunking", "enabled", principal_arn="arn:aws:iam::222222222222:role/x")
