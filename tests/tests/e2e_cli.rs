//! End to end through the CLI: `enitrunk deploy --local` of the full demo cluster into
//! LocalStack, again with no changes, with a config change, `status`, `destroy`; a deploy that
//! fails, its root cause, and the next deploy recovering; a bad config deploying nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_cloudformation::types::ResourceStatus;
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

    // LocalStack leaves a failed create in CREATE_FAILED (AWS: ROLLBACK_COMPLETE); either way
    // the stack can only be deleted, and deploy does that itself.
    std::fs::remove_file(dir.join("enitrunk.yaml")).unwrap();
    let (report, progress) = deploy(&dir, &name, &["--template", "eni-trunking"]);
    assert!(
        progress.contains("from a failed create: deleting it, then creating it again"),
        "{progress}"
    );
    assert_eq!(report["result"], "recreated", "{report:#}");
    assert_eq!(report["trunking"]["value"], "enabled");
    let out = enitrunk(
        &dir,
        &["--local", "destroy", "--yes", "--stack-name", &name],
    );
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
