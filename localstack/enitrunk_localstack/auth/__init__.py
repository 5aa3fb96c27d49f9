"""Authentication and authorization as AWS does them, for the calls enitrunk makes.

- `policy`: IAM policy evaluation (Allow/Deny, wildcards, conditions, principals), pure logic.
- `identity`: the caller behind a request's access key (documented root keys, IAM users' keys,
  STS sessions' keys) and its identity-based policies.
- `authorize`: an action allowed or refused by the caller's identity-based policies, with AWS's
  message.
- `assume_role`: who may `sts:AssumeRole` a role (trust policy, identity policies, root).
- `gateway`: the LocalStack request handler that refuses unknown credentials and checks
  `sts:AssumeRole`, installed at LocalStack start.
"""
