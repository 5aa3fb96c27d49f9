//! End to end: `templates/eni-trunking.yaml` deployed into LocalStack with the freshly built
//! `bootstrap`, and what it did to ECS account settings, its stack events and its logs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
use enitrunk_e2e::localstack::repo_root;
use enitrunk_e2e::stack::{self, Settled};
use enitrunk_e2e::{Harness, harness};

/// The binary Cargo built for this package from `custom-resource-lambda/src/main.rs`.
const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_e2e-bootstrap");
/// What ECS reports for `awsvpcTrunking` when neither the principal nor the account set it
/// (the extension's AWS default, as on AWS).
const AWS_DEFAULT: &str = "disabled";

fn template() -> String {
    let path = repo_root().join("templates/eni-trunking.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); it is rendered by the deployer (`enitrunk render`)",
            path.display()
        )
    })
}

/// The account of an ARN (`arn:aws:iam::<account>:role/x`).
fn account_of(arn: &str) -> &str {
    arn.split(':')
        .nth(4)
        .unwrap_or_else(|| panic!("not an ARN: {arn}"))
}

async fn create(h: &Harness, test: &str, template: &str, extra: &[(&str, &str)]) -> Settled {
    let name = stack::unique_name(test);
    let id = stack::create(&h.aws.cfn, &name, template, &h.parameters(extra)).await;
    stack::expect(&h.aws.cfn, &id, StackStatus::CreateComplete).await
}

async fn destroy(h: &Harness, stack_id: &str) -> Settled {
    stack::delete(&h.aws.cfn, stack_id).await;
    stack::expect(&h.aws.cfn, stack_id, StackStatus::DeleteComplete).await
}

#[test]
fn create_turns_trunking_on_for_the_instance_role_then_update_and_delete_with_reset_remove_it() {
    let h = harness(BOOTSTRAP);
    h.block_on(async {
        let template = template();
        let created = create(h, "lifecycle", &template, &[]).await;
        let role = created.output("InstanceRoleArn").to_owned();
        assert!(
            role.contains(":role/"),
            "InstanceRoleArn is not a role ARN: {role}"
        );
        assert!(
            role.ends_with(&format!(":role/{}", created.output("InstanceRoleName"))),
            "InstanceRoleArn {role} does not end with InstanceRoleName"
        );
        assert!(
            created.output("InstanceProfileArn").ends_with(&format!(
                ":instance-profile/{}",
                created.output("InstanceProfileName")
            )),
            "InstanceProfileArn does not end with InstanceProfileName: {:?}",
            created.outputs
        );
        assert_eq!(created.output("TrunkingSetting"), "enabled");
        assert_eq!(created.output("TrunkingPrincipalArn"), role);
        assert_eq!(
            h.effective_trunking(&role).await,
            "enabled",
            "effective awsvpcTrunking of the instance role"
        );
        assert_eq!(
            h.own_trunking(&role).await.as_deref(),
            Some("enabled"),
            "the instance role's own setting (set by the function as that role)"
        );
        // A role of the same account that no stack touched keeps the default: the function
        // changed the role's own setting, not the account default.
        let other = format!(
            "arn:aws:iam::{}:role/not-trunked-{}",
            account_of(&role),
            stack::unique_name("other")
        );
        assert_eq!(
            h.effective_trunking(&other).await,
            AWS_DEFAULT,
            "effective awsvpcTrunking of a role no stack touched"
        );

        // Default OnDelete is Retain; switch to Reset, so that the delete removes the setting.
        stack::update(
            &h.aws.cfn,
            &created.stack_id,
            &template,
            &h.parameters(&[("OnDelete", "Reset")]),
        )
        .await;
        let updated =
            stack::expect(&h.aws.cfn, &created.stack_id, StackStatus::UpdateComplete).await;
        assert_eq!(
            updated.output("InstanceRoleArn"),
            role,
            "same role after the update"
        );
        assert_eq!(updated.output("TrunkingSetting"), "enabled");
        assert_eq!(h.effective_trunking(&role).await, "enabled");

        destroy(h, &created.stack_id).await;
        assert_eq!(
            h.own_trunking(&role).await,
            None,
            "OnDelete=Reset: the role's own setting must be gone after the stack delete"
        );
        assert_eq!(h.effective_trunking(&role).await, AWS_DEFAULT);
    });
}

#[test]
fn replacing_the_instance_role_moves_the_setting_to_the_new_role() {
    let h = harness(BOOTSTRAP);
    h.block_on(async {
        let template = template();
        // Role names are at most 64 characters.
        let base = stack::unique_name("role");
        let (name_a, name_b) = (format!("{base}-a"), format!("{base}-b"));
        let created = create(
            h,
            "replace",
            &template,
            &[("InstanceRoleName", &name_a), ("OnDelete", "Reset")],
        )
        .await;
        let role_a = created.output("InstanceRoleArn").to_owned();
        assert!(
            role_a.ends_with(&format!(":role/{name_a}")),
            "InstanceRoleArn {role_a} is not the role named {name_a}"
        );
        assert_eq!(h.effective_trunking(&role_a).await, "enabled");

        stack::update(
            &h.aws.cfn,
            &created.stack_id,
            &template,
            &h.parameters(&[("InstanceRoleName", &name_b), ("OnDelete", "Reset")]),
        )
        .await;
        let updated =
            stack::expect(&h.aws.cfn, &created.stack_id, StackStatus::UpdateComplete).await;
        let role_b = updated.output("InstanceRoleArn").to_owned();
        assert!(
            role_b.ends_with(&format!(":role/{name_b}")),
            "after the update InstanceRoleArn {role_b} is not the role named {name_b}"
        );
        assert_eq!(updated.output("TrunkingPrincipalArn"), role_b);
        assert_eq!(updated.output("TrunkingSetting"), "enabled");
        assert_eq!(h.effective_trunking(&role_b).await, "enabled", "new role b");
        assert_eq!(h.own_trunking(&role_b).await.as_deref(), Some("enabled"));
        // The replacement's Delete of the old physical id (OnDelete=Reset) acted on role a.
        assert_eq!(
            h.own_trunking(&role_a).await,
            None,
            "old role a still has its own setting after the replacement\n{}",
            stack::format_events(&stack::events(&h.aws.cfn, &created.stack_id).await)
        );
        assert_eq!(h.effective_trunking(&role_a).await, AWS_DEFAULT);

        destroy(h, &created.stack_id).await;
        assert_eq!(h.own_trunking(&role_b).await, None);
    });
}

#[test]
fn an_invalid_setting_name_fails_the_stack_fast_with_the_functions_reason() {
    let h = harness(BOOTSTRAP);
    h.block_on(async {
        const BAD: &str = "notARealSetting";
        let good = template();
        let bad = good.replace(
            "SettingName: awsvpcTrunking",
            &format!("SettingName: {BAD}"),
        );
        assert_ne!(
            bad, good,
            "the template has no `SettingName: awsvpcTrunking` to replace"
        );
        let name = stack::unique_name("invalid-setting");
        let started = Instant::now();
        let id = stack::create(&h.aws.cfn, &name, &bad, &h.parameters(&[])).await;
        let settled = stack::wait(&h.aws.cfn, &id, stack::DEFAULT_TIMEOUT).await;
        let elapsed = started.elapsed();
        let events = stack::events(&h.aws.cfn, &id).await;
        let dump = stack::format_events(&events);

        // ServiceTimeout is 300 s: ending within 60 s means the function answered FAILED
        // rather than CloudFormation giving up on it.
        assert!(
            elapsed < Duration::from_secs(60),
            "the failed create took {elapsed:?}\n{dump}"
        );
        // A failed create rolls back: what was created is deleted, the custom resource's
        // included (it gets the Delete for the id its FAILED answer carried).
        assert_eq!(
            settled.status,
            StackStatus::RollbackComplete,
            "terminal status of the failed create\n{dump}"
        );
        let rollback_delete = events.iter().any(|e| {
            e.logical_resource_id() == Some("EniTrunking")
                && e.resource_status() == Some(&ResourceStatus::DeleteComplete)
                && e.physical_resource_id()
                    .is_some_and(|id| id.starts_with("enitrunk|CreateFailed|"))
        });
        assert!(
            rollback_delete,
            "no rollback Delete of EniTrunking's CreateFailed id\n{dump}"
        );
        let failed: Vec<_> = events
            .iter()
            .filter(|e| {
                e.logical_resource_id() == Some("EniTrunking")
                    && e.resource_status() == Some(&ResourceStatus::CreateFailed)
            })
            .collect();
        assert_eq!(
            failed.len(),
            1,
            "expected one CREATE_FAILED event on EniTrunking\n{dump}"
        );
        // IAM decides before ECS reads the name: the instance role may change awsvpcTrunking
        // only (condition key ecs:account-setting), so the refusal is IAM's, and the function's
        // reason names the setting and the permission.
        let reason = failed[0].resource_status_reason().unwrap_or_default();
        assert!(
            reason.contains(&format!("ecs:PutAccountSetting of {BAD}"))
                && reason.contains("ecs:account-setting"),
            "the failure reason does not name the setting {BAD} and its permission: {reason}"
        );
        assert!(
            !dump.contains("X-Amz-Signature"),
            "a pre-signed URL leaked into the stack events\n{dump}"
        );

        // A rolled-back stack can only be deleted.
        destroy(h, &id).await;
    });
}

/// The environment of the running `bootstrap` of `function` (the host executor keeps it
/// alive between invocations): the credentials LocalStack gave the function, to look for.
fn function_environment(function: &str) -> HashMap<String, String> {
    let wanted = format!("AWS_LAMBDA_FUNCTION_NAME={function}");
    let procs = std::fs::read_dir("/proc").expect("read /proc");
    for entry in procs.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let vars: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
        if !vars.contains(&wanted.as_bytes()) {
            continue;
        }
        return vars
            .iter()
            .filter_map(|v| {
                let v = String::from_utf8_lossy(v);
                let (k, val) = v.split_once('=')?;
                Some((k.to_owned(), val.to_owned()))
            })
            .collect();
    }
    panic!(
        "no process with {wanted} in its environment: the host executor (LAMBDA_RUNTIME_EXECUTOR=\
         enitrunk-host) keeps the function's bootstrap running after an invocation"
    );
}

#[test]
fn the_function_logs_to_its_log_group_without_secrets() {
    let h = harness(BOOTSTRAP);
    h.block_on(async {
        let created = create(h, "logs", &template(), &[]).await;
        let function = created.output("TrunkingFunctionName").to_owned();
        // The template's LoggingConfig.LogGroup, where Lambda sends the logs (LocalStack itself
        // writes to /aws/lambda/<name>; the extension's lambda_logging hook follows the config).
        let group = created.output("TrunkingLogGroupName").to_owned();
        let messages = h.log_messages(&group, Duration::from_secs(30)).await;
        assert!(
            !messages.is_empty(),
            "no log events in {group} (the function's LoggingConfig.LogGroup) 30 s after the \
             create"
        );
        let all = messages.join("\n");
        // The function's own JSON log lines name the request's logical id.
        assert!(
            all.contains("EniTrunking"),
            "no log event of {group} names the request (EniTrunking):\n{all}"
        );

        let env = function_environment(&function);
        let mut secrets = Vec::new();
        for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
            let value = env
                .get(var)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| panic!("the function's environment has no {var}"));
            secrets.push((var, value.as_str()));
        }
        for message in &messages {
            for (var, value) in &secrets {
                // The message is not printed: it holds the secret.
                assert!(
                    !message.contains(value),
                    "a log event in {group} contains the function's {var}"
                );
            }
            // Parts of a pre-signed ResponseURL: its signature and credential query parameters
            // and the bucket CloudFormation (here LocalStack) has functions answer into.
            for needle in [
                "X-Amz-Signature",
                "X-Amz-Credential",
                "X-Amz-Security-Token",
                "cloudformation-custom-resource-response",
            ] {
                assert!(
                    !message.contains(needle),
                    "a log event in {group} contains {needle} (event not printed: it may hold \
                     a pre-signed URL)"
                );
            }
        }

        destroy(h, &created.stack_id).await;
    });
}
