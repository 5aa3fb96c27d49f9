//! A CloudFormation stack event as enitrunk shows it, and the root cause among a failure's
//! events. Used by both `stack` (which follows events) and `error` (which reports the cause).

use std::fmt;

use aws_sdk_cloudformation::types::StackEvent;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl From<&StackEvent> for Event {
    fn from(e: &StackEvent) -> Event {
        let time = e
            .timestamp
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .map(|t| t.get(11..19).unwrap_or(&t).to_owned())
            .unwrap_or_default();
        Event {
            time,
            logical_id: e.logical_resource_id.clone().unwrap_or_default(),
            resource_type: e.resource_type.clone().unwrap_or_default(),
            status: e
                .resource_status
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason.clone().filter(|r| !r.is_empty()),
        }
    }
}

impl Event {
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<20}  {} ({})",
            self.time, self.status, self.logical_id, self.resource_type
        )?;
        if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}

/// The first resource that failed, skipping the cascade ("Resource creation cancelled",
/// "The following resource(s) failed to ...") that follows it.
pub fn root_cause(events: &[Event]) -> Option<&Event> {
    events.iter().find(|e| {
        e.status.ends_with("_FAILED")
            && !e.is_stack()
            && !e.reason.as_deref().is_some_and(|r| {
                r.contains("cancelled") || r.contains("The following resource(s) failed")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, ty: &str, status: &str, reason: Option<&str>) -> Event {
        Event {
            time: "12:00:00".into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(Into::into),
        }
    }

    #[test]
    fn root_cause_skips_the_cascade() {
        let events = vec![
            ev(
                "demo",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                Some("User Initiated"),
            ),
            ev("InstanceRole", "AWS::IAM::Role", "CREATE_COMPLETE", None),
            ev(
                "Queue",
                "AWS::SQS::Queue",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev(
                "EniTrunking",
                "Custom::EniTrunking",
                "CREATE_FAILED",
                Some("setting name `x` is not an ECS account setting"),
            ),
            ev(
                "demo",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [EniTrunking]"),
            ),
        ];
        assert_eq!(root_cause(&events).unwrap().logical_id, "EniTrunking");
    }
}
