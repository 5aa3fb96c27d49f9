//! The Lambda deployment package: the freshly built `bootstrap` zipped reproducibly and uploaded
//! to the artifact bucket under a content-addressed key.

use std::io::{Cursor, Write};
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Bucket the tests upload the function code to (created on first use).
pub const ARTIFACT_BUCKET: &str = "enitrunk-e2e-artifacts";

/// Where the function code is: the template's `CodeBucket` and `CodeKey`.
#[derive(Debug, Clone)]
pub struct CodeLocation {
    pub bucket: String,
    pub key: String,
}

/// A zip with one entry, `bootstrap`, mode 0755 (Lambda reports `Runtime.InvalidEntrypoint`
/// without the executable bit) and the zip epoch as its time, so the same binary always gives
/// the same bytes and the same key.
pub fn zip_bootstrap(binary: &[u8]) -> Vec<u8> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(DateTime::DEFAULT);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("bootstrap", options)
        .expect("start the bootstrap zip entry");
    zip.write_all(binary).expect("write bootstrap into the zip");
    zip.finish().expect("finish the zip").into_inner()
}

/// `bootstrap-<first 16 hex digits of the zip's SHA-256>.zip`.
pub fn key_for(zip: &[u8]) -> String {
    let digest = Sha256::digest(zip);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("bootstrap-{hex}.zip")
}

/// Zips `binary` and uploads it unless an object with that key is already there (a long-lived
/// LocalStack keeps it between runs).
pub async fn upload(s3: &aws_sdk_s3::Client, binary: &Path) -> CodeLocation {
    let bytes = std::fs::read(binary).unwrap_or_else(|e| {
        panic!(
            "cannot read the bootstrap binary {} ({e}); cargo builds it before the tests",
            binary.display()
        )
    });
    let zip = zip_bootstrap(&bytes);
    let location = CodeLocation {
        bucket: ARTIFACT_BUCKET.to_owned(),
        key: key_for(&zip),
    };
    ensure_bucket(s3, &location.bucket).await;
    let exists = s3
        .head_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .send()
        .await
        .is_ok();
    if !exists {
        s3.put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .body(ByteStream::from(zip))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "upload s3://{}/{}: {}",
                    location.bucket,
                    location.key,
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
    location
}

async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return;
    }
    if let Err(e) = s3.create_bucket().bucket(bucket).send().await {
        // Another test process may have created it in between.
        let owned = e
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you());
        if !owned {
            panic!(
                "create bucket {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_binary_gives_the_same_zip_and_key() {
        let a = zip_bootstrap(b"\x7fELF not really");
        let b = zip_bootstrap(b"\x7fELF not really");
        assert_eq!(a, b);
        assert_eq!(key_for(&a), key_for(&b));
        assert_ne!(key_for(&a), key_for(&zip_bootstrap(b"\x7fELF other")));
    }

    #[test]
    fn the_entry_is_an_executable_bootstrap() {
        let zip = zip_bootstrap(b"#!/bin/sh\n");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("read back the zip");
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).expect("entry 0");
        assert_eq!(entry.name().expect("entry name"), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
    }
}
