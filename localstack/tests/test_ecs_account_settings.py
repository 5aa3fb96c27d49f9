"""ECS account settings per principal, through boto3 against LocalStack (ecs:enitrunk)."""

import pytest
from botocore.exceptions import ClientError

from conftest import trust_policy, unique


@pytest.fixture
def role(client, account):
    """A role the account (so `operator`, through `assume`) may assume."""
    trust = trust_policy({"AWS": f"arn:aws:iam::{account}:root"})
    return client("iam").create_role(RoleName=unique("role"), AssumeRolePolicyDocument=trust)["Role"]["Arn"]


def effective(ecs, principal, name="awsvpcTrunking"):
    [s] = ecs.list_account_settings(name=name, principalArn=principal, effectiveSettings=True)["settings"]
    assert s["principalArn"] == principal
    return s["value"]


def test_put_without_principal_applies_to_the_assumed_role(client, role, assume):
    other = client("iam").create_role(RoleName=unique("other"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ecs_as_role = client("ecs", assume(role))
    setting = ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled")["setting"]
    assert setting == {"name": "awsvpcTrunking", "value": "enabled", "principalArn": role, "type": "user"}
    ecs = client("ecs")
    assert effective(ecs, role) == "enabled"
    # Another role, and the caller's own view, still see the AWS default.
    assert effective(ecs, other) == "disabled"
    # The role reads its own value without naming itself.
    [own] = ecs_as_role.list_account_settings(name="awsvpcTrunking", effectiveSettings=True)["settings"]
    assert own["value"] == "enabled" and own["principalArn"] == role


def test_effective_falls_back_to_account_default_then_aws_default(client, role, assume):
    ecs = client("ecs")
    account = client("sts").get_caller_identity()["Account"]
    root = f"arn:aws:iam::{account}:root"
    region_ecs = client("ecs")
    try:
        assert effective(ecs, role, "containerInsights") == "disabled"
        default = ecs.put_account_setting_default(name="containerInsights", value="enabled")["setting"]
        assert default["principalArn"] == root
        assert effective(ecs, role, "containerInsights") == "enabled"
        client("ecs", assume(role)).put_account_setting(name="containerInsights", value="disabled")
        assert effective(ecs, role, "containerInsights") == "disabled"
        # Without effectiveSettings only the principal's own settings are listed.
        own = ecs.list_account_settings(principalArn=role)["settings"]
        assert [s["name"] for s in own] == ["containerInsights"]
    finally:
        region_ecs.put_account_setting_default(name="containerInsights", value="disabled")


def test_delete_removes_only_the_principals_own_value(client, role, assume):
    ecs_as_role = client("ecs", assume(role))
    ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled")
    deleted = ecs_as_role.delete_account_setting(name="awsvpcTrunking")["setting"]
    assert deleted["value"] == "enabled" and deleted["principalArn"] == role
    assert effective(client("ecs"), role) == "disabled"
    assert client("ecs").list_account_settings(principalArn=role)["settings"] == []
    # Deleting again is not an error.
    ecs_as_role.delete_account_setting(name="awsvpcTrunking")


def test_only_root_or_the_principal_itself_may_name_a_principal(client, role, assume):
    other = client("iam").create_role(RoleName=unique("other"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ecs_as_role = client("ecs", assume(role))
    with pytest.raises(ClientError) as e:
        ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=other)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    # Naming itself is fine, and so is root naming anyone.
    ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=role)
    client("ecs").put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=other)
    assert effective(client("ecs"), other) == "enabled"


@pytest.mark.parametrize("name", ["bogus", "AWSVPCTRUNKING", ""])
def test_unknown_setting_names_are_invalid_parameters(client, name):
    with pytest.raises(ClientError) as e:
        client("ecs").put_account_setting(name=name, value="enabled")
    assert e.value.response["Error"]["Code"] in ("InvalidParameterException",)


def test_invalid_value_is_an_invalid_parameter(client):
    with pytest.raises(ClientError) as e:
        client("ecs").put_account_setting(name="awsvpcTrunking", value="on")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_other_ecs_operations_go_to_moto(client):
    ecs = client("ecs")
    name = unique("cluster")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    assert arn.endswith(f":cluster/{name}")
    assert arn in ecs.list_clusters()["clusterArns"]
