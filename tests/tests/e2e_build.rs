//! `enitrunk deploy`'s build path for AWS (no `--local`): the function built with cargo-lambda
//! (`scripts/cargo-lambda`, pinned, from PyPI), checked for `provided.al2023` before the upload,
//! and deployed, here into LocalStack through `--endpoint-url` (its host executor runs the
//! release binary). Its own test binary: the release build takes both cores for minutes, which
//! would skew the timed tests beside it.

use std::path::Path;
use std::process::Command;

use enitrunk_e2e::{harness, stack};
use serde_json::Value;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_e2e-bootstrap");
const ENITRUNK: &str = env!("CARGO_BIN_EXE_e2e-enitrunk");

#[test]
fn deploy_for_aws_builds_with_cargo_lambda_and_checks_the_binary_before_uploading() {
    let _ = harness(BOOTSTRAP);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-build");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let name = stack::unique_name("build");
    let endpoint = enitrunk_e2e::localstack::endpoint();
    let run = |args: &[&str]| {
        Command::new(ENITRUNK)
            .args(["--endpoint-url", endpoint.as_str(), "--region", "us-east-1"])
            .args(args)
            .current_dir(&dir)
            .env_remove("ENITRUNK_CONFIG")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("no-aws-credentials"),
            )
            // LocalStack's root credentials.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            // Its own target directory: the outer cargo holds the workspace's.
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-build-target"),
            )
            .output()
            .expect("run enitrunk")
    };
    let out = run(&[
        "deploy",
        "--yes",
        "--template",
        "eni-trunking",
        "--stack-name",
        &name,
        "--output",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("(cargo lambda build --release --x86-64 -p custom-resource-lambda)"),
        "{stderr}"
    );
    // "<path>: x86_64 ELF executable, needs GLIBC_2.N (provided.al2023 has GLIBC_2.34)"
    let checked = stderr
        .lines()
        .find(|l| l.contains("x86_64 ELF executable, needs GLIBC_2."))
        .unwrap_or_else(|| panic!("no check of the binary: {stderr}"));
    let minor: u32 = checked
        .split("needs GLIBC_2.")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{checked}"));
    assert!(minor <= 34, "{checked}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["result"], "created", "{report:#}");
    assert_eq!(report["trunking"]["value"], "enabled", "{report:#}");

    let out = run(&["destroy", "--yes", "--stack-name", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
