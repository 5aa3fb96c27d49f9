"""`AWS::Lambda::Function` `Code.ZipFile`: the deployment package CloudFormation makes of inline code.

CloudFormation "places it in a file named index and zips it to create a deployment package"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html):
`index.js` for Node.js, `index.py` for Python, whatever the `Handler` says (its first part must be
`index`). A function that loads the response module gets it beside its code
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html):
`cfnresponse.py` for the exact statement `import cfnresponse` ("If you use other variants of the
import statement, CloudFormation doesn't include the response module"), `cfn-response` for a
`require('cfn-response')`. The modules are the project's own (`cfn_response/`), written from the
documented contract.

LocalStack 4.13.1 already packs inline code and adds its copies of the modules, but names the file
after the `Handler` (so `app.handler` works here and not on AWS), and its modules fail here: the
Node.js one speaks HTTPS to LocalStack's plain-HTTP ResponseURL, the Python one prints the
ResponseURL. `patch_inline_code` (a `localstack.hooks.on_infra_start` hook) packs as above and
hands LocalStack the finished zip, which it then uses as it is.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from localstack.runtime import hooks

MODULES = Path(__file__).resolve().parent / "cfn_response"
# `require('cfn-response')` or `require("cfn-response")`, as CloudFormation looks for it.
NODE_REQUIRE = re.compile(r"""require\(\s*['"]cfn-response['"]\s*\)""")
PYTHON_IMPORT = re.compile(r"^\s*import cfnresponse\s*$", re.MULTILINE)


def inline_package(runtime: str, source: str) -> bytes:
    """The zip CloudFormation deploys for inline `source` of a Node.js or Python `runtime`."""
    files: dict[str, bytes] = {}
    if runtime.startswith("nodejs"):
        files["index.js"] = source.encode()
        if NODE_REQUIRE.search(source):
            files["node_modules/cfn-response/index.js"] = (MODULES / "cfn-response.js").read_bytes()
    elif runtime.startswith("python"):
        files["index.py"] = source.encode()
        if PYTHON_IMPORT.search(source):
            files["cfnresponse.py"] = (MODULES / "cfnresponse.py").read_bytes()
    else:
        raise ValueError(f"runtime {runtime} does not take inline code (Code.ZipFile is for Node.js and Python)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


@hooks.on_infra_start()
def patch_inline_code():
    from localstack.services.lambda_.resource_providers import aws_lambda_function
    from localstack.utils.patch import patch

    @patch(aws_lambda_function._get_lambda_code_param)
    def _get_lambda_code_param(fn, properties, *args, **kwargs):
        code = properties.get("Code") or {}
        source = code.get("ZipFile")
        runtime = properties.get("Runtime") or ""
        if isinstance(source, str) and (runtime.startswith("nodejs") or runtime.startswith("python")):
            # A zip is taken as it is by LocalStack's own packing.
            properties = {**properties, "Code": {**code, "ZipFile": inline_package(runtime, source)}}
        return fn(properties, *args, **kwargs)
