//! `AWS::Logs::LogGroup`.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub retention_in_days: u32,
}
