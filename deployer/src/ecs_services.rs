//! The services of an ECS cluster as enitrunk reports them: desired, running and pending tasks,
//! and the latest reason ECS gave for not placing one (`RESOURCE:ENI` when interfaces ran out).

use std::fmt;

use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub desired: i32,
    pub running: i32,
    /// Tasks the service wants that do not run yet: ECS's `PENDING` ones (placed, starting) and
    /// those it could not place, which ECS counts nowhere (no task exists until it is placed).
    pub pending: i32,
    /// The newest service event saying a task could not be placed, unless the service has
    /// reached a steady state since.
    pub last_placement_failure: Option<String>,
}

impl Service {
    /// Pending tasks that wait for network interfaces: what trunking fixes.
    pub fn waits_for_interfaces(&self) -> bool {
        self.pending > 0
            && self
                .last_placement_failure
                .as_deref()
                .is_some_and(|m| m.contains("RESOURCE:ENI"))
    }
}

/// One line: the counts, and why tasks wait when some do.
impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service {}: {} desired, {} running, {} pending",
            self.name, self.desired, self.running, self.pending
        )?;
        match &self.last_placement_failure {
            Some(why) if self.pending > 0 => write!(f, "; last placement failure: {why}"),
            _ => Ok(()),
        }
    }
}

/// Whether a service event is ECS saying it could not place a task.
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html>
fn is_placement_failure(message: &str) -> bool {
    message.contains("unable to place a task")
}

/// The newest placement failure among `messages` (newest first) that no steady state followed.
fn last_placement_failure<'a>(messages: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    messages
        .into_iter()
        .take_while(|m| !m.contains("has reached a steady state"))
        .find(|m| is_placement_failure(m))
}

/// Every service of `cluster`, by name.
pub async fn list(aws: &Aws, cluster: &str) -> Result<Vec<Service>, Error> {
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let page = aws
            .ecs
            .list_services()
            .cluster(cluster)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| Error::aws(format!("list services of cluster {cluster}"), &e))?;
        arns.extend(page.service_arns.unwrap_or_default());
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    // DescribeServices takes at most 10 at a time.
    for chunk in arns.chunks(10) {
        let resp = aws
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws(format!("describe services of cluster {cluster}"), &e))?;
        for s in resp.services() {
            out.push(Service {
                name: s.service_name().unwrap_or_default().to_owned(),
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count().max(s.desired_count() - s.running_count()),
                // ECS lists events newest first.
                last_placement_failure: last_placement_failure(
                    s.events().iter().filter_map(|e| e.message()),
                )
                .map(str::to_owned),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_for_interfaces_is_told_apart_from_cpu() {
        let eni = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 0123) encountered error \"RESOURCE:ENI\". For more information, see the Troubleshooting section.";
        let cpu = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 0123) has insufficient CPU units available.";
        let service = |pending, failure: &str| Service {
            name: "web".into(),
            desired: 8,
            running: 8 - pending,
            pending,
            last_placement_failure: is_placement_failure(failure).then(|| failure.to_owned()),
        };
        assert!(service(6, eni).waits_for_interfaces());
        assert!(!service(6, cpu).waits_for_interfaces());
        assert!(!service(0, eni).waits_for_interfaces());
        assert!(!is_placement_failure(
            "(service web) has reached a steady state."
        ));
    }

    #[test]
    fn a_failure_before_the_latest_steady_state_is_not_reported() {
        let eni = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 0123) encountered error \"RESOURCE:ENI\".";
        let steady = "(service web) has reached a steady state.";
        let started = "(service web) has started 2 tasks: (task 1) (task 2).";
        assert_eq!(last_placement_failure([started, eni, steady]), Some(eni));
        assert_eq!(last_placement_failure([steady, started, eni]), None);
        assert_eq!(last_placement_failure([started]), None);
    }
}
