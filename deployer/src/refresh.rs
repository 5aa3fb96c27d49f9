//! Auto Scaling instance refresh: start one on a group and follow it to its end, with progress.
//! <https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html>

use std::time::Duration;

use aws_sdk_autoscaling::types::{InstanceRefreshStatus, RefreshPreferences};
use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;
use crate::progress::Progress;

/// How the group is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preferences {
    /// Share of the desired capacity kept in service throughout.
    pub min_healthy_percent: u8,
    /// Share of the desired capacity the group may reach while replacing; above 100, a
    /// replacement launches before the instance it replaces terminates.
    pub max_healthy_percent: u8,
    /// Seconds a new instance gets before it counts as in service.
    pub instance_warmup: Option<u32>,
}

/// How a refresh ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refresh {
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
}

/// Starts a refresh of `group`; an already running one is an error that says how to follow it.
pub async fn start(aws: &Aws, group: &str, prefs: Preferences) -> Result<String, Error> {
    let preferences = RefreshPreferences::builder()
        .min_healthy_percentage(i32::from(prefs.min_healthy_percent))
        .max_healthy_percentage(i32::from(prefs.max_healthy_percent))
        .set_instance_warmup(prefs.instance_warmup.map(|s| s as i32))
        .build();
    let started = aws
        .autoscaling
        .start_instance_refresh()
        .auto_scaling_group_name(group)
        .preferences(preferences)
        .send()
        .await;
    match started {
        Ok(out) => Ok(out.instance_refresh_id().unwrap_or_default().to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_instance_refresh_in_progress_fault()) =>
        {
            Err(Error::RefreshRunning(group.to_owned()))
        }
        Err(e) => Err(Error::aws(
            format!("start an instance refresh of Auto Scaling group {group}"),
            &e,
        )),
    }
}

fn is_terminal(status: &InstanceRefreshStatus) -> bool {
    matches!(
        status,
        InstanceRefreshStatus::Successful
            | InstanceRefreshStatus::Failed
            | InstanceRefreshStatus::Cancelled
            | InstanceRefreshStatus::RollbackSuccessful
            | InstanceRefreshStatus::RollbackFailed
    )
}

/// Follows refresh `id` of `group` until it ends; Ctrl-C stops following, not the refresh.
pub async fn follow(
    aws: &Aws,
    group: &str,
    id: &str,
    progress: &mut Progress<'_>,
) -> Result<Refresh, Error> {
    let watch = async {
        let mut last_status = None;
        let mut delay = Duration::from_millis(500);
        loop {
            let resp = aws
                .autoscaling
                .describe_instance_refreshes()
                .auto_scaling_group_name(group)
                .instance_refresh_ids(id)
                .send()
                .await
                .map_err(|e| {
                    Error::aws(format!("describe instance refresh {id} of {group}"), &e)
                })?;
            let Some(r) = resp.instance_refreshes().first() else {
                return Err(Error::aws_message(
                    format!("describe instance refresh {id} of {group}"),
                    "the refresh is not listed",
                ));
            };
            let status = r
                .status()
                .cloned()
                .unwrap_or(InstanceRefreshStatus::Pending);
            if last_status.as_ref() != Some(&status) {
                progress.line(&format!("instance refresh {id}: {}", status.as_str()));
                last_status = Some(status.clone());
            }
            if is_terminal(&status) {
                progress.finish();
                return Ok(Refresh {
                    id: id.to_owned(),
                    status: status.as_str().to_owned(),
                    status_reason: r.status_reason().map(str::to_owned),
                });
            }
            progress.status(&format!(
                "replacing the instances of {group}: {}% done, {} to update",
                r.percentage_complete().unwrap_or(0),
                r.instances_to_update().unwrap_or(0)
            ));
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(5));
        }
    };
    tokio::select! {
        done = watch => done,
        _ = tokio::signal::ctrl_c() => Err(Error::RefreshInterrupted {
            group: group.to_owned(),
            id: id.to_owned(),
        }),
    }
}
