"""CloudFormation StackSets as the API reference describes them (self-managed permissions).

- `api`: the StackSets operations, put on LocalStack's CloudFormation provider at start; stack
  sets, their instances and operations, each operation on a background thread.
- `plan`: the order, concurrency and failure tolerance of an operation's accounts and Regions
  (no LocalStack imports; unit tested directly).
- `deploy`: one instance's stack in its account and Region, as that account's execution role
  assumed through the administration role (self-managed), or as the member account
  (service-managed).
- `organizations`: Organizations served from moto's backend, and what StackSets reads from it
  (accounts under OUs, trusted access, delegated administrators); `MoveAccount` triggers
  auto-deployment.
"""
