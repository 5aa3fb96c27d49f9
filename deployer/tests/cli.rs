//! The `enitrunk` binary's offline commands as a user runs them: output, exit codes, errors.

use std::path::Path;
use std::process::{Command, Output};

fn enitrunk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enitrunk"))
        .args(args)
        .current_dir(dir)
        .env_remove("ENITRUNK_CONFIG")
        .output()
        .expect("run enitrunk")
}

fn text(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn plan_of_the_demo() {
    let dir = tempdir("plan-demo");
    insta::assert_snapshot!(text(&enitrunk(&dir, &["plan"])));
}

#[test]
fn plan_from_flags_as_json() {
    let dir = tempdir("plan-json");
    let out = enitrunk(
        &dir,
        &[
            "plan",
            "--cpu",
            "128",
            "--memory",
            "128",
            "--count",
            "30",
            "-t",
            "m5.large",
            "-t",
            "c8g.large",
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows[0]["instance_type"], "m5.large");
    assert_eq!(rows[0]["tasks_without_trunking"], 2);
    assert_eq!(rows[0]["tasks_with_trunking"], 10);
    assert_eq!(rows[0]["instances_without_trunking"], 15);
    assert_eq!(rows[0]["instances_with_trunking"], 3);
    assert!(rows[0]["estimate"].is_null());
    assert!(
        rows[1]["estimate"].is_string(),
        "c8g is newer than the ECS table: {}",
        rows[1]
    );
}

#[test]
fn plan_refuses_t_family() {
    let dir = tempdir("plan-t3");
    insta::assert_snapshot!(text(&enitrunk(&dir, &["plan", "-t", "t3.medium"])));
}

#[test]
fn init_writes_the_starter_and_refuses_to_overwrite() {
    let dir = tempdir("init");
    let out = enitrunk(&dir, &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(dir.join("enitrunk.yaml")).unwrap();
    assert_eq!(written, enitrunk::config::STARTER);
    // The starter is found and used from then on.
    let out = enitrunk(&dir, &["validate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("config enitrunk.yaml: ok"),
        "{}",
        text(&out)
    );
    let out = enitrunk(&dir, &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists; pass --force"),
        "{}",
        text(&out)
    );
}

#[test]
fn validate_reports_config_errors_with_positions() {
    let dir = tempdir("validate-bad");
    std::fs::write(
        dir.join("enitrunk.yaml"),
        "stack_name: demo\ncluster:\n  instance_types: [t3.micro]\n  max_sise: 3\n",
    )
    .unwrap();
    insta::assert_snapshot!(text(&enitrunk(&dir, &["validate"])));
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let dir = tempdir("validate-missing");
    let out = enitrunk(&dir, &["--config", "nope.yaml", "validate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read config file nope.yaml\n  caused by: No such file"),
        "{stderr}"
    );
}

#[test]
fn render_check_detects_stale_and_missing_templates() {
    let dir = tempdir("render-check");
    let out = enitrunk(&dir, &["render", "--out", "t", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("eni-trunking.yaml (missing)"),
        "{}",
        text(&out)
    );

    let out = enitrunk(&dir, &["render", "--out", "t"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        enitrunk(&dir, &["render", "--out", "t", "--check"])
            .status
            .success()
    );

    let path = dir.join("t/ecs-cluster.yaml");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("DesiredCount: 4", "DesiredCount: 5");
    std::fs::write(&path, edited).unwrap();
    let out = enitrunk(&dir, &["render", "--out", "t", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr), @"error: t differ from what `enitrunk render` produces: ecs-cluster.yaml (stale); run `enitrunk render --out t` and commit the result");
}

#[test]
fn render_print_writes_one_template_to_stdout() {
    let dir = tempdir("render-print");
    let out = enitrunk(&dir, &["render", "--print", "eni-trunking.yaml"]);
    assert!(out.status.success(), "{}", text(&out));
    let checked_in = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/eni-trunking.yaml"),
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), checked_in);
    assert!(
        !dir.join("templates").exists(),
        "--print must not write files"
    );
}

#[test]
fn a_stack_name_cloudformation_refuses_is_refused_before_any_aws_call() {
    let dir = tempdir("stack-name");
    let out = enitrunk(&dir, &["status", "--stack-name", "web_prod"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "invalid value 'web_prod' for '--stack-name <STACK_NAME>': not a CloudFormation stack name"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn a_group_to_roll_needs_its_cluster_a_role_needs_a_group_or_a_cluster_and_enable_a_role() {
    let dir = tempdir("outside-args");
    for (args, missing) in [
        (&["roll", "--asg", "web-asg"][..], "--cluster <CLUSTER>"),
        (&["roll", "--role", "ecsInstanceRole"][..], "--asg <GROUP>"),
        (
            &["status", "--role", "ecsInstanceRole"][..],
            "--cluster <CLUSTER>",
        ),
        (&["enable"][..], "--role <ROLE>"),
        (&["disable", "--yes"][..], "--role <ROLE>"),
    ] {
        let out = enitrunk(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("the following required arguments were not provided")
                && stderr.contains(missing),
            "{args:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn the_account_default_with_a_role_is_refused_before_any_aws_call() {
    let dir = tempdir("enable-default-role");
    let out = enitrunk(
        &dir,
        &[
            "enable",
            "--scope",
            "account-default",
            "--role",
            "r",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--scope account-default changes no role"),
        "{}",
        text(&out)
    );
}

#[test]
fn org_deploy_without_targets_or_with_a_bad_org_section_is_refused_before_any_aws_call() {
    let dir = tempdir("org-refused");
    // --local would start LocalStack: the refusal comes first, with nothing running.
    let out = enitrunk(
        &dir,
        &[
            "--local",
            "org",
            "deploy",
            "--regions",
            "us-east-1",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("name the targets: --accounts"),
        "{}",
        text(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("LocalStack"),
        "{}",
        text(&out)
    );

    std::fs::write(
        dir.join("enitrunk.yaml"),
        "org:\n  accounts: [\"111111111111\"]\n  regions: [us-east-1]\n  call_as: DELEGATED_ADMIN\n",
    )
    .unwrap();
    let out = enitrunk(&dir, &["--local", "org", "deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("enitrunk.yaml:4:12: org.call_as DELEGATED_ADMIN is for org.ous"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_cluster_outside_enitrunk_is_read_without_a_config_and_without_starting_localstack() {
    let dir = tempdir("outside-no-config");
    // A broken ./enitrunk.yaml is not read: the cluster is not enitrunk's.
    std::fs::write(dir.join("enitrunk.yaml"), "cluster: [").unwrap();
    for args in [
        &["--local", "status", "--cluster", "c"][..],
        &["--local", "roll", "--asg", "g", "--cluster", "c"][..],
        &["--local", "inspect", "--cluster", "c"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_enitrunk"))
            .args(args)
            .current_dir(&dir)
            .env_remove("ENITRUNK_CONFIG")
            .env("ENITRUNK_LOCALSTACK_PORT", "1")
            .output()
            .expect("run enitrunk");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not running at") && !stderr.contains("enitrunk.yaml"),
            "{args:?}: {}",
            text(&out)
        );
    }
}
