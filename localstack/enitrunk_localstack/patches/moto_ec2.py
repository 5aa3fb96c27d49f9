"""Fix to moto 5.1.54's EC2 launch template versions, applied when LocalStack starts
(`localstack.hooks.on_infra_start`).

`CreateLaunchTemplateVersion` stores `UserData` as the raw request string, while every other path
(CreateLaunchTemplate, CloudFormation) stores it as a validated `Base64EncodedString`. Launching
an instance from such a version (an Auto Scaling group scaling out after its launch template got a
new version) then fails moto's own type assertion with an InternalError. The fix parses it the way
CreateLaunchTemplate does, which also rejects user data that is not base64, as EC2 does.
"""

from __future__ import annotations

from localstack.runtime import hooks


@hooks.on_infra_start()
def fix_launch_template_version_user_data():
    from moto.ec2.models.launch_templates import LaunchTemplate
    from moto.ec2.utils import parse_user_data
    from localstack.utils.patch import patch

    @patch(LaunchTemplate.create_version)
    def create_version(fn, self, data, description):
        if isinstance(data.get("UserData"), (str, bytes)):
            data = {**data, "UserData": parse_user_data(data["UserData"])}
        return fn(self, data, description)
