"""The `enitrunk-host` Lambda executor (`LAMBDA_RUNTIME_EXECUTOR=enitrunk-host`): Lambda without Docker.

- `executor`: the runtime executor plugin; runs a `provided.*` function's real `bootstrap`, or a
  Node.js or Python function's runtime, as a host process, enforces the timeout, collects the logs.
- `runtimes`: the Node.js and Python runtimes: their interpreters, handler loops and environment.
- `nodejs/runtime.js`: the Node.js runtimes' handler loop.
- `runtime_api`: the Lambda Runtime API server of one execution environment (no LocalStack
  imports; tests drive it directly).
- `report`: the REPORT line ending each invocation's log: duration, memory size, peak memory and
  init duration, as Lambda writes them.
- `log_group`: a function's logs go to its `LoggingConfig.LogGroup`, as on Lambda.
- `deletion`: a deleted function's running invocations finish and their logs are written.
"""
