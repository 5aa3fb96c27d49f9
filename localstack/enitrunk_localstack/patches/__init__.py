"""Fixes to moto 5.1.54 bugs on enitrunk's path, applied when LocalStack starts
(`localstack.hooks.on_infra_start`).

- `moto_ec2`: `CreateLaunchTemplateVersion` keeps `UserData` as a validated base64 string.
- `moto_ssm`: the public `/aws/service/ecs/optimized-ami/.../recommended` parameters' documents
  are served as strings.
- `moto_autoscaling`: `HealthCheckGracePeriod` defaults to 0; each instance reports the launch
  template version it was launched from.
"""
