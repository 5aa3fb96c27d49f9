"""ECS account settings per principal, through boto3 against LocalStack (ecs:enitrunk).

Who may name a `principalArn` ("you must be the root user, or the principal", ECS API reference)
and the IAM authorization of the account-setting actions, with the condition key
`ecs:account-setting`, against the caller's identity-based policies.
"""

import json
from pathlib import Path

import pytest
import yaml

from conftest import allow, create_role, create_user, refusal, unique

ACTIONS = ["ecs:PutAccountSetting", "ecs:DeleteAccountSetting", "ecs:ListAccountSettings"]
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "eni-trunking.yaml"
# The session name the function assumes the instance role with (custom-resource-lambda's
# `aws::SESSION_NAME`); EC2 names its sessions of the role after the instance.
FUNCTION_SESSION = "enitrunk-custom-resource"


class _CfnLoader(yaml.SafeLoader):
    """Reads a CloudFormation template, its short-form intrinsics (`!Ref`, `!GetAtt`, ...) as
    `{"Ref": value}`, `{"GetAtt": value}`: enough to take a policy document out of it."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, tag, node: {tag[1:]: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
                               else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
                               else loader.construct_mapping(node)},
)


def template_policy() -> str:
    """The instance role's inline policy in the checked-in `templates/eni-trunking.yaml`."""
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    [policy] = template["Resources"]["InstanceRole"]["Properties"]["Policies"]
    return json.dumps(policy["PolicyDocument"])


@pytest.fixture
def make_role(client, account):
    """A new role the account (so `operator`) may assume, with an inline policy and managed policies."""

    def make(policy=None, managed=(), path="/"):
        return create_role(client, {"AWS": f"arn:aws:iam::{account}:root"}, path=path, policy=policy, managed=managed)

    return make


@pytest.fixture
def role(make_role):
    """A role allowed every account-setting action on every setting."""
    return make_role(allow(ACTIONS + ["ecs:PutAccountSettingDefault"]))


def effective(ecs, principal, name="awsvpcTrunking"):
    [s] = ecs.list_account_settings(name=name, principalArn=principal, effectiveSettings=True)["settings"]
    assert s["principalArn"] == principal
    return s["value"]


def test_put_without_principal_applies_to_the_assumed_role(client, role, make_role, assume):
    other = make_role()
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


def test_effective_falls_back_to_account_default_then_aws_default(client, role, assume, account):
    ecs = client("ecs")
    root = f"arn:aws:iam::{account}:root"
    ecs_as_role = client("ecs", assume(role))
    try:
        assert effective(ecs, role, "containerInsights") == "disabled"
        default = ecs.put_account_setting_default(name="containerInsights", value="enabled")["setting"]
        assert default["principalArn"] == root
        assert effective(ecs, role, "containerInsights") == "enabled"
        # Without principalArn the role reads its own effective settings: here the account default.
        [own] = ecs_as_role.list_account_settings(name="containerInsights", effectiveSettings=True)["settings"]
        assert (own["value"], own["principalArn"]) == ("enabled", role)
        ecs_as_role.put_account_setting(name="containerInsights", value="disabled")
        assert effective(ecs, role, "containerInsights") == "disabled"
        # Without effectiveSettings only the principal's own settings are listed.
        own = ecs.list_account_settings(principalArn=role)["settings"]
        assert [s["name"] for s in own] == ["containerInsights"]
    finally:
        ecs.put_account_setting_default(name="containerInsights", value="disabled")


def test_delete_removes_only_the_principals_own_value(client, role, assume):
    ecs_as_role = client("ecs", assume(role))
    ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled")
    deleted = ecs_as_role.delete_account_setting(name="awsvpcTrunking")["setting"]
    assert deleted["value"] == "enabled" and deleted["principalArn"] == role
    assert effective(client("ecs"), role) == "disabled"
    assert client("ecs").list_account_settings(principalArn=role)["settings"] == []
    # Deleting again is not an error.
    ecs_as_role.delete_account_setting(name="awsvpcTrunking")


def test_only_root_or_the_principal_itself_may_name_a_principal(client, role, make_role, assume):
    """Put, Delete and List alike: "In order to use this parameter, you must be the root user, or
    the principal." Anyone else gets ClientException (the API reference: "using an action or
    resource on behalf of a user that doesn't have permissions to use the action or resource")."""
    other = make_role()
    ecs_as_role = client("ecs", assume(role))
    calls = {
        "put": lambda p: ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=p),
        "delete": lambda p: ecs_as_role.delete_account_setting(name="awsvpcTrunking", principalArn=p),
        "list": lambda p: ecs_as_role.list_account_settings(name="awsvpcTrunking", principalArn=p, effectiveSettings=True),
    }
    for name, call in calls.items():
        code, status, message = refusal(lambda: call(other))
        assert (code, status) == ("ClientException", 400), name
        assert role in message and other in message
    # Naming itself is fine, and so is root naming anyone.
    for call in calls.values():
        call(role)
    client("ecs").put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=other)
    assert effective(client("ecs"), other) == "enabled"


def test_account_root_is_not_the_callers_own_principal(client, role, assume, account):
    """Regression: a role reading the account default by naming the account root."""
    ecs_as_role = client("ecs", assume(role))
    root = f"arn:aws:iam::{account}:root"
    assert refusal(lambda: ecs_as_role.list_account_settings(
        name="awsvpcTrunking", principalArn=root, effectiveSettings=True))[:2] == ("ClientException", 400)


def test_a_session_acts_as_its_role_with_the_roles_path(client, make_role, assume):
    """The session ARN (`assumed-role/NAME/SESSION`) has no path; the role it acts as keeps it."""
    role = make_role(allow(ACTIONS), path="/enitrunk/test/")
    assert ":role/enitrunk/test/" in role
    ecs_as_role = client("ecs", assume(role))
    assert ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled")["setting"]["principalArn"] == role
    assert ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=role)["setting"]["principalArn"] == role
    without_path = role.replace("/enitrunk/test/", "/")
    assert refusal(lambda: ecs_as_role.list_account_settings(
        name="awsvpcTrunking", principalArn=without_path))[0] == "ClientException"


def test_the_templates_instance_role_policy_allows_only_awsvpc_trunking(client, make_role, assume):
    session = assume(make_role(template_policy()), FUNCTION_SESSION)
    session_arn = client("sts", session).get_caller_identity()["Arn"]
    ecs_as_role = client("ecs", session)
    ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled")
    ecs_as_role.list_account_settings(name="containerInsights", effectiveSettings=True)
    ecs_as_role.delete_account_setting(name="awsvpcTrunking")
    assert refusal(lambda: ecs_as_role.put_account_setting(name="containerInsights", value="enabled")) == (
        "AccessDeniedException", 400,
        f"User: {session_arn} is not authorized to perform: ecs:PutAccountSetting on resource: * because no "
        "identity-based policy allows the ecs:PutAccountSetting action")
    for call in (lambda: ecs_as_role.delete_account_setting(name="containerInsights"),
                 lambda: ecs_as_role.put_account_setting_default(name="awsvpcTrunking", value="enabled")):
        assert refusal(call)[:2] == ("AccessDeniedException", 400)


def test_the_templates_instance_role_policy_refuses_the_instances_own_sessions(client, make_role, assume):
    # Anything holding the instance's credentials (a task that reaches the metadata service) acts
    # as EC2's session of the role, named after the instance: its aws:userid is
    # ROLE-ID:i-..., which the policy's `*:enitrunk-custom-resource` does not match.
    role = make_role(template_policy())
    role_id = client("iam").get_role(RoleName=role.rsplit("/", 1)[1])["Role"]["RoleId"]
    instance = assume(role, "i-0123456789abcdef0")
    ecs_as_instance = client("ecs", instance)
    calls = [
        lambda: ecs_as_instance.put_account_setting(name="awsvpcTrunking", value="disabled"),
        lambda: ecs_as_instance.delete_account_setting(name="awsvpcTrunking"),
        lambda: ecs_as_instance.list_account_settings(name="awsvpcTrunking", effectiveSettings=True),
    ]
    for call in calls:
        assert refusal(call)[:2] == ("AccessDeniedException", 400)
    function = assume(role, FUNCTION_SESSION)
    assert client("sts", function).get_caller_identity()["UserId"] == f"{role_id}:{FUNCTION_SESSION}"
    client("ecs", function).put_account_setting(name="awsvpcTrunking", value="enabled")


def test_a_role_without_ecs_permissions_is_refused_every_account_setting_action(client, make_role, assume):
    ecs_as_role = client("ecs", assume(make_role()))
    calls = [
        lambda: ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled"),
        lambda: ecs_as_role.put_account_setting_default(name="awsvpcTrunking", value="enabled"),
        lambda: ecs_as_role.delete_account_setting(name="awsvpcTrunking"),
        lambda: ecs_as_role.list_account_settings(effectiveSettings=True),
    ]
    for call in calls:
        assert refusal(call)[:2] == ("AccessDeniedException", 400)


def test_an_explicit_deny_wins_over_an_allow(client, make_role, assume):
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "ecs:PutAccountSetting", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:account-setting": "awsvpcTrunking"}}}]})
    role = make_role(allow("ecs:*"))
    client("iam").put_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyName="deny", PolicyDocument=deny)
    ecs_as_role = client("ecs", assume(role))
    ecs_as_role.put_account_setting(name="containerInsights", value="enabled")
    code, _, message = refusal(lambda: ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled"))
    assert code == "AccessDeniedException" and message.endswith("with an explicit deny in an identity-based policy")


def test_aws_managed_policies_are_resolved(client, make_role, assume):
    # The instance role's managed policy grants ECS agent actions, not account settings.
    agent = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    ecs_as_role = client("ecs", assume(make_role(managed=[agent])))
    assert refusal(lambda: ecs_as_role.put_account_setting(name="awsvpcTrunking", value="enabled"))[0] == "AccessDeniedException"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    client("ecs", assume(make_role(managed=[agent, admin]))).put_account_setting(name="awsvpcTrunking", value="enabled")


def test_users_are_authorized_by_their_own_and_their_groups_policies(client):
    iam = client("iam")
    user = create_user(client)
    ecs_as_user = client("ecs", user)
    _, _, message = refusal(lambda: ecs_as_user.put_account_setting(name="awsvpcTrunking", value="enabled"))
    assert message.startswith(f"User: {user['Arn']} is not authorized to perform: ecs:PutAccountSetting")
    group = unique("group")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="ecs", PolicyDocument=allow(ACTIONS))
    iam.add_user_to_group(GroupName=group, UserName=user["UserName"])
    setting = ecs_as_user.put_account_setting(name="awsvpcTrunking", value="enabled")["setting"]
    assert setting["principalArn"] == user["Arn"]


@pytest.mark.parametrize("name", ["bogus", "AWSVPCTRUNKING", ""])
def test_unknown_setting_names_are_invalid_parameters(client, name):
    assert refusal(lambda: client("ecs").put_account_setting(name=name, value="enabled"))[0] == "InvalidParameterException"


def test_invalid_value_is_an_invalid_parameter(client):
    assert refusal(lambda: client("ecs").put_account_setting(name="awsvpcTrunking", value="on"))[0] == "InvalidParameterException"


def test_other_ecs_operations_go_to_moto(client):
    ecs = client("ecs")
    name = unique("cluster")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    assert arn.endswith(f":cluster/{name}")
    assert arn in ecs.list_clusters()["clusterArns"]
