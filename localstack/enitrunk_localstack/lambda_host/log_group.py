"""Lambda logs delivered to the function's `LoggingConfig.LogGroup`, as Lambda does.

LocalStack 4.13.1 community stores `LoggingConfig` but always writes to `/aws/lambda/<name>`
(`ExecutionEnvironment.get_log_group_name`; the provider warns "Advanced Lambda Logging
Configuration is currently mocked"). Lambda sends a function's logs to the group named in
`LoggingConfig.LogGroup`, default `/aws/lambda/<name>`
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html), and tells
the runtime through `AWS_LAMBDA_LOG_GROUP_NAME`. This hook (in `localstack.hooks.on_infra_start`)
makes both follow the configured group.
"""

from __future__ import annotations

from localstack.runtime import hooks


def log_group_name(function_name: str, logging_config: dict | None) -> str:
    return (logging_config or {}).get("LogGroup") or f"/aws/lambda/{function_name}"


@hooks.on_infra_start()
def patch_lambda_log_group():
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment
    from localstack.utils.patch import patch

    @patch(ExecutionEnvironment.get_log_group_name)
    def get_log_group_name(_fn, self) -> str:
        config = self.function_version.config
        return log_group_name(self.function_version.id.function_name, config.logging_config)
