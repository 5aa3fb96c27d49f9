//! The custom resource's deployment package: build `bootstrap`, zip it reproducibly, name it by
//! content, and put it in the artifact bucket (created on first use, encrypted, not public, TLS
//! only, old artifacts expiring; never one another account owns).

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::aws::Aws;
use crate::error::Error;
use crate::instance_types::Architecture;
use crate::progress::Progress;

/// A zip with one entry, `bootstrap`, mode 0755 (without the executable bit Lambda fails with
/// `Runtime.InvalidEntrypoint`) and the zip epoch as its time: same binary, same bytes.
pub fn zip_bootstrap(binary: &[u8]) -> Vec<u8> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(DateTime::DEFAULT);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    // Writing to memory cannot fail short of allocation failure.
    zip.start_file("bootstrap", options)
        .expect("zip entry in memory");
    zip.write_all(binary).expect("zip write in memory");
    zip.finish().expect("zip finish in memory").into_inner()
}

/// `enitrunk/bootstrap-<first 16 hex digits of the zip's SHA-256>.zip`.
pub fn key_for(zip: &[u8]) -> String {
    let digest = Sha256::digest(zip);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("enitrunk/bootstrap-{hex}.zip")
}

/// Builds `bootstrap` for Lambda: with cargo-lambda (`scripts/cargo-lambda`, pinned, installed
/// into `.work/` with the Zig toolchain it links with), which links against an old glibc and
/// cross-builds arm64; with this machine's cargo when cargo-lambda cannot be set up.
pub fn build_for_lambda(
    architecture: Architecture,
    progress: &mut Progress<'_>,
) -> Result<PathBuf, Error> {
    let root = crate::workspace::root().ok_or(Error::NoWorkspace)?;
    let script = root.join("scripts").join("cargo-lambda");
    let setup = std::process::Command::new(&script)
        .arg("--setup")
        .current_dir(&root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status();
    if !setup.as_ref().is_ok_and(|s| s.success()) {
        let why = match setup {
            Ok(s) => format!("scripts/cargo-lambda --setup exited with {s}"),
            Err(e) => format!("cannot run {}: {e}", script.display()),
        };
        progress.line(&format!(
            "cargo-lambda is unavailable ({why}); building with this machine's cargo instead"
        ));
        let target =
            (Architecture::host() != Some(architecture)).then(|| architecture.linux_target());
        return build_bootstrap(true, target, progress);
    }
    let arch_flag = match architecture {
        Architecture::X86_64 => "--x86-64",
        Architecture::Arm64 => "--arm64",
    };
    progress.line(&format!(
        "building the custom resource function (cargo lambda build --release {arch_flag} -p custom-resource-lambda)"
    ));
    let status = std::process::Command::new(&script)
        .args([
            "build",
            "--release",
            arch_flag,
            "-p",
            "custom-resource-lambda",
            "--bin",
            "bootstrap",
        ])
        .current_dir(&root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status()
        .map_err(Error::io("run", &script))?;
    if !status.success() {
        return Err(Error::Build(format!(
            "cargo lambda build exited with {status}"
        )));
    }
    // cargo-lambda puts each binary at <target dir>/lambda/<name>/bootstrap.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir
        .join("lambda")
        .join("bootstrap")
        .join("bootstrap"))
}

/// Builds `bootstrap` with cargo (release for AWS, where size and cold start matter; the dev
/// profile for LocalStack, which the test build has usually compiled already), for `target`
/// when given (a function of another architecture than this machine's).
pub fn build_bootstrap(
    release: bool,
    target: Option<&str>,
    progress: &mut Progress<'_>,
) -> Result<PathBuf, Error> {
    let root = crate::workspace::root().ok_or(Error::NoWorkspace)?;
    progress.line(&format!(
        "building the custom resource function (cargo build{}{} -p custom-resource-lambda)",
        if release { " --release" } else { "" },
        target.map(|t| format!(" --target {t}")).unwrap_or_default()
    ));
    let mut cmd =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root)
        .args([
            "build",
            "-p",
            "custom-resource-lambda",
            "--bin",
            "bootstrap",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let out = cmd.output().map_err(Error::io("run", "cargo"))?;
    if !out.status.success() {
        if let Some(t) = target {
            return Err(Error::Build(format!(
                "cargo build --target {t} exited with {}: if the target is missing, `rustup target add {t}` installs it (a cross build also needs a linker for it); or build with `cargo lambda build --release` and pass --bootstrap PATH",
                out.status
            )));
        }
        return Err(Error::Build(format!(
            "cargo build exited with {}",
            out.status
        )));
    }
    // The executable's path from cargo's own report: it knows CARGO_TARGET_DIR and profiles.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "bootstrap")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| Error::Build("cargo did not report the bootstrap executable".into()))
}

/// Where the function's code is: the templates' `CodeBucket` and `CodeKey`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CodeLocation {
    pub bucket: String,
    pub key: String,
    pub uploaded: bool,
}

/// `enitrunk-artifacts-<account>-<region>`: unique per account and region, as bucket names are
/// global. Predictable, so anyone may create it first: every call checks who owns it.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("enitrunk-artifacts-{account}-{region}")
}

/// Artifacts older than this expire. Lambda keeps its own copy of the code, and `deploy` uploads
/// again what is gone, so only a rollback to code this old would miss it.
pub const ARTIFACT_EXPIRY_DAYS: i32 = 90;
/// The key prefix enitrunk writes under.
const PREFIX: &str = "enitrunk/";

/// Zips `binary` and uploads it unless that content is already there: into `bucket` (yours,
/// used as it is), else into [`bucket_name`], created and set up on first use. Every call tells
/// S3 the bucket must belong to `account` (`ExpectedBucketOwner`).
pub async fn upload(
    aws: &Aws,
    account: &str,
    bucket: Option<&str>,
    binary: &Path,
    progress: &mut Progress<'_>,
) -> Result<CodeLocation, Error> {
    let bytes = std::fs::read(binary).map_err(Error::io("read", binary))?;
    let zip = zip_bootstrap(&bytes);
    let key = key_for(&zip);
    let bucket = match bucket {
        Some(own) => {
            check_own_bucket(aws, own, account).await?;
            own.to_owned()
        }
        None => {
            let bucket = bucket_name(account, &aws.region);
            ensure_bucket(aws, &bucket, account, &Readers::Owner, progress).await?;
            bucket
        }
    };
    let uploaded = put_if_missing(aws, account, &bucket, &zip, &key, progress).await?;
    Ok(CodeLocation {
        bucket,
        key,
        uploaded,
    })
}

/// Uploads `zip` as `key` unless that content is there already (the key is its hash).
async fn put_if_missing(
    aws: &Aws,
    account: &str,
    bucket: &str,
    zip: &[u8],
    key: &str,
    progress: &mut Progress<'_>,
) -> Result<bool, Error> {
    if aws
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    progress.line(&format!(
        "uploading s3://{bucket}/{key} ({} KiB)",
        zip.len() / 1024
    ));
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .body(ByteStream::from(zip.to_vec()))
        .send()
        .await
        .map_err(|e| Error::aws(format!("upload s3://{bucket}/{key}"), &e))?;
    Ok(true)
}

/// What `HeadBucket` with `ExpectedBucketOwner` says of a bucket.
enum Found {
    Yours,
    Missing,
    /// S3 answers 403 both for a bucket of another account and for one the caller may not read.
    NotYours,
}

async fn find_bucket(aws: &Aws, bucket: &str, account: &str) -> Result<Found, Error> {
    match aws
        .s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(_) => Ok(Found::Yours),
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => Ok(Found::Missing),
            Some(403) => Ok(Found::NotYours),
            _ => Err(Error::aws(format!("look up bucket {bucket}"), &e)),
        },
    }
}

async fn check_own_bucket(aws: &Aws, bucket: &str, account: &str) -> Result<(), Error> {
    match find_bucket(aws, bucket, account).await? {
        Found::Yours => Ok(()),
        Found::Missing => Err(Error::ArtifactBucketMissing(bucket.to_owned())),
        Found::NotYours => Err(Error::ArtifactBucketNotYours {
            bucket: bucket.to_owned(),
            account: account.to_owned(),
        }),
    }
}

async fn ensure_bucket(
    aws: &Aws,
    bucket: &str,
    account: &str,
    readers: &Readers,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let not_yours = || Error::ArtifactBucketNotYours {
        bucket: bucket.to_owned(),
        account: account.to_owned(),
    };
    match find_bucket(aws, bucket, account).await? {
        // The readers may have changed (accounts added): the policy is set every time.
        Found::Yours if *readers != Readers::Owner => {
            return put_policy(aws, bucket, account, readers).await;
        }
        Found::Yours => return Ok(()),
        Found::NotYours => return Err(not_yours()),
        Found::Missing => {}
    }
    progress.line(&format!(
        "creating artifact bucket {bucket} (encrypted, public access blocked, TLS only{}, artifacts expire after {ARTIFACT_EXPIRY_DAYS} days)",
        readers.said()
    ));
    let mut create = aws.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that rejects an explicit location constraint.
    if aws.region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws.region.as_str().into())
                .build(),
        );
    }
    if let Err(e) = create.send().await {
        match e.as_service_error() {
            Some(e) if e.is_bucket_already_owned_by_you() => {}
            // Taken since the look-up: by another account.
            Some(e) if e.is_bucket_already_exists() => return Err(not_yours()),
            _ => return Err(Error::aws(format!("create bucket {bucket}"), &e)),
        }
    }
    set_up_bucket(aws, bucket, account, readers).await
}

/// No public access, default encryption, TLS only, and old artifacts expiring.
async fn set_up_bucket(
    aws: &Aws,
    bucket: &str,
    account: &str,
    readers: &Readers,
) -> Result<(), Error> {
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::aws(format!("block public access on bucket {bucket}"), &e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .expect("algorithm is set"),
        )
        .build();
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .expect("rules are set"),
        )
        .send()
        .await
        .map_err(|e| Error::aws(format!("set default encryption on bucket {bucket}"), &e))?;
    put_policy(aws, bucket, account, readers).await?;
    let expire = LifecycleRule::builder()
        .id("enitrunk-artifacts-expire")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(PREFIX).build())
        .expiration(
            LifecycleExpiration::builder()
                .days(ARTIFACT_EXPIRY_DAYS)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .expect("status is set");
    aws.s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(expire)
                .build()
                .expect("rules are set"),
        )
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                format!("set the expiry of old artifacts on bucket {bucket}"),
                &e,
            )
        })?;
    Ok(())
}

async fn put_policy(
    aws: &Aws,
    bucket: &str,
    account: &str,
    readers: &Readers,
) -> Result<(), Error> {
    aws.s3
        .put_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .policy(bucket_policy(bucket, aws.partition(), readers))
        .send()
        .await
        .map_err(|e| Error::aws(format!("set the bucket policy of {bucket}"), &e))?;
    Ok(())
}

/// Who besides the owner may read a bucket's packages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readers {
    Owner,
    /// The principals of one organization (`aws:PrincipalOrgID`), for service-managed stack sets.
    Organization(String),
    /// These accounts, for self-managed stack sets.
    Accounts(Vec<String>),
}

impl Readers {
    fn said(&self) -> String {
        match self {
            Readers::Owner => String::new(),
            Readers::Organization(id) => format!(", readable by organization {id}"),
            Readers::Accounts(a) => format!(", readable by accounts {}", a.join(", ")),
        }
    }
}

/// Denies every request to the bucket and its objects that does not use TLS; lets `readers`
/// get the packages (only the packages: `enitrunk/*`).
fn bucket_policy(bucket: &str, partition: &str, readers: &Readers) -> String {
    let mut statements = vec![serde_json::json!({
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            format!("arn:{partition}:s3:::{bucket}"),
            format!("arn:{partition}:s3:::{bucket}/*"),
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })];
    let packages = format!("arn:{partition}:s3:::{bucket}/{PREFIX}*");
    match readers {
        Readers::Owner => {}
        Readers::Organization(id) => statements.push(serde_json::json!({
            "Sid": "OrganizationReadsPackages",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": packages,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": id}},
        })),
        Readers::Accounts(accounts) => statements.push(serde_json::json!({
            "Sid": "AccountsReadPackages",
            "Effect": "Allow",
            "Principal": {"AWS": accounts
                .iter()
                .map(|a| format!("arn:{partition}:iam::{a}:root"))
                .collect::<Vec<_>>()},
            "Action": "s3:GetObject",
            "Resource": packages,
        })),
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// `enitrunk-org-<account>`: the prefix of a stack set's artifact buckets,
/// `<prefix>-<region>` in each region it deploys to (Lambda reads a package only from its own
/// region). Checked for its owner like [`bucket_name`].
pub fn org_bucket_prefix(account: &str) -> String {
    format!("enitrunk-org-{account}")
}

/// Puts `zip` (named `key`) into `bucket` in `aws`'s region, creating and setting up the bucket
/// on first use, with a policy that lets `readers` get it.
pub async fn upload_shared(
    aws: &Aws,
    account: &str,
    bucket: &str,
    zip: &[u8],
    key: &str,
    readers: &Readers,
    progress: &mut Progress<'_>,
) -> Result<bool, Error> {
    ensure_bucket(aws, bucket, account, readers, progress).await?;
    put_if_missing(aws, account, bucket, zip, key, progress).await
}

/// Empties and deletes a bucket of `account` (one of [`org_bucket_prefix`]'s); `false` when there
/// was none.
pub async fn delete_bucket(aws: &Aws, bucket: &str, account: &str) -> Result<bool, Error> {
    match find_bucket(aws, bucket, account).await? {
        Found::Yours => {}
        Found::Missing => return Ok(false),
        Found::NotYours => {
            return Err(Error::ArtifactBucketNotYours {
                bucket: bucket.to_owned(),
                account: account.to_owned(),
            });
        }
    }
    let listed = aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
        .map_err(|e| Error::aws(format!("list bucket {bucket}"), &e))?;
    for object in listed.contents() {
        let Some(key) = object.key() else { continue };
        aws.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .expected_bucket_owner(account)
            .send()
            .await
            .map_err(|e| Error::aws(format!("delete s3://{bucket}/{key}"), &e))?;
    }
    aws.s3
        .delete_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
        .map_err(|e| Error::aws(format!("delete bucket {bucket}"), &e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_policy_denies_requests_without_tls() {
        let policy: serde_json::Value =
            serde_json::from_str(&bucket_policy("b", "aws-cn", &Readers::Owner)).unwrap();
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(
            statement["Resource"],
            serde_json::json!(["arn:aws-cn:s3:::b", "arn:aws-cn:s3:::b/*"])
        );
        assert_eq!(
            statement["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
    }

    #[test]
    fn shared_buckets_let_only_the_organization_or_the_accounts_read_packages() {
        let org: serde_json::Value = serde_json::from_str(&bucket_policy(
            "b",
            "aws",
            &Readers::Organization("o-abc".into()),
        ))
        .unwrap();
        let read = &org["Statement"][1];
        assert_eq!(read["Effect"], "Allow");
        assert_eq!(read["Action"], "s3:GetObject");
        assert_eq!(read["Resource"], "arn:aws:s3:::b/enitrunk/*");
        assert_eq!(
            read["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            "o-abc"
        );
        let accounts: serde_json::Value = serde_json::from_str(&bucket_policy(
            "b",
            "aws",
            &Readers::Accounts(vec!["111111111111".into(), "222222222222".into()]),
        ))
        .unwrap();
        let read = &accounts["Statement"][1];
        assert_eq!(
            read["Principal"]["AWS"],
            serde_json::json!([
                "arn:aws:iam::111111111111:root",
                "arn:aws:iam::222222222222:root"
            ])
        );
        assert!(read.get("Condition").is_none());
        // The TLS-only deny stays first in both.
        assert_eq!(accounts["Statement"][0]["Sid"], "TlsOnly");
    }

    #[test]
    fn the_same_binary_gives_the_same_zip_and_key() {
        let a = zip_bootstrap(b"\x7fELF not really");
        assert_eq!(a, zip_bootstrap(b"\x7fELF not really"));
        assert_eq!(key_for(&a), key_for(&zip_bootstrap(b"\x7fELF not really")));
        assert_ne!(key_for(&a), key_for(&zip_bootstrap(b"\x7fELF other")));
        assert!(key_for(&a).starts_with("enitrunk/bootstrap-") && key_for(&a).ends_with(".zip"));
    }

    #[test]
    fn the_entry_is_an_executable_bootstrap() {
        let zip = zip_bootstrap(b"#!/bin/sh\n");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
    }
}
