"""Authentication and authorization as AWS does them, for the calls enitrunk makes.

- `policy`: IAM policy evaluation (Allow/Deny, wildcards, conditions, principals), pure logic.
"""
