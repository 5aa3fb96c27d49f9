"""Fix to moto 5.1.54's public SSM parameters, applied when LocalStack starts
(`localstack.hooks.on_infra_start`).

The public SSM parameters `/aws/service/ecs/optimized-ami/.../recommended` hold a JSON document;
SSM's `Value` is always a string (AWS returns the document as compact JSON text), but moto serves
it as a JSON object, which typed clients (the AWS SDK for Rust) cannot parse. (moto already serves
these parameters read-only, with AMI ids that exist in its EC2 image list.)
"""

from __future__ import annotations

import json

from localstack.runtime import hooks


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
