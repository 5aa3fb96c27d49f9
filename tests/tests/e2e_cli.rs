//! End to end through the CLI: `enitrunk deploy --local` of the full demo cluster into
//! LocalStack, again with no changes, with a config change, `status`, `destroy`; a deploy that
//! fails, its root cause, and the next deploy recovering; a bad config deploying nothing; an IAM
//! user deploying and reading the setting as the role, with drift; an instance role that does not
//! trust the function; a cluster made without enitrunk, inspected and rolled; `enitrunk org`
//! through StackSets, self-managed (an account without its execution role within the tolerance)
//! and service-managed (accounts joining and leaving an OU, a delegated administrator), the
//! artifact buckets shared by stack sets, and `templates/org-stackset.yaml` deployed with plain
//! CloudFormation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
use enitrunk_e2e::stack;
use enitrunk_e2e::{Harness, harness};
use serde_json::Value;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_e2e-bootstrap");
/// `deployer/src/main.rs` built for this package, so the tests run the current CLI.
const ENITRUNK: &str = env!("CARGO_BIN_EXE_e2e-enitrunk");

/// A directory of its own for each test: the CLI reads `./enitrunk.yaml` when there is one.
fn workdir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn enitrunk(dir: &Path, args: &[&str]) -> Output {
    Command::new(ENITRUNK)
        .args(args)
        .current_dir(dir)
        .env_remove("ENITRUNK_CONFIG")
        .output()
        .expect("run enitrunk")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `deploy --local --yes` of `stack` with the test-built function.
fn deploy_raw(dir: &Path, stack: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "deploy",
        "--local",
        "--yes",
        "--bootstrap",
        BOOTSTRAP,
        "--stack-name",
        stack,
    ];
    args.extend_from_slice(extra);
    enitrunk(dir, &args)
}

/// [`deploy_raw`] as JSON; panics with the whole output unless it exits 0.
fn deploy(dir: &Path, stack: &str, extra: &[&str]) -> (Value, String) {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--output", "json"]);
    let out = deploy_raw(dir, stack, &args);
    assert!(
        out.status.success(),
        "deploy {stack} failed: {}",
        show(&out)
    );
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("deploy output is not JSON ({e}): {}", show(&out)));
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn config_with_desired_count(dir: &Path, count: u32) -> PathBuf {
    let text =
        enitrunk::config::STARTER.replace("desired_count: 4", &format!("desired_count: {count}"));
    assert_ne!(
        text,
        enitrunk::config::STARTER,
        "the starter config's service count moved"
    );
    let path = dir.join(format!("desired-{count}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

async fn service_desired_count(h: &Harness, cluster: &str, service: &str) -> i32 {
    let resp = h
        .aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap();
    resp.services()[0].desired_count()
}

#[test]
fn demo_cluster_deploys_then_redeploys_updates_reports_and_is_destroyed() {
    let h = harness(BOOTSTRAP);
    let dir = workdir("lifecycle");
    let name = stack::unique_name("cli");

    let (report, progress) = deploy(&dir, &name, &[]);
    assert_eq!(report["result"], "created", "{report:#}");
    assert_eq!(report["status"], "CREATE_COMPLETE");
    let outputs = &report["outputs"];
    let role = outputs["InstanceRoleArn"].as_str().unwrap().to_owned();
    assert_eq!(report["trunking"]["principal_arn"], role.as_str());
    assert_eq!(report["trunking"]["value"], "enabled");
    assert!(
        progress.contains("+ EniTrunking"),
        "the change set is shown: {progress}"
    );
    assert!(
        progress.contains("CREATE_COMPLETE       AutoScalingGroup"),
        "events are streamed: {progress}"
    );
    let cluster = outputs["ClusterName"].as_str().unwrap().to_owned();
    let stack_id = report["stack_id"].as_str().unwrap().to_owned();

    h.block_on(async {
        // What the CLI reported, checked against the services themselves.
        assert_eq!(h.effective_trunking(&role).await, "enabled");

        let clusters = h
            .aws
            .ecs
            .describe_clusters()
            .clusters(&cluster)
            .send()
            .await
            .unwrap();
        assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));

        let provider = outputs["CapacityProviderName"].as_str().unwrap();
        let providers = h
            .aws
            .ecs
            .describe_capacity_providers()
            .capacity_providers(provider)
            .send()
            .await
            .unwrap();
        let asg = providers.capacity_providers()[0]
            .auto_scaling_group_provider()
            .unwrap();
        assert!(
            asg.auto_scaling_group_arn()
                .contains(outputs["AutoScalingGroupName"].as_str().unwrap()),
            "capacity provider {provider} is on another group: {asg:?}"
        );

        let td = h
            .aws
            .ecs
            .describe_task_definition()
            .task_definition(outputs["WebTaskDefinition"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let td = td.task_definition().unwrap();
        assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
        assert_eq!(
            td.requires_compatibilities()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            ["EC2"]
        );
        assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));

        let service = outputs["WebServiceName"].as_str().unwrap();
        assert_eq!(service_desired_count(h, &cluster, service).await, 4);

        // Instances launched before the setting is on never get a trunk: the group waits for it.
        let events = stack::events(&h.aws.cfn, &stack_id).await;
        let position = |logical: &str, status: ResourceStatus| {
            events
                .iter()
                .position(|e| {
                    e.logical_resource_id() == Some(logical) && e.resource_status() == Some(&status)
                })
                .unwrap_or_else(|| {
                    panic!("no {logical} {status:?}; {}", stack::format_events(&events))
                })
        };
        assert!(
            position("EniTrunking", ResourceStatus::CreateComplete)
                < position("AutoScalingGroup", ResourceStatus::CreateInProgress),
            "the Auto Scaling group started before the custom resource completed; {}",
            stack::format_events(&events)
        );
    });

    let (again, progress) = deploy(&dir, &name, &[]);
    assert_eq!(again["result"], "unchanged", "{again:#}");
    assert!(progress.contains("no changes"), "{progress}");

    let config = config_with_desired_count(&dir, 2);
    let (updated, progress) = deploy(&dir, &name, &["--config", config.to_str().unwrap()]);
    assert_eq!(updated["result"], "updated", "{updated:#}");
    assert_eq!(updated["status"], "UPDATE_COMPLETE");
    assert!(progress.contains("> WebService"), "{progress}");
    let service = outputs["WebServiceName"].as_str().unwrap();
    assert_eq!(h.block_on(service_desired_count(h, &cluster, service)), 2);

    let status = enitrunk(&dir, &["--local", "status", "--stack-name", &name]);
    assert!(status.status.success(), "{}", show(&status));
    insta::with_settings!({filters => vec![
        (name.as_str(), "[stack]"),
        (r"InstanceRole-[0-9a-f]+", "InstanceRole-[id]"),
        (r"WebService-[0-9A-Z]+", "WebService-[id]"),
        (r"\bi-[0-9a-f]{17}\b", "i-[id]"),
        (r"\beni-[0-9a-f]{17}\b", "eni-[id]"),
    ]}, {
        insta::assert_snapshot!(String::from_utf8_lossy(&status.stdout));
    });

    let out = enitrunk(
        &dir,
        &["--local", "destroy", "--yes", "--stack-name", &name],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("stack {name}: deleted\n")
    );
    h.block_on(async {
        let gone = h
            .aws
            .cfn
            .describe_stacks()
            .stack_name(&stack_id)
            .send()
            .await
            .unwrap();
        assert_eq!(
            gone.stacks()[0].stack_status().map(|s| s.as_str()),
            Some("DELETE_COMPLETE")
        );
        let clusters = h
            .aws
            .ecs
            .describe_clusters()
            .clusters(&cluster)
            .send()
            .await
            .unwrap();
        assert!(
            clusters
                .clusters()
                .iter()
                .all(|c| c.status() == Some("INACTIVE")),
            "cluster {cluster} outlived its stack: {clusters:?}"
        );
    });
    let out = enitrunk(
        &dir,
        &["--local", "destroy", "--yes", "--stack-name", &name],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("stack {name}: does not exist, nothing to delete\n")
    );
}

#[test]
fn a_failed_deploy_prints_its_root_cause_and_the_next_deploy_recovers() {
    harness(BOOTSTRAP);
    let dir = workdir("failure");
    let name = stack::unique_name("cli-fail");
    // Passes validation, fails in CloudFormation: the VPC does not exist.
    let broken = enitrunk::config::STARTER.replace(
        "# network:\n#   vpc_id: vpc-0123456789abcdef0\n#   subnet_ids: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]",
        "network:\n  vpc_id: vpc-0123456789abcdef0\n  subnet_ids: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]",
    );
    assert_ne!(
        broken,
        enitrunk::config::STARTER,
        "the starter config's network example moved"
    );
    std::fs::write(dir.join("enitrunk.yaml"), broken).unwrap();

    let out = deploy_raw(&dir, &name, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cause = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("root cause:"))
        .unwrap_or_else(|| panic!("no root cause printed: {}", show(&out)));
    // AWS fails the security groups on the VPC; LocalStack (moto) only the group on a subnet.
    assert!(
        cause.contains("CREATE_FAILED")
            && (cause.contains("vpc-0123456789abcdef0") || cause.contains("subnet-0")),
        "{cause}"
    );
    assert_eq!(
        stderr.matches("root cause:").count(),
        1,
        "one root cause, not the cascade: {stderr}"
    );

    // A failed create ends ROLLBACK_COMPLETE: the stack can only be deleted, and deploy does
    // that itself.
    std::fs::remove_file(dir.join("enitrunk.yaml")).unwrap();
    recreated_by_the_next_deploy(&dir, &name);
}

/// The next deploy of a stack whose create rolled back deletes it and creates it again, with
/// the setting on; then the stack is destroyed.
fn recreated_by_the_next_deploy(dir: &Path, name: &str) {
    let (report, progress) = deploy(dir, name, &["--template", "eni-trunking"]);
    assert!(
        progress.contains(
            "is ROLLBACK_COMPLETE from a failed create: deleting it, then creating it again"
        ),
        "{progress}"
    );
    assert_eq!(report["result"], "recreated", "{report:#}");
    assert_eq!(report["trunking"]["value"], "enabled");
    let out = enitrunk(dir, &["--local", "destroy", "--yes", "--stack-name", name]);
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn an_invalid_config_deploys_nothing() {
    let h = harness(BOOTSTRAP);
    let dir = workdir("invalid");
    let name = stack::unique_name("cli-invalid");
    std::fs::write(
        dir.join("enitrunk.yaml"),
        "cluster:\n  instance_types: [t3.large]\n",
    )
    .unwrap();
    let out = deploy_raw(&dir, &name, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("enitrunk.yaml:2:20: instance type `t3.large` cannot use ENI trunking"),
        "{}",
        show(&out)
    );
    let described = h.block_on(h.aws.cfn.describe_stacks().stack_name(&name).send());
    assert!(
        described.is_err(),
        "a stack was created from an invalid config: {described:?}"
    );
}

/// An IAM user with an administrator's policy, and its access key: a platform engineer, who
/// is not the account's root user.
async fn admin_user(h: &Harness, name: &str) -> (String, String) {
    let iam = &h.aws.iam;
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("admin")
        .policy_document(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    (
        key.access_key_id().to_owned(),
        key.secret_access_key().to_owned(),
    )
}

/// `enitrunk ARGS` against LocalStack's endpoint as the user with `key`: the SDK's usual
/// credential chain, nothing of `--local`'s.
fn enitrunk_as(dir: &Path, (id, secret): &(String, String), args: &[&str]) -> Output {
    let endpoint = enitrunk_e2e::localstack::endpoint();
    let mut all = vec!["--endpoint-url", endpoint.as_str(), "--region", "us-east-1"];
    all.extend_from_slice(args);
    Command::new(ENITRUNK)
        .args(&all)
        .current_dir(dir)
        .env_remove("ENITRUNK_CONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .expect("run enitrunk")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", show(out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("output is not JSON ({e}): {}", show(out)))
}

/// Under the strict reading of the ECS API (only the root user or the principal itself may name
/// a `principalArn`), a platform engineer cannot read the instance role's setting: deploy and
/// status read it through the function, as the role.
#[test]
fn an_iam_user_deploys_reads_the_setting_as_the_role_and_sees_drift() {
    let h = harness(BOOTSTRAP);
    let dir = workdir("iam-user");
    let name = stack::unique_name("cli-user");
    let key = h.block_on(admin_user(h, &name));

    let deploy = [
        "deploy",
        "--yes",
        "--template",
        "eni-trunking",
        "--bootstrap",
        BOOTSTRAP,
        "--stack-name",
        &name,
        "--output",
        "json",
    ];
    let report = json_of(&enitrunk_as(&dir, &key, &deploy));
    assert_eq!(report["result"], "created", "{report:#}");
    let role = report["outputs"]["InstanceRoleArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(report["trunking"]["principal_arn"], role.as_str());
    assert_eq!(report["trunking"]["value"], "enabled");
    assert_eq!(report["trunking"]["drift"], false);

    let status = ["status", "--stack-name", &name, "--output", "json"];
    let report = json_of(&enitrunk_as(&dir, &key, &status));
    assert_eq!(report["trunking"]["value"], "enabled", "{report:#}");
    assert_eq!(report["trunking"]["drift"], false, "{report:#}");
    assert_eq!(report["trunking_error"], Value::Null, "{report:#}");

    // Changed outside the stack: the root user may name the role.
    h.block_on(async {
        h.aws
            .ecs
            .put_account_setting()
            .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
            .value("disabled")
            .principal_arn(&role)
            .send()
            .await
            .unwrap();
    });
    let report = json_of(&enitrunk_as(&dir, &key, &status));
    assert_eq!(report["trunking"]["value"], "disabled", "{report:#}");
    assert_eq!(report["trunking"]["stack_value"], "enabled", "{report:#}");
    assert_eq!(report["trunking"]["drift"], true, "{report:#}");
    let text = enitrunk_as(&dir, &key, &["status", "--stack-name", &name]);
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("drift: the stack left it `enabled`, it is `disabled` now"),
        "{}",
        show(&text)
    );

    let out = enitrunk_as(&dir, &key, &["destroy", "--yes", "--stack-name", &name]);
    assert!(out.status.success(), "{}", show(&out));
}

/// DESIGN §2.5: an instance role that does not trust the function's role. STS refuses the
/// function (as AWS does), the function retries while IAM could still be propagating, then fails
/// the resource with a reason that names the role and its trust policy, well before the
/// custom resource's ServiceTimeout (300 s); CloudFormation rolls the create back, and the next
/// `enitrunk deploy` deletes what is left and creates the stack again.
#[test]
fn an_instance_role_that_does_not_trust_the_function_fails_rolls_back_and_deploy_recovers() {
    let h = harness(BOOTSTRAP);
    let dir = workdir("untrusted");
    let name = stack::unique_name("cli-untrusted");
    let path = enitrunk_e2e::localstack::repo_root().join("templates/eni-trunking.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let trusts_function = "            AWS:\n            - !GetAtt TrunkingFunctionRole.Arn\n";
    assert!(
        template.contains(trusts_function),
        "the instance role's trust policy moved in the template"
    );
    // Another principal in its place: the statement stays valid, and trusts no one who can act.
    let untrusted = template.replace(
        trusts_function,
        "            Service:\n            - ecs-tasks.amazonaws.com\n",
    );

    let settled = h.block_on(async {
        let id = stack::create(&h.aws.cfn, &name, &untrusted, &h.parameters(&[])).await;
        stack::wait(&h.aws.cfn, &id, Duration::from_secs(200)).await
    });
    let events = h.block_on(stack::events(&h.aws.cfn, &settled.stack_id));
    let dump = stack::format_events(&events);
    assert_eq!(settled.status, StackStatus::RollbackComplete, "{dump}");
    // The function's budget for AssumeRole is about 60 s; ServiceTimeout would be 300 s.
    assert!(
        settled.elapsed >= Duration::from_secs(45) && settled.elapsed < Duration::from_secs(120),
        "took {:?}\n{dump}",
        settled.elapsed
    );
    let failed = events
        .iter()
        .find(|e| {
            e.logical_resource_id() == Some("EniTrunking")
                && e.resource_status() == Some(&ResourceStatus::CreateFailed)
        })
        .unwrap_or_else(|| panic!("no CREATE_FAILED on EniTrunking\n{dump}"));
    let reason = failed.resource_status_reason().unwrap_or_default();
    assert!(
        reason.contains("cannot assume role arn:aws:iam::000000000000:role/")
            && reason.contains("trust policy"),
        "{reason}"
    );

    recreated_by_the_next_deploy(&dir, &name);
}

/// Scope `AccountDefault` under the strict rules: the function changes the default as its own
/// role and reads it back as itself (never naming the account root), deploy and status read it
/// through the function, and `OnDelete: Reset` restores the default found at create. In a region
/// of its own: account settings are per region, and the other tests expect the default off.
#[test]
fn the_account_default_is_set_read_as_the_function_and_restored_on_delete() {
    const REGION: &str = "us-west-2";
    let h = harness(BOOTSTRAP);
    let dir = workdir("account-default");
    let name = stack::unique_name("cli-default");
    let config =
        enitrunk_e2e::localstack::repo_root().join("deployer/tests/configs/account-default.yaml");
    let config = config.to_str().unwrap();
    let default_now = || account_default(h, REGION);
    let before = default_now();

    let extra = [
        "--config",
        config,
        "--template",
        "eni-trunking",
        "--region",
        REGION,
    ];
    let (report, _) = deploy(&dir, &name, &extra);
    assert_eq!(report["result"], "created", "{report:#}");
    assert_eq!(
        report["trunking"]["principal_arn"], "arn:aws:iam::000000000000:root",
        "{report:#}"
    );
    assert_eq!(report["trunking"]["value"], "enabled");
    assert_eq!(default_now(), "enabled");

    let out = enitrunk(
        &dir,
        &[
            "--local",
            "--region",
            REGION,
            "--config",
            config,
            "status",
            "--stack-name",
            &name,
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "awsvpcTrunking account default (arn:aws:iam::000000000000:root): enabled (read by the stack's function)"
        ),
        "{}",
        show(&out)
    );

    let out = enitrunk(
        &dir,
        &[
            "--local",
            "--region",
            REGION,
            "destroy",
            "--yes",
            "--stack-name",
            &name,
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        default_now(),
        before,
        "OnDelete: Reset restores the default"
    );
}

/// The stack's web service, as `status --output json` reports it.
/// The account default in `region`, as the root user reads it for a role without a setting of
/// its own (the root user may name any principal).
fn account_default(h: &Harness, region: &str) -> String {
    let ecs = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&h.aws.sdk)
            .region(aws_sdk_ecs::config::Region::new(region.to_owned()))
            .build(),
    );
    h.block_on(async {
        let out = ecs
            .list_account_settings()
            .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
            .principal_arn("arn:aws:iam::000000000000:role/some-other-role")
            .effective_settings(true)
            .send()
            .await
            .unwrap();
        out.settings()[0].value().unwrap().to_owned()
    })
}

fn web_service(report: &Value) -> &Value {
    let name = &report["stack"]["outputs"]["WebServiceName"];
    report["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| &s["name"] == name))
        .unwrap_or_else(|| panic!("no service {name} in {report:#}"))
}

/// Polls `status --output json` until `done` holds, for at most a minute.
fn status_until(dir: &Path, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let args = [
        "--local",
        "status",
        "--stack-name",
        name,
        "--output",
        "json",
    ];
    json_until(dir, &args, done)
}

/// Runs `enitrunk ARGS` (which print JSON) until `done` holds, for at most a minute.
fn json_until(dir: &Path, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let report = json_of(&enitrunk(dir, args));
        if done(&report) {
            return report;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "`enitrunk {}` never got there: {report:#}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Proof of effect: one m5.large holds 2 `awsvpc` tasks without trunking and 10 with it, so a
/// service of 8 runs on one trunked instance. An instance that registers while the setting is off
/// for its role gets no trunk: 2 tasks run, 6 wait for interfaces (`RESOURCE:ENI`), `deploy` says
/// why and exits 3; `enitrunk roll` replaces it and all 8 run.
#[test]
fn eight_tasks_run_on_one_trunked_m5_large_and_roll_replaces_an_instance_without_a_trunk() {
    let h = harness(BOOTSTRAP);
    let dir = workdir("density");
    let name = stack::unique_name("cli-density");
    let config = config_with_desired_count(&dir, 8);
    let config = config.to_str().unwrap();

    let (report, _) = deploy(&dir, &name, &["--config", config]);
    let proof = &report["proof"];
    assert_eq!(
        proof["container_instances"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    let instance = &proof["container_instances"][0];
    assert!(instance["trunk_id"].is_string(), "{report:#}");
    assert_eq!(instance["instance_type"], "m5.large");
    assert_eq!(instance["task_limit"], 10);
    assert_eq!(instance["task_limit_without_trunking"], 2);

    let report = status_until(&dir, &name, |r| web_service(r)["running"] == 8);
    let web = web_service(&report);
    assert_eq!(
        (web["desired"].as_i64(), web["pending"].as_i64()),
        (Some(8), Some(0))
    );
    assert_eq!(
        report["container_instances"][0]["running_tasks"], 8,
        "{report:#}"
    );
    assert!(report["container_instances"][0]["trunk_id"].is_string());
    let role = report["trunking"]["principal_arn"]
        .as_str()
        .unwrap()
        .to_owned();

    // An instance that registers while the setting is off for its role: replace the trunked one
    // then, and turn the setting back on.
    let set = |value: &str| h.block_on(h.set_trunking(&role, value));
    set("disabled");
    let old = instance["ec2_instance_id"].as_str().unwrap().to_owned();
    h.block_on(async {
        h.aws
            .autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(&old)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .unwrap();
    });
    let report = status_until(&dir, &name, |r| {
        r["container_instances"].as_array().is_some_and(|c| {
            c.iter()
                .any(|i| i["ec2_instance_id"] != old.as_str() && i["status"] == "ACTIVE")
        }) && web_service(r)["running"] == 2
    });
    let web = web_service(&report);
    assert_eq!(web["pending"], 6, "{report:#}");
    assert!(
        web["last_placement_failure"]
            .as_str()
            .unwrap_or_default()
            .contains("RESOURCE:ENI"),
        "{report:#}"
    );
    set("enabled");

    let out = deploy_raw(&dir, &name, &["--config", config]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no trunk: registered while awsvpcTrunking was not effective for its role")
            && text.contains("`enitrunk roll` replaces it"),
        "{}",
        show(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 of the 1 container instances"),
        "{}",
        show(&out)
    );

    let out = enitrunk(
        &dir,
        &[
            "--local",
            "roll",
            "--yes",
            "--stack-name",
            &name,
            "--output",
            "json",
        ],
    );
    let rolled = json_of(&out);
    assert_eq!(rolled["result"], "rolled", "{rolled:#}");
    assert_eq!(rolled["refresh"]["status"], "Successful");
    assert_eq!(
        rolled["proof"]["container_instances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        rolled["proof"]["container_instances"][0]["trunk_id"].is_string(),
        "{rolled:#}"
    );
    status_until(&dir, &name, |r| web_service(r)["running"] == 8);

    let out = enitrunk(&dir, &["--local", "roll", "--yes", "--stack-name", &name]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("every container instance has a trunk, nothing to do"),
        "{}",
        show(&out)
    );
    let out = enitrunk(
        &dir,
        &["--local", "destroy", "--yes", "--stack-name", &name],
    );
    assert!(out.status.success(), "{}", show(&out));
}

/// An S3 client of LocalStack's in `region`, as the root of `account` (LocalStack takes a
/// 12-digit access key as that account's).
fn s3_as(h: &Harness, account: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&h.aws.sdk)
        .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            account, "test", None, None, "e2e",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Creates `bucket` in `region` as `s3`'s account; already there and its own is fine (a
/// LocalStack kept running across test runs).
async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str, region: &str) {
    let created = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(region.into())
                .build(),
        )
        .send()
        .await;
    if let Err(e) = created {
        assert!(
            e.as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()),
            "create bucket {bucket}: {e:?}"
        );
    }
}

/// The artifact bucket's name is predictable, so another account may create it first: `deploy`
/// then refuses before uploading or deploying anything, and `--artifact-bucket` names a bucket
/// of your own instead (one that does not exist is refused too).
#[test]
fn an_artifact_bucket_of_another_account_is_refused_before_anything_is_deployed() {
    const REGION: &str = "eu-west-3";
    let h = harness(BOOTSTRAP);
    let dir = workdir("bucket-owner");
    let name = stack::unique_name("cli-bucket");
    let taken = enitrunk::package::bucket_name("000000000000", REGION);
    let other = s3_as(h, "111111111111", REGION);
    h.block_on(create_bucket(&other, &taken, REGION));

    let eni_trunking = [
        "--region",
        REGION,
        "--template",
        "eni-trunking",
        "--no-wait",
    ];
    let out = deploy_raw(&dir, &name, &eni_trunking);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "artifact bucket `{taken}` exists but is not owned by account 000000000000"
        )),
        "{}",
        show(&out)
    );
    let status = enitrunk(
        &dir,
        &[
            "--local",
            "status",
            "--region",
            REGION,
            "--stack-name",
            &name,
        ],
    );
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("does not exist"),
        "a stack was created: {}",
        show(&status)
    );
    let objects =
        h.block_on(async { other.list_objects_v2().bucket(&taken).send().await.unwrap() });
    assert_eq!(objects.key_count(), Some(0), "{objects:?}");

    let missing = stack::unique_name("missing-bucket");
    let mut args = eni_trunking.to_vec();
    args.extend_from_slice(&["--artifact-bucket", &missing]);
    let out = deploy_raw(&dir, &name, &args);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("artifact bucket `{missing}` does not exist")),
        "{}",
        show(&out)
    );

    let mine = stack::unique_name("own-bucket");
    h.block_on(create_bucket(
        &s3_as(h, "000000000000", REGION),
        &mine,
        REGION,
    ));
    let mut args = eni_trunking.to_vec();
    args.extend_from_slice(&["--artifact-bucket", &mine]);
    let (report, _) = deploy(&dir, &name, &args);
    assert_eq!(report["result"], "created", "{report:#}");
    assert_eq!(report["code"]["bucket"], mine.as_str(), "{report:#}");
    let out = enitrunk(
        &dir,
        &[
            "--local",
            "destroy",
            "--yes",
            "--region",
            REGION,
            "--stack-name",
            &name,
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
}

/// The `bootstrap` Cargo built for these tests, read by the check `deploy` runs before an upload:
/// a Linux executable of this machine's architecture, whose newest glibc version it finds (on a
/// build machine with glibc 2.34 or older, or Debian 12's 2.36, it passes; a newer one may make
/// the C parts of dependencies need more, which the check then names).
#[test]
fn the_built_bootstrap_is_checked_as_deploy_checks_it() {
    use enitrunk::instance_types::Architecture;
    use enitrunk::lambda_binary::{self, Problem, RUNTIME_GLIBC};
    let data = std::fs::read(BOOTSTRAP).unwrap();
    let host = Architecture::host().expect("an x86_64 or arm64 machine");
    match lambda_binary::check(&data, host) {
        Ok(facts) => {
            let needs = facts
                .glibc
                .expect("a dynamically linked bootstrap names its glibc");
            assert!(needs <= RUNTIME_GLIBC, "{needs}");
        }
        Err(Problem::GlibcTooNew { found }) => assert!(found > RUNTIME_GLIBC),
        Err(other) => panic!("{BOOTSTRAP}: {other}"),
    }
    let other = match host {
        Architecture::X86_64 => Architecture::Arm64,
        Architecture::Arm64 => Architecture::X86_64,
    };
    assert!(matches!(
        lambda_binary::check(&data, other),
        Err(Problem::WrongArchitecture { .. })
    ));
}

/// Ctrl-C typed at the question, on a terminal (`script` gives `enitrunk` one, and the ^C written
/// to it becomes a SIGINT, as at a keyboard): the change set and the empty stack it created are
/// removed, and the exit status is 130.
#[test]
fn ctrl_c_at_the_question_removes_the_change_set_and_the_empty_stack() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};

    let h = harness(BOOTSTRAP);
    let dir = workdir("ctrl-c");
    let name = stack::unique_name("cli-ctrl-c");
    let command = format!(
        "{ENITRUNK} deploy --local --template eni-trunking --no-wait --bootstrap {BOOTSTRAP} --stack-name {name}"
    );
    let mut terminal = Command::new("script")
        .args([
            "--quiet",
            "--flush",
            "--return",
            "--command",
            &command,
            "/dev/null",
        ])
        .current_dir(&dir)
        .env_remove("ENITRUNK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux) to give enitrunk a terminal");
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (shown, mut stdout) = (shown.clone(), terminal.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let screen = || shown.lock().unwrap().clone();
    let asked = std::time::Instant::now();
    while !screen().contains("execute these changes? [y/N]") {
        assert!(
            asked.elapsed() < Duration::from_secs(300) && terminal.try_wait().unwrap().is_none(),
            "enitrunk did not ask:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let waiting = h
        .block_on(h.aws.cfn.describe_stacks().stack_name(&name).send())
        .expect("the create change set's stack");
    assert_eq!(
        waiting.stacks()[0].stack_status(),
        Some(&StackStatus::ReviewInProgress)
    );

    let mut keyboard = terminal.stdin.take().unwrap();
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    let ended = std::time::Instant::now();
    let status = loop {
        if let Some(status) = terminal.try_wait().unwrap() {
            break status;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(120),
            "enitrunk did not end after Ctrl-C:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(keyboard);
    reader.join().unwrap();
    let screen = screen();
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(
        screen.contains("interrupted before anything was deployed; removed change set enitrunk-")
            && screen.contains(&format!(
                "and the empty stack {name} (REVIEW_IN_PROGRESS, no resources)"
            )),
        "{screen}"
    );
    let gone = std::time::Instant::now();
    loop {
        let left = h.block_on(h.aws.cfn.describe_stacks().stack_name(&name).send());
        match left {
            Err(_) => break,
            Ok(d) if d.stacks()[0].stack_status() == Some(&StackStatus::DeleteComplete) => break,
            Ok(d) => assert!(
                gone.elapsed() < Duration::from_secs(60),
                "the stack is still there: {:?}",
                d.stacks()[0].stack_status()
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A cluster made without enitrunk, by a CloudFormation template of the team's own, with its own
/// instance role for which the setting is off: `inspect` names the service waiting for network
/// interfaces and the fix; `roll --asg` refuses while the setting is off; `enable --role` adds
/// the trust statement and deploys the function for that role; `roll --asg` gives the group a
/// trunked instance and all 6 tasks run; `disable --role` leaves the role as it was.
#[test]
fn a_cluster_made_without_enitrunk_is_inspected_enabled_for_its_own_role_and_rolled_and_the_role_restored()
 {
    let h = harness(BOOTSTRAP);
    let dir = workdir("outside");
    let name = stack::unique_name("cli-outside");
    let role = &format!("{name}-instances");
    let iam = &h.aws.iam;
    let role_arn = h.block_on(async {
        let created = iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(
                r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
            .send()
            .await
            .unwrap();
        created.role().unwrap().arn().to_owned()
    });
    // As the root user, who may name the role: its instances register without a trunk.
    let set = |value: &str| h.block_on(h.set_trunking(&role_arn, value));
    set("disabled");
    let template = include_str!("../fixtures/outside-cluster.yaml");
    let created = h.block_on(async {
        let id = stack::create(&h.aws.cfn, &name, template, &[("InstanceRoleName", role)]).await;
        stack::expect(&h.aws.cfn, &id, StackStatus::CreateComplete).await
    });
    let (cluster, group) = (
        created.output("ClusterName"),
        created.output("AutoScalingGroupName"),
    );

    let inspect = [
        "--local",
        "inspect",
        "--cluster",
        cluster,
        "--role",
        role,
        "--output",
        "json",
    ];
    // Instances are read before services: under load the instance may register in between.
    let report = json_until(&dir, &inspect, |r| {
        r["container_instances"].as_array().map(Vec::len) == Some(1)
            && r["services"][0]["running"] == 2
            && r["services"][0]["pending"] == 4
    });
    let service = &report["services"][0];
    assert_eq!(service["name"], "app", "{report:#}");
    assert!(
        service["last_placement_failure"]
            .as_str()
            .is_some_and(|f| f.contains("RESOURCE:ENI")),
        "{report:#}"
    );
    assert_eq!(report["trunking"]["role"], "disabled", "{report:#}");
    assert_eq!(report["trunking"]["role_arn"], role_arn.as_str());
    assert_eq!(report["capacity_providers"][0]["auto_scaling_group"], group);
    let instances = report["container_instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{report:#}");
    assert_eq!(instances[0]["instance_type"], "m5.large");
    assert!(instances[0]["trunk_id"].is_null(), "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
    assert_eq!(
        codes,
        ["setting-off-for-role", "tasks-wait-for-interfaces"],
        "{report:#}"
    );
    let waiting = &findings[1];
    assert_eq!(waiting["subject"], "service app");
    assert!(
        waiting["message"]
            .as_str()
            .unwrap()
            .starts_with("4 of 6 tasks cannot be placed"),
        "{waiting:#}"
    );
    // The fix names the commands this test goes on to run.
    let fix = waiting["fix"].as_str().unwrap();
    for command in [
        format!("`enitrunk enable --role {role_arn}`"),
        format!("`enitrunk roll --asg {group} --cluster {cluster} --role {role_arn}`"),
        format!("aws autoscaling start-instance-refresh --auto-scaling-group-name {group}"),
    ] {
        assert!(fix.contains(&command), "{command}: {waiting:#}");
    }
    // The text says the same, for a person.
    let out = enitrunk(&dir, &inspect[..6]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && text.contains("[tasks-wait-for-interfaces] service app: 4 of 6 tasks")
            && text.contains(&format!("awsvpcTrunking for {role_arn}: disabled")),
        "{}",
        show(&out)
    );

    // With the setting still off, the roll is refused before anything is replaced.
    let roll = [
        "--local",
        "roll",
        "--yes",
        "--asg",
        group,
        "--cluster",
        cluster,
        "--role",
        role,
        "--output",
        "json",
    ];
    let out = enitrunk(&dir, &roll);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("awsvpcTrunking is `disabled` for {role_arn}")),
        "{}",
        show(&out)
    );
    let refreshes = h.block_on(async {
        h.aws
            .autoscaling
            .describe_instance_refreshes()
            .auto_scaling_group_name(group)
            .send()
            .await
            .unwrap()
    });
    assert!(refreshes.instance_refreshes().is_empty(), "{refreshes:?}");

    let before = role_documents(h, role);
    let enable_with = |extra: &[&str]| {
        let base = ["--local", "enable", "--role", role, "--yes", "--bootstrap"];
        enitrunk(&dir, &[&base[..], extra].concat())
    };
    // A deploy that fails after the statement went in takes it out again.
    let out = enable_with(&[
        BOOTSTRAP,
        "--artifact-bucket",
        "enitrunk-e2e-no-such-bucket",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("artifact bucket `enitrunk-e2e-no-such-bucket` does not exist")
            && stderr.contains("putting the trust policy of"),
        "{}",
        show(&out)
    );
    assert_eq!(role_documents(h, role), before, "{}", show(&out));
    // A bootstrap that is not there is said before anything changes.
    let out = enable_with(&["/no/such/bootstrap"]);
    assert!(
        out.status.code() == Some(1)
            && !String::from_utf8_lossy(&out.stderr).contains("trust policy"),
        "{}",
        show(&out)
    );
    let enabled = json_of(&enable_with(&[BOOTSTRAP, "--output", "json"]));
    assert_eq!(enabled["trust_statement"], "added", "{enabled:#}");
    assert_eq!(enabled["role_arn"], role_arn.as_str());
    assert_eq!(
        enabled["deploy"]["trunking"]["value"], "enabled",
        "{enabled:#}"
    );
    assert_eq!(
        enabled["deploy"]["trunking"]["principal_arn"],
        role_arn.as_str()
    );
    let stack_name = enabled["deploy"]["stack_name"].as_str().unwrap().to_owned();
    assert_eq!(stack_name, format!("enitrunk-role-{role}"));
    let with = role_documents(h, role);
    assert!(
        with.trust.contains("EnitrunkTrunkingFunction")
            && with.inline == ["enitrunk-awsvpc-trunking"]
            && with.attached == before.attached,
        "{with:?}"
    );
    // Its own setting, as the root user reads it: the function changed it as the role.
    assert_eq!(
        h.block_on(h.own_trunking(&role_arn)).as_deref(),
        Some("enabled")
    );
    // Again: the statement is there, the stack unchanged.
    let again = json_of(&enable_with(&[BOOTSTRAP, "--output", "json"]));
    assert_eq!(again["trust_statement"], "present", "{again:#}");
    assert_eq!(again["deploy"]["result"], "unchanged", "{again:#}");

    let rolled = json_of(&enitrunk(&dir, &roll));
    assert_eq!(rolled["result"], "rolled", "{rolled:#}");
    assert!(rolled["stack_name"].is_null(), "{rolled:#}");
    assert_eq!(rolled["refresh"]["status"], "Successful");
    assert_eq!(
        rolled["replaced"],
        serde_json::json!([instances[0]["ec2_instance_id"]])
    );
    let now = rolled["proof"]["container_instances"].as_array().unwrap();
    assert_eq!(now.len(), 1, "{rolled:#}");
    assert!(now[0]["trunk_id"].is_string(), "{rolled:#}");
    assert_eq!(now[0]["task_limit"], 10, "{rolled:#}");

    let report = json_until(&dir, &inspect, |r| {
        r["services"][0]["running"] == 6 && r["findings"] == serde_json::json!([])
    });
    assert_eq!(report["services"][0]["pending"], 0, "{report:#}");
    let out = enitrunk(&dir, &roll[..9]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "Auto Scaling group {group}: every container instance has a trunk, nothing to do"
        )),
        "{}",
        show(&out)
    );

    let status = json_of(&enitrunk(
        &dir,
        &[
            "--local",
            "status",
            "--cluster",
            cluster,
            "--role",
            role,
            "--output",
            "json",
        ],
    ));
    assert!(status["stack_name"].is_null(), "{status:#}");
    assert_eq!(status["trunking"]["principal_arn"], role_arn.as_str());
    assert_eq!(status["trunking"]["value"], "enabled", "{status:#}");
    assert_eq!(status["services"][0]["running"], 6, "{status:#}");
    assert!(
        status["container_instances"][0]["trunk_id"].is_string(),
        "{status:#}"
    );
    let out = enitrunk(&dir, &["--local", "status", "--cluster", "no-such-cluster"]);
    assert!(
        out.status.code() == Some(1)
            && String::from_utf8_lossy(&out.stderr)
                .contains("ECS cluster `no-such-cluster` does not exist"),
        "{}",
        show(&out)
    );

    let disable = [
        "--local", "disable", "--role", role, "--yes", "--output", "json",
    ];
    let disabled = json_of(&enitrunk(&dir, &disable));
    assert_eq!(disabled["result"], "deleted", "{disabled:#}");
    assert_eq!(
        disabled["trust_policy"]["result"], "restored",
        "{disabled:#}"
    );
    assert_eq!(role_documents(h, role), before, "the role is not as it was");
    let again = json_of(&enitrunk(&dir, &disable));
    assert_eq!(again["result"], "absent", "{again:#}");

    h.block_on(async {
        stack::delete(&h.aws.cfn, &created.stack_id).await;
        stack::expect(&h.aws.cfn, &created.stack_id, StackStatus::DeleteComplete).await;
        h.aws
            .ecs
            .delete_account_setting()
            .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
            .principal_arn(&role_arn)
            .send()
            .await
            .unwrap();
        iam.detach_role_policy()
            .role_name(role)
            .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
            .send()
            .await
            .unwrap();
        iam.delete_role().role_name(role).send().await.unwrap();
    });
}

/// What a role is: its trust policy as IAM returns it, its inline and its attached policies.
#[derive(Debug, PartialEq)]
struct RoleDocuments {
    trust: String,
    inline: Vec<String>,
    attached: Vec<String>,
}

fn role_documents(h: &Harness, role: &str) -> RoleDocuments {
    h.block_on(async {
        let iam = &h.aws.iam;
        let got = iam.get_role().role_name(role).send().await.unwrap();
        let inline = iam
            .list_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let attached = iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        RoleDocuments {
            trust: got
                .role()
                .unwrap()
                .assume_role_policy_document()
                .unwrap()
                .to_owned(),
            inline: inline.policy_names().to_vec(),
            attached: attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect(),
        }
    })
}

/// `enable --scope account-default`: no role to change; the default goes on for the region, read
/// as the root user for a principal without a setting of its own, and `disable` (with
/// `on_delete: Reset`) puts it back. A region of its own, as the other account-default test.
#[test]
fn enable_for_the_account_default_changes_no_role_and_disable_resets_it() {
    const REGION: &str = "eu-central-1";
    let h = harness(BOOTSTRAP);
    let dir = workdir("enable-default");
    let config =
        enitrunk_e2e::localstack::repo_root().join("deployer/tests/configs/account-default.yaml");
    let config = config.to_str().unwrap();
    let default_now = || account_default(h, REGION);
    assert_eq!(default_now(), "disabled");
    let common = ["--local", "--region", REGION, "--config", config];
    let run = |args: &[&str]| enitrunk(&dir, &[&common[..], args].concat());
    let enabled = json_of(&run(&[
        "enable",
        "--scope",
        "account-default",
        "--yes",
        "--bootstrap",
        BOOTSTRAP,
        "--output",
        "json",
    ]));
    assert!(enabled["role_arn"].is_null(), "{enabled:#}");
    assert_eq!(enabled["deploy"]["stack_name"], "enitrunk-account-default");
    assert_eq!(enabled["deploy"]["region"], REGION);
    assert_eq!(
        enabled["deploy"]["trunking"]["value"], "enabled",
        "{enabled:#}"
    );
    assert_eq!(
        enabled["deploy"]["trunking"]["principal_arn"],
        "arn:aws:iam::000000000000:root"
    );
    assert_eq!(default_now(), "enabled");
    let out = run(&["status", "--stack-name", "enitrunk-account-default"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("awsvpcTrunking account default"),
        "{}",
        show(&out)
    );
    let disabled = json_of(&run(&[
        "disable",
        "--scope",
        "account-default",
        "--yes",
        "--output",
        "json",
    ]));
    assert_eq!(disabled["result"], "deleted", "{disabled:#}");
    assert!(disabled.get("trust_policy").is_none(), "{disabled:#}");
    assert_eq!(default_now(), "disabled");
}

/// The administrator account's StackSets role, as the self-managed permissions guide makes it:
/// CloudFormation assumes it, and it may assume each target account's execution role.
const ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";
const EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";
const ORG_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// `account`'s clients (LocalStack takes a 12-digit access key as that account's root user).
fn aws_of(h: &Harness, account: &str, region: &str) -> enitrunk::aws::Aws {
    h.aws.as_principal(
        aws_sdk_s3::config::Credentials::new(account, "test", None, None, "e2e"),
        region,
    )
}

fn already_exists<E: aws_sdk_iam::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("EntityAlreadyExists")
}

/// The administration role in `admin`, as the StackSets user guide creates it.
async fn administration_role(h: &Harness, admin: &str) {
    let iam = &aws_of(h, admin, "us-east-1").iam;
    let created = iam
        .create_role()
        .role_name(ADMINISTRATION_ROLE)
        .assume_role_policy_document(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#,
        )
        .send()
        .await;
    if let Err(e) = created {
        assert!(
            e.as_service_error().is_some_and(already_exists),
            "create {ADMINISTRATION_ROLE}: {e:?}"
        );
    }
    iam.put_role_policy()
        .role_name(ADMINISTRATION_ROLE)
        .policy_name("AssumeRole-AWSCloudFormationStackSetExecutionRole")
        .policy_document(format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/{EXECUTION_ROLE}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
}

/// The execution role in `account`, trusting the administrator account `admin`, with
/// `AdministratorAccess`, as AWS's `AWSCloudFormationStackSetExecutionRole.yml` makes it.
async fn execution_role(h: &Harness, account: &str, admin: &str) {
    let iam = aws_of(h, account, "us-east-1").iam;
    let created = iam
        .create_role()
        .role_name(EXECUTION_ROLE)
        .assume_role_policy_document(format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{admin}:root"}}, "Action": "sts:AssumeRole"}}]}}"#
        ))
        .send()
        .await;
    if let Err(e) = created {
        assert!(
            e.as_service_error().is_some_and(already_exists),
            "create {EXECUTION_ROLE} in {account}: {e:?}"
        );
    }
    iam.attach_role_policy()
        .role_name(EXECUTION_ROLE)
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("attach AdministratorAccess in {account}: {e:?}"));
}

/// The instance role a stack instance created, read from its stack with its account's
/// credentials, and that role's effective `awsvpcTrunking` there.
fn member_trunking(h: &Harness, instance: &Value) -> (String, String) {
    let (account, region) = (
        instance["account"].as_str().unwrap(),
        instance["region"].as_str().unwrap(),
    );
    let stack_id = instance["stack_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no stack of {account} {region}: {instance:#}"));
    let aws = aws_of(h, account, region);
    h.block_on(async {
        let stacks = aws
            .cfn
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {stack_id} as {account}: {e:?}"));
        let stack = &stacks.stacks()[0];
        let role = stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some("InstanceRoleArn"))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("{stack_id} has no InstanceRoleArn output: {stack:?}"))
            .to_owned();
        assert!(
            role.starts_with(&format!("arn:aws:iam::{account}:role/")),
            "{account}'s instance role is {role}"
        );
        let settings = aws
            .ecs
            .list_account_settings()
            .name(aws_sdk_ecs::types::SettingName::AwsvpcTrunking)
            .principal_arn(&role)
            .effective_settings(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListAccountSettings as {account} in {region}: {e:?}"));
        let value = settings.settings()[0]
            .value()
            .unwrap_or_default()
            .to_owned();
        (role, value)
    })
}

/// An account id of its own each run (starting with `first`), so no earlier run left it roles,
/// stacks or an organization.
fn fresh_account(first: char) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{first}{:011}",
        (u64::from(nanos) * 7919 + u64::from(std::process::id())) % 100_000_000_000
    )
}

/// The stacks of stack set `name` still in `account` and `region`.
fn member_stacks(h: &Harness, name: &str, account: &str, region: &str) -> Vec<String> {
    let aws = aws_of(h, account, region);
    h.block_on(async {
        let listed = aws.cfn.list_stacks().send().await.unwrap();
        listed
            .stack_summaries()
            .iter()
            .filter(|s| s.stack_status() != Some(&StackStatus::DeleteComplete))
            .filter_map(|s| s.stack_name())
            .filter(|n| n.starts_with(&format!("StackSet-{name}-")))
            .map(str::to_owned)
            .collect()
    })
}

/// Fails naming what is left unless no stack of stack set `name` is in any of `accounts` in
/// any of `ORG_REGIONS`.
fn assert_no_member_stacks<A: AsRef<str>>(h: &Harness, name: &str, accounts: &[A]) {
    for account in accounts {
        for region in ORG_REGIONS {
            let left = member_stacks(h, name, account.as_ref(), region);
            assert!(
                left.is_empty(),
                "{} {region} keeps {left:?}",
                account.as_ref()
            );
        }
    }
}

fn org(dir: &Path, name: &str, args: &[&str]) -> Output {
    let mut all = vec!["--local", "--stack-name", name, "org"];
    all.extend_from_slice(args);
    enitrunk(dir, &all)
}

/// `enitrunk --stack-name NAME org ARGS` as `admin`'s root user: tests with an administrator
/// account of their own share no artifact buckets or stack sets with the others.
fn org_as(dir: &Path, admin: &str, name: &str, args: &[&str]) -> Output {
    let mut all = vec!["--stack-name", name, "org"];
    all.extend_from_slice(args);
    enitrunk_as(dir, &(admin.to_owned(), "test".to_owned()), &all)
}

/// Self-managed StackSets: `org deploy` to two accounts in two regions turns trunking on for
/// each account's instance role there (read with that account's credentials), `org status`
/// lists the four instances CURRENT, a second deploy changes nothing, and `org destroy` leaves
/// no stack in any account and no artifact bucket.
#[test]
fn org_deploy_turns_trunking_on_in_each_account_and_region_and_org_destroy_removes_it() {
    let h = harness(BOOTSTRAP);
    let members = ["111111111111", "222222222222"];
    h.block_on(async {
        administration_role(h, "000000000000").await;
        for m in members {
            execution_role(h, m, "000000000000").await;
        }
    });
    let dir = workdir("org");
    let name = stack::unique_name("org");
    let deploy_args = [
        "deploy",
        "--accounts",
        "111111111111,222222222222",
        "--regions",
        "us-east-1,eu-west-1",
        "--yes",
        "--bootstrap",
        BOOTSTRAP,
    ];
    let out = org(&dir, &name, &deploy_args);
    assert!(out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (account, region) in [("111111111111", "eu-west-1"), ("222222222222", "us-east-1")] {
        assert!(
            stderr.contains(account) && stderr.contains(region),
            "the progress names each account and region: {}",
            show(&out)
        );
    }

    let mut json = deploy_args.to_vec();
    json.extend_from_slice(&["--output", "json"]);
    let status = json_of(&org(&dir, &name, &["status", "--output", "json"]));
    let instances = status["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 4, "{status:#}");
    let mut roles = std::collections::BTreeSet::new();
    for i in instances {
        assert_eq!(i["status"], "CURRENT", "{status:#}");
        let (role, value) = member_trunking(h, i);
        assert_eq!(value, "enabled", "{role} in {}: {status:#}", i["region"]);
        roles.insert(role);
    }
    assert_eq!(roles.len(), 4, "one instance role per account and region");
    for account in members {
        for region in ORG_REGIONS {
            assert!(
                instances
                    .iter()
                    .any(|i| i["account"] == account && i["region"] == region),
                "no instance for {account} {region}: {status:#}"
            );
        }
    }

    let again = org(&dir, &name, &json);
    assert!(again.status.success(), "{}", show(&again));
    assert_eq!(json_of(&again)["result"], "unchanged", "{}", show(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no changes"),
        "{}",
        show(&again)
    );

    let out = org(&dir, &name, &["destroy", "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let destroyed = json_of(&out);
    assert_eq!(destroyed["instances_deleted"], 4, "{destroyed:#}");
    assert_eq!(
        destroyed["buckets_deleted"].as_array().map(Vec::len),
        Some(2),
        "one artifact bucket per region: {destroyed:#}"
    );
    assert_no_member_stacks(h, &name, &members);
    let status = json_of(&org(&dir, &name, &["status", "--output", "json"]));
    assert_eq!(status["status"], "absent", "{status:#}");
}

/// An account without the execution role fails with the reason StackSets gives, the others
/// deploy within the failure tolerance, and `org deploy` exits 1 naming it; once the role
/// exists, the next deploy brings that account's instances up and destroy removes everything.
#[test]
fn an_account_without_the_execution_role_fails_with_its_reason_within_the_tolerance() {
    let h = harness(BOOTSTRAP);
    let admin = fresh_account('7');
    let members = [fresh_account('1'), fresh_account('2')];
    let lacking = fresh_account('4');
    h.block_on(async {
        administration_role(h, &admin).await;
        for m in &members {
            execution_role(h, m, &admin).await;
        }
    });
    let dir = workdir("org-tolerance");
    let name = stack::unique_name("org-tolerance");
    let accounts = format!("{},{},{lacking}", members[0], members[1]);
    let deploy_args = [
        "deploy",
        "--accounts",
        &accounts,
        "--regions",
        "us-east-1,eu-west-1",
        "--failure-tolerance-percent",
        "34",
        "--max-concurrent-percent",
        "100",
        "--yes",
        "--bootstrap",
        BOOTSTRAP,
    ];
    let out = org_as(&dir, &admin, &name, &deploy_args);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "Account {lacking} should have '{EXECUTION_ROLE}' role with trust relationship to Role '{ADMINISTRATION_ROLE}'"
        )),
        "the failed account's reason: {}",
        show(&out)
    );
    // The summary on stdout lists each failed instance with its reason and what to do.
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!(
            "{lacking} us-east-1: FAILED: Account {lacking} should have"
        )) && summary.contains(&format!("create {EXECUTION_ROLE} in that account")),
        "what to do: {}",
        show(&out)
    );
    let status = json_of(&org_as(
        &dir,
        &admin,
        &name,
        &["status", "--output", "json"],
    ));
    let instances = status["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 6, "{status:#}");
    for i in instances {
        if i["account"] == lacking.as_str() {
            assert_ne!(i["status"], "CURRENT", "{status:#}");
            assert!(
                i["stack_id"].is_null() || i["detailed_status"] == "FAILED",
                "{status:#}"
            );
        } else {
            assert_eq!(i["status"], "CURRENT", "{status:#}");
            assert_eq!(member_trunking(h, i).1, "enabled", "{status:#}");
        }
    }

    h.block_on(execution_role(h, &lacking, &admin));
    let out = org_as(&dir, &admin, &name, &deploy_args);
    assert!(out.status.success(), "{}", show(&out));
    let status = json_of(&org_as(
        &dir,
        &admin,
        &name,
        &["status", "--output", "json"],
    ));
    for i in status["instances"].as_array().expect("instances") {
        assert_eq!(i["status"], "CURRENT", "{status:#}");
    }
    let out = org_as(&dir, &admin, &name, &["destroy", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_no_member_stacks(h, &name, &[&lacking]);
}

/// `org status --output json` of a stack set in `management`'s account, polled until `done`
/// holds (auto-deployment runs as operations of its own, after `MoveAccount` returns).
fn org_status_until(
    dir: &Path,
    management: &str,
    name: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = org_as(dir, management, name, &["status", "--output", "json"]);
        let status = json_of(&out);
        if done(status["instances"].as_array().expect("instances")) {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not {what} after 120s: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An organization of `management` (its clients `admin`) with an OU `clusters`, `accounts`
/// new member accounts and the first `in_ou` of them moved into it, and trusted access for
/// StackSets on.
struct Organization {
    root: String,
    ou: String,
    members: Vec<String>,
}

async fn organization(admin: &enitrunk::aws::Aws, accounts: usize, in_ou: usize) -> Organization {
    let orgs = &admin.organizations;
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let root = orgs.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let ou = orgs
        .create_organizational_unit()
        .parent_id(&root)
        .name("clusters")
        .send()
        .await
        .expect("CreateOrganizationalUnit")
        .organizational_unit()
        .and_then(|u| u.id())
        .unwrap()
        .to_owned();
    let mut members = Vec::new();
    for i in 0..accounts {
        let created = orgs
            .create_account()
            .email(format!("team{i}@example.com"))
            .account_name(format!("team{i}"))
            .send()
            .await
            .expect("CreateAccount");
        members.push(
            created
                .create_account_status()
                .and_then(|s| s.account_id())
                .unwrap()
                .to_owned(),
        );
    }
    for m in &members[..in_ou] {
        orgs.move_account()
            .account_id(m)
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .expect("MoveAccount");
    }
    admin
        .cfn
        .activate_organizations_access()
        .send()
        .await
        .expect("ActivateOrganizationsAccess");
    Organization { root, ou, members }
}

/// Service-managed StackSets: `org deploy --ous` reaches the accounts of the OU (not the
/// management account, not an account outside it), an account moved into the OU afterwards
/// gets trunking by itself (auto-deployment), one moved out loses its stacks, and `org
/// destroy` leaves nothing.
#[test]
fn org_deploy_to_an_ou_reaches_the_accounts_that_join_it_later() {
    let h = harness(BOOTSTRAP);
    let management = fresh_account('5');
    let admin = aws_of(h, &management, "us-east-1");
    let Organization { root, ou, members } = h.block_on(organization(&admin, 3, 2));
    let dir = workdir("org-ous");
    let name = stack::unique_name("org-ous");
    let out = org_as(
        &dir,
        &management,
        &name,
        &[
            "deploy",
            "--ous",
            &ou,
            "--regions",
            "us-east-1,eu-west-1",
            "--max-concurrent-percent",
            "100",
            "--yes",
            "--bootstrap",
            BOOTSTRAP,
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let status = org_status_until(&dir, &management, &name, "deployed", |_| true);
    let instances = status["instances"].as_array().expect("instances");
    let accounts: std::collections::BTreeSet<&str> = instances
        .iter()
        .map(|i| i["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts,
        members[..2].iter().map(String::as_str).collect(),
        "the OU's accounts, not the management account or one outside: {status:#}"
    );
    assert_eq!(instances.len(), 4, "{status:#}");
    for i in instances {
        assert_eq!(i["status"], "CURRENT", "{status:#}");
        assert_eq!(i["organizational_unit_id"], ou.as_str(), "{status:#}");
        assert_eq!(member_trunking(h, i).1, "enabled", "{status:#}");
    }

    // The third account joins the OU: StackSets deploys to it without another `org deploy`.
    let (joining, leaving) = (&members[2], &members[0]);
    let moved = |account: &str, from: &str, to: &str| {
        h.block_on(async {
            admin
                .organizations
                .move_account()
                .account_id(account)
                .source_parent_id(from)
                .destination_parent_id(to)
                .send()
                .await
                .expect("MoveAccount");
        });
    };
    moved(joining, &root, &ou);
    let status = org_status_until(&dir, &management, &name, "auto-deployed", |all| {
        all.iter()
            .filter(|i| i["account"] == joining.as_str() && i["status"] == "CURRENT")
            .count()
            == 2
    });
    for i in status["instances"].as_array().unwrap() {
        if i["account"] == joining.as_str() {
            assert_eq!(member_trunking(h, i).1, "enabled", "{status:#}");
        }
    }

    // One leaves it: its instances and (RetainStacksOnAccountRemoval off) its stacks go.
    moved(leaving, &ou, &root);
    org_status_until(&dir, &management, &name, "removed", |all| {
        all.len() == 4 && all.iter().all(|i| i["account"] != leaving.as_str())
    });
    assert_no_member_stacks(h, &name, &[leaving]);

    let out = org_as(&dir, &management, &name, &["destroy", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_no_member_stacks(h, &name, &members);
}

/// `templates/org-stackset.yaml` deployed as its header says, with plain CloudFormation from
/// the management account: a bucket per region that the organization may read, then the
/// stack; each account of the OU gets trunking in each region, and deleting the stack removes
/// the stack set and every account's stacks.
#[test]
fn the_org_stackset_template_deploys_with_plain_cloudformation() {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

    let h = harness(BOOTSTRAP);
    let management = fresh_account('6');
    let admin = aws_of(h, &management, "us-east-1");
    let Organization { ou, members, .. } = h.block_on(organization(&admin, 2, 2));
    let path = enitrunk_e2e::localstack::repo_root().join("templates/org-stackset.yaml");
    let template = std::fs::read_to_string(&path).unwrap();
    let zip = enitrunk::package::zip_bootstrap(&std::fs::read(BOOTSTRAP).unwrap());
    let key = enitrunk::package::key_for(&zip);
    let prefix = format!("enitrunk-org-template-{management}");
    let name = stack::unique_name("org-template");
    let stack_set = format!("{name}-trunking");
    let stack_id = h.block_on(async {
        let org_id = admin
            .organizations
            .describe_organization()
            .send()
            .await
            .unwrap()
            .organization()
            .and_then(|o| o.id())
            .unwrap()
            .to_owned();
        for region in ORG_REGIONS {
            let s3 = aws_of(h, &management, region).s3;
            let bucket = format!("{prefix}-{region}");
            let mut create = s3.create_bucket().bucket(&bucket);
            if region != "us-east-1" {
                create = create.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region))
                        .build(),
                );
            }
            create.send().await.expect("CreateBucket");
            s3.put_bucket_policy()
                .bucket(&bucket)
                .policy(format!(
                    r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/enitrunk/*", "Condition": {{"StringEquals": {{"aws:PrincipalOrgID": "{org_id}"}}}}}}]}}"#
                ))
                .send()
                .await
                .expect("PutBucketPolicy");
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(zip.clone().into())
                .send()
                .await
                .expect("PutObject");
        }
        let id = stack::create(
            &admin.cfn,
            &name,
            &template,
            &[
                ("CodeBucketPrefix", prefix.as_str()),
                ("CodeKey", key.as_str()),
                ("OrganizationalUnitIds", ou.as_str()),
                ("Regions", "us-east-1,eu-west-1"),
                ("MaxConcurrentPercentage", "100"),
                ("FailureTolerancePercentage", "100"),
            ],
        )
        .await;
        stack::expect(&admin.cfn, &id, StackStatus::CreateComplete).await;
        id
    });
    let instances: Vec<Value> = h.block_on(async {
        let listed = admin
            .cfn
            .list_stack_instances()
            .stack_set_name(&stack_set)
            .send()
            .await
            .unwrap_or_else(|e| panic!("the stack made no stack set {stack_set}: {e:?}"));
        listed
            .summaries()
            .iter()
            .map(|i| {
                serde_json::json!({
                    "account": i.account(),
                    "region": i.region(),
                    "status": i.status().map(|s| s.as_str()),
                    "stack_id": i.stack_id(),
                })
            })
            .collect()
    });
    assert_eq!(instances.len(), 4, "{instances:#?}");
    for i in &instances {
        assert!(
            members.iter().any(|m| i["account"] == m.as_str()),
            "{instances:#?}"
        );
        assert_eq!(i["status"], "CURRENT", "{instances:#?}");
        assert_eq!(member_trunking(h, i).1, "enabled", "{i:#}");
    }

    h.block_on(async {
        stack::delete(&admin.cfn, &stack_id).await;
        stack::expect(&admin.cfn, &stack_id, StackStatus::DeleteComplete).await;
        let gone = admin
            .cfn
            .describe_stack_set()
            .stack_set_name(&stack_set)
            .send()
            .await;
        assert!(
            gone.is_err(),
            "stack set {stack_set} is still there: {gone:?}"
        );
    });
    assert_no_member_stacks(h, &stack_set, &members);
}

/// A fresh administrator account with `AWSCloudFormationStackSetAdministrationRole` and a fresh
/// member account with the execution role that trusts it, as AWS documents them.
fn admin_and_member(h: &Harness, admin_first: char, member_first: char) -> (String, String) {
    let (admin, member) = (fresh_account(admin_first), fresh_account(member_first));
    h.block_on(async {
        administration_role(h, &admin).await;
        execution_role(h, &member, &admin).await;
    });
    (admin, member)
}

/// The artifact buckets are the administrator account's, shared by its stack sets: `org destroy`
/// of one keeps them while another uses them (its updates and auto-deployments read them), and
/// the last one's destroy deletes them.
#[test]
fn org_destroy_keeps_the_artifact_buckets_while_another_stack_set_uses_them() {
    let h = harness(BOOTSTRAP);
    let (admin, member) = admin_and_member(h, '8', '3');
    let dir = workdir("org-shared-buckets");
    let (first, second) = (
        stack::unique_name("org-first"),
        stack::unique_name("org-second"),
    );
    for name in [&first, &second] {
        let out = org_as(
            &dir,
            &admin,
            name,
            &[
                "deploy",
                "--accounts",
                &member,
                "--regions",
                "us-east-1",
                "--yes",
                "--bootstrap",
                BOOTSTRAP,
            ],
        );
        assert!(out.status.success(), "{}", show(&out));
    }
    let bucket = format!("enitrunk-org-{admin}-us-east-1");

    let out = org_as(
        &dir,
        &admin,
        &first,
        &["destroy", "--yes", "--output", "json"],
    );
    let destroyed = json_of(&out);
    assert_eq!(destroyed["instances_deleted"], 1, "{destroyed:#}");
    assert_eq!(
        destroyed["buckets_deleted"],
        serde_json::json!([]),
        "{destroyed:#}"
    );
    assert_eq!(
        destroyed["buckets_kept_for"],
        serde_json::json!([format!("{second} (us-east-1)")]),
        "{destroyed:#}"
    );
    let s3 = aws_of(h, &admin, "us-east-1").s3;
    let kept = h.block_on(s3.head_bucket().bucket(&bucket).send());
    assert!(kept.is_ok(), "{bucket} was deleted: {kept:?}");
    assert!(member_stacks(h, &first, &member, "us-east-1").is_empty());
    assert_eq!(member_stacks(h, &second, &member, "us-east-1").len(), 1);

    let out = org_as(
        &dir,
        &admin,
        &second,
        &["destroy", "--yes", "--output", "json"],
    );
    let destroyed = json_of(&out);
    assert_eq!(
        destroyed["buckets_deleted"],
        serde_json::json!([bucket]),
        "{destroyed:#}"
    );
    assert!(member_stacks(h, &second, &member, "us-east-1").is_empty());
}

/// From a delegated administrator for StackSets: without `--call-as DELEGATED_ADMIN` the
/// account is told it is not the management account and how to go on, with nothing deployed;
/// with it, `org deploy`, `org status` and `org destroy` work on the OU's accounts, with the
/// artifact buckets in the delegated administrator's account.
#[test]
fn org_deploy_from_a_delegated_administrator() {
    let h = harness(BOOTSTRAP);
    let management = fresh_account('9');
    let admin = aws_of(h, &management, "us-east-1");
    let Organization { ou, members, .. } = h.block_on(organization(&admin, 3, 2));
    let delegate = members[2].clone();
    h.block_on(async {
        admin
            .organizations
            .register_delegated_administrator()
            .account_id(&delegate)
            .service_principal("member.org.stacksets.cloudformation.amazonaws.com")
            .send()
            .await
            .expect("RegisterDelegatedAdministrator");
    });
    let dir = workdir("org-delegated");
    let name = stack::unique_name("org-delegated");
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "deploy",
            "--ous",
            &ou,
            "--regions",
            "us-east-1",
            "--max-concurrent-percent",
            "100",
            "--yes",
            "--bootstrap",
            BOOTSTRAP,
        ];
        args.extend_from_slice(extra);
        org_as(&dir, &delegate, &name, &args)
    };

    let out = deploy(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "account {delegate} is not the management account of its organization ({management})"
        )) && stderr.contains("--call-as DELEGATED_ADMIN"),
        "{}",
        show(&out)
    );
    let status = json_of(&org_as(
        &dir,
        &delegate,
        &name,
        &["status", "--call-as", "DELEGATED_ADMIN", "--output", "json"],
    ));
    assert_eq!(status["status"], "absent", "nothing deployed: {status:#}");

    let out = deploy(&["--call-as", "DELEGATED_ADMIN"]);
    assert!(out.status.success(), "{}", show(&out));
    let status = json_of(&org_as(
        &dir,
        &delegate,
        &name,
        &["status", "--call-as", "DELEGATED_ADMIN", "--output", "json"],
    ));
    let instances = status["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 2, "{status:#}");
    for i in instances {
        assert!(
            members[..2].iter().any(|m| i["account"] == m.as_str()),
            "{status:#}"
        );
        assert_eq!(i["status"], "CURRENT", "{status:#}");
        assert_eq!(member_trunking(h, i).1, "enabled", "{status:#}");
    }

    let out = org_as(
        &dir,
        &delegate,
        &name,
        &[
            "destroy",
            "--yes",
            "--call-as",
            "DELEGATED_ADMIN",
            "--output",
            "json",
        ],
    );
    let destroyed = json_of(&out);
    assert_eq!(destroyed["instances_deleted"], 2, "{destroyed:#}");
    assert_eq!(
        destroyed["buckets_deleted"],
        serde_json::json!([format!("enitrunk-org-{delegate}-us-east-1")]),
        "{destroyed:#}"
    );
    for account in &members[..2] {
        let left = member_stacks(h, &name, account, "us-east-1");
        assert!(left.is_empty(), "{account} keeps {left:?}");
    }
}

/// A changed config updates the stack set and its instances: `trunking.on_delete: Reset`
/// reaches each account's stack as its `OnDelete` parameter, and `org deploy` says "updated".
#[test]
fn a_changed_config_updates_the_stack_set_and_its_instances() {
    let h = harness(BOOTSTRAP);
    let (admin, member) = admin_and_member(h, '7', '2');
    let dir = workdir("org-update");
    let name = stack::unique_name("org-update");
    let deploy = || {
        org_as(
            &dir,
            &admin,
            &name,
            &[
                "deploy",
                "--accounts",
                &member,
                "--regions",
                "us-east-1",
                "--yes",
                "--bootstrap",
                BOOTSTRAP,
                "--output",
                "json",
            ],
        )
    };
    let on_delete = || {
        let status = json_of(&org_as(
            &dir,
            &admin,
            &name,
            &["status", "--output", "json"],
        ));
        let instance = &status["instances"][0];
        assert_eq!(instance["status"], "CURRENT", "{status:#}");
        let stack_id = instance["stack_id"].as_str().unwrap().to_owned();
        let cfn = aws_of(h, &member, "us-east-1").cfn;
        h.block_on(async {
            let stacks = cfn
                .describe_stacks()
                .stack_name(&stack_id)
                .send()
                .await
                .unwrap();
            stacks.stacks()[0]
                .parameters()
                .iter()
                .find(|p| p.parameter_key() == Some("OnDelete"))
                .and_then(|p| p.parameter_value())
                .unwrap()
                .to_owned()
        })
    };
    assert_eq!(json_of(&deploy())["result"], "created");
    assert_eq!(on_delete(), "Retain");

    std::fs::write(dir.join("enitrunk.yaml"), "trunking:\n  on_delete: Reset\n").unwrap();
    let updated = json_of(&deploy());
    assert_eq!(updated["result"], "updated", "{updated:#}");
    assert_eq!(
        updated["operations"][0]["status"], "SUCCEEDED",
        "{updated:#}"
    );
    assert_eq!(on_delete(), "Reset");
    assert_eq!(json_of(&deploy())["result"], "unchanged");

    let out = org_as(&dir, &admin, &name, &["destroy", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
}
