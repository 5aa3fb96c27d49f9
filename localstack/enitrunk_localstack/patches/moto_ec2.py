"""Fixes to moto 5.1.54 bugs on enitrunk's path, applied when LocalStack starts
(`localstack.hooks.on_infra_start`).

- `CreateLaunchTemplateVersion` stores `UserData` as the raw request string, while every other
  path (CreateLaunchTemplate, CloudFormation) stores it as a validated `Base64EncodedString`.
  Launching an instance from such a version (an Auto Scaling group scaling out after its launch
  template got a new version) then fails moto's own type assertion with an InternalError. The fix
  parses it the way CreateLaunchTemplate does, which also rejects user data that is not base64,
  as EC2 does.
- The public SSM parameters `/aws/service/ecs/optimized-ami/.../recommended` hold a JSON document;
  SSM's `Value` is always a string (AWS returns the document as compact JSON text), but moto
  serves it as a JSON object, which typed clients (the AWS SDK for Rust) cannot parse.
  (moto already serves these parameters read-only, with AMI ids that exist in its EC2 image list.)
"""

from __future__ import annotations

import json
import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


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


@hooks.on_infra_start()
def fix_public_ssm_parameter_documents():
    import moto.ssm.models as ssm_models
    from localstack.utils.patch import Patch

    convert_to_params = ssm_models.convert_to_params

    def as_strings(tree):
        return [
            {**p, "Value": p["Value"] if isinstance(p["Value"], str) else json.dumps(p["Value"], separators=(",", ":"))}
            for p in convert_to_params(tree)
        ]

    # moto.ssm.models imported the function by name: patch that name, not the defining module's.
    Patch(ssm_models, "convert_to_params", as_strings).apply()
