"""CloudFormation support LocalStack community lacks (`localstack.cloudformation.resource_providers`).

- `custom_resource`: `Custom::*` resources backed by Lambda, speaking CloudFormation's
  custom-resource protocol.
- `engine_patches`: fixes to LocalStack's engine: the Delete of a custom resource's old physical
  id after a replacement, and the delete of a stack whose create failed part way.
- `response_bucket`: the response bucket's pre-signed URLs validated as S3 validates them.
- `inline_code`: `AWS::Lambda::Function` `Code.ZipFile` packed as CloudFormation packs it
  (`index.js`/`index.py`, with the `cfn-response`/`cfnresponse` module of `cfn_response/`).
- `rollback`: a failed create or update rolls back as in CloudFormation (custom resources get
  their Delete, or their Update back), and what a stack allows after.
- `ecs`: `AWS::ECS::{Cluster,TaskDefinition,Service,CapacityProvider,ClusterCapacityProviderAssociations}`.
- `ec2`: `AWS::EC2::LaunchTemplate`, `AWS::EC2::EIP`.
- `autoscaling`: `AWS::AutoScaling::AutoScalingGroup`.
- `stackset`: `AWS::CloudFormation::StackSet`, on the extension's StackSets (`stacksets.api`).
- `common`: what the providers share (property case, generated names, integer properties, deletes
  of what is already gone, the plugin class).
"""
