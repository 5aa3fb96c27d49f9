//! `AWS::Lambda::Function` and `AWS::Lambda::EventInvokeConfig`.

use serde::Serialize;

use super::Expr;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub description: String,
    pub runtime: &'static str,
    pub handler: &'static str,
    pub architectures: Vec<&'static str>,
    pub code: Code,
    pub role: Expr,
    pub timeout: u32,
    pub memory_size: u32,
    pub logging_config: LoggingConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Code {
    pub s3_bucket: Expr,
    pub s3_key: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_group: Expr,
}

/// Retries of an asynchronous invoke: CloudFormation's invoke of a custom resource is one.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    pub function_name: Expr,
    pub qualifier: &'static str,
    pub maximum_retry_attempts: u32,
}
