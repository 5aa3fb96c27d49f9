//! enitrunk: render, validate and deploy Amazon ECS clusters with ENI trunking turned on.
//!
//! Data flows one way: the config file becomes a validated [`config::Spec`]; the spec becomes a
//! typed template model ([`template`], built by [`render`]) and YAML; `deploy` packages the
//! custom resource's function ([`package`]), turns the template into a change set and follows
//! the stack's events ([`stack`]), then reads the setting back ([`verify`]). [`cli`] parses the
//! arguments and calls one module of [`commands`]; the commands call the library modules and
//! nothing below imports a command.
//!
//! | layer | module | owns |
//! |---|---|---|
//! | edge | `cli` | arguments, dispatch, text or JSON output |
//! | commands | `commands::{init, plan, render, validate, deploy, status, roll, destroy, inspect, enable, org}` | one command each: its arguments, steps and report (`enable` deploys through `deploy` and undoes through `destroy`) |
//! | config | `config` (`raw`, `validator`, `spec`, `diagnostic`) | `enitrunk.yaml` to a [`config::Spec`], errors with file:line:column |
//! | facts | `instance_types` | the EC2 instance-type table: ENI limits, trunking support, schedulable memory |
//! | workload | `plan` | tasks per instance with and without trunking |
//! | templates | `template` (one module per resource kind), `render` (`trunking`, `network`, `cluster`) | the typed template model and the four templates built from a spec |
//! | checks | `validate`, `lambda_binary` | offline checks of the rendered templates; whether a built `bootstrap` starts on `provided.al2023` |
//! | AWS | `aws` | clients from one `SdkConfig`, the [`aws::Session`], account preconditions, error predicates |
//! | AWS | `package` | the function's reproducible zip and the artifact bucket |
//! | AWS | `stack` | stack states and what deploy does with each, change sets, running and following an operation |
//! | AWS | `verify` | the effective setting for the instance role, read as the role (or with the caller's credentials, for roles outside enitrunk) |
//! | AWS | `trust` | the statement `enable` adds to an existing role's trust policy, and putting the document back as it was |
//! | AWS | `cluster` | any ECS cluster: that it exists, its capacity providers and their groups |
//! | AWS | `container_instances`, `ecs_services`, `proof` | container instances and their trunks (or why not), services and their pending tasks, waiting for the group's instances to register |
//! | AWS | `refresh` | Auto Scaling instance refresh: start, follow |
//! | AWS | `stackset` | StackSets for `org`: a stack set and its instances, the preview per account × region, operations started and followed, the table |
//! | local | `localstack`, `workspace` | `--local`: LocalStack through `localstack/run`; the source tree |
//! | terminal | `progress`, `prompt` | progress lines for long waits; yes/no questions |
//! | errors | `error`, `event` | the CLI's errors; stack events and the root cause of a failure |

pub mod aws;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod container_instances;
pub mod ecs_services;
pub mod error;
pub mod event;
pub mod instance_types;
pub mod lambda_binary;
pub mod localstack;
pub mod package;
pub mod plan;
pub mod progress;
pub mod prompt;
pub mod proof;
pub mod refresh;
pub mod render;
pub mod stack;
pub mod stackset;
pub mod template;
pub mod trust;
pub mod validate;
pub mod verify;
pub mod workspace;

pub use error::Error;

/// `error: ...` with each cause on its own line, as the CLI prints it.
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("error: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    s
}
