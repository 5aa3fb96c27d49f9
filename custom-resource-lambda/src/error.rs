//! Why an operation failed, worded for the `Reason` CloudFormation shows in the stack events.

use std::time::Duration;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::properties::PropertyError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Properties(#[from] PropertyError),
    #[error("malformed request: {0}")]
    Request(String),
    #[error(
        "cannot assume role {role_arn} (denied for {waited_s} s: {message}); its trust policy must allow sts:AssumeRole for this function's role, and the function's role needs sts:AssumeRole on it",
        waited_s = waited.as_secs()
    )]
    AssumeRoleDenied {
        role_arn: String,
        waited: Duration,
        message: String,
    },
    #[error("{action} on {target} failed: {detail}")]
    Aws {
        action: &'static str,
        target: String,
        detail: String,
        /// The AWS error code, for the predicates that classify errors.
        code: Option<String>,
    },
    #[error(
        "{action} of {setting_name} as {principal_arn} was denied ({detail}); that principal's IAM policy must allow {action} for this setting (condition key ecs:account-setting = {setting_name})"
    )]
    SettingDenied {
        action: &'static str,
        setting_name: String,
        principal_arn: String,
        detail: String,
    },
    #[error(
        "ecs:{action} succeeded but the effective {setting_name} for {principal_arn} is `{actual}`, not `{expected}`; check for an account default or SCP that overrides it"
    )]
    NotEffective {
        action: &'static str,
        setting_name: String,
        principal_arn: String,
        expected: String,
        actual: String,
    },
    #[error(
        "physical resource id is {0} bytes, over CloudFormation's 1024; use a shorter role path"
    )]
    PhysicalIdTooLong(usize),
}

impl Error {
    /// Wraps an SDK error with what was being done and on what.
    pub fn aws<E, R>(action: &'static str, target: impl Into<String>, err: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().map(str::to_owned);
        let detail = match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => without_response(&err),
        };
        Error::Aws {
            action,
            target: target.into(),
            detail,
            code,
        }
    }

    /// A refused change of `setting_name` says which permission is missing.
    pub fn for_setting(self, setting_name: &str) -> Error {
        match self {
            Error::Aws {
                action,
                target,
                detail,
                code,
            } if is_access_denied(code.as_deref()) => Error::SettingDenied {
                action,
                setting_name: setting_name.to_owned(),
                principal_arn: target,
                detail,
            },
            other => other,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// An SDK error that carries no AWS error code, described without the response: what
/// `DisplayErrorContext` would print includes the raw body, and a body that failed to parse can
/// be a 200 carrying credentials (`AssumeRole`).
fn without_response<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        // Failures before or while sending: their causes name the endpoint or the timeout.
        SdkError::ConstructionFailure(_)
        | SdkError::TimeoutError(_)
        | SdkError::DispatchFailure(_) => DisplayErrorContext(err).to_string(),
        SdkError::ResponseError(_) => {
            "the response could not be read (it is left out here: it may hold credentials)".into()
        }
        SdkError::ServiceError(_) => {
            "the service answered with an error that has no code (its body is left out here)".into()
        }
        _ => "the request failed for an unknown reason".into(),
    }
}

/// IAM denies `AssumeRole` for a role that is not there yet (propagation) or no longer there.
pub fn is_access_denied(code: Option<&str>) -> bool {
    matches!(code, Some("AccessDenied" | "AccessDeniedException"))
}

/// ECS has nothing to delete: the principal never had a setting of its own.
pub fn is_setting_gone(err: &Error) -> bool {
    match err {
        Error::Aws { code, detail, .. } => {
            matches!(code.as_deref(), Some("ResourceNotFoundException"))
                || (matches!(
                    code.as_deref(),
                    Some("InvalidParameterException" | "ClientException")
                ) && {
                    // ECS says so only in the message; the wording differs between setting types.
                    let d = detail.to_ascii_lowercase();
                    d.contains("not found") || d.contains("does not exist")
                })
        }
        _ => false,
    }
}
