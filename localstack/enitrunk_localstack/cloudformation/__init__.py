"""CloudFormation: custom resources, resource providers, engine patches."""
