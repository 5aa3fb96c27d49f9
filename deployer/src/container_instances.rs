//! The container instances of an ECS cluster as enitrunk reports them: trunked or not (the
//! `ecs.awsvpc-trunk-id` attribute), running tasks, the task limits that follow, and, for an
//! instance without a trunk, why and what to do.

use std::fmt;

use aws_sdk_ecs::types::ContainerInstance;
use serde::Serialize;

use crate::aws::Aws;
use crate::error::Error;
use crate::instance_types::{self, Trunking};

/// Attribute ECS sets on a container instance that has a trunk interface.
pub const TRUNK_ATTRIBUTE: &str = "ecs.awsvpc-trunk-id";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub ec2_instance_id: String,
    pub instance_type: String,
    /// `REGISTERING`, `REGISTRATION_FAILED`, `ACTIVE`, `DRAINING`, ...
    pub status: String,
    pub status_reason: Option<String>,
    pub trunk_id: Option<String>,
    pub running_tasks: i32,
    /// awsvpc tasks the instance can hold: with trunking if it has a trunk, else without.
    pub task_limit: Option<u32>,
    pub task_limit_without_trunking: Option<u32>,
    /// Seconds since the epoch.
    #[serde(skip)]
    pub registered_at: Option<i64>,
    /// Why it has no trunk and what to do; `None` when it has one.
    pub why_no_trunk: Option<String>,
}

impl Instance {
    fn from_sdk(ci: &ContainerInstance) -> Instance {
        let attr = |name: &str| {
            ci.attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value().map(str::to_owned))
        };
        let instance_type = attr("ecs.instance-type").unwrap_or_default();
        let trunk_id = attr(TRUNK_ATTRIBUTE);
        let known = instance_types::get(&instance_type);
        Instance {
            ec2_instance_id: ci.ec2_instance_id().unwrap_or_default().to_owned(),
            status: ci.status().unwrap_or_default().to_owned(),
            status_reason: ci.status_reason().map(str::to_owned),
            task_limit: known.and_then(|t| match trunk_id {
                Some(_) => t.tasks_with_trunking(),
                None => Some(t.tasks_without_trunking),
            }),
            task_limit_without_trunking: known.map(|t| t.tasks_without_trunking),
            registered_at: ci.registered_at().map(|t| t.secs()),
            instance_type,
            trunk_id,
            running_tasks: ci.running_tasks_count(),
            why_no_trunk: None,
        }
    }
}

/// What the instance's trunk depends on besides itself.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `awsvpcTrunking` for the instance role now, read as the role.
    pub setting: Option<String>,
    /// When the custom resource last changed the setting (seconds since the epoch).
    pub setting_changed_at: Option<i64>,
    /// For a group outside enitrunk's stacks: `(group, cluster, role)`, so the advice names the
    /// commands for it (`enable --role`, `roll --asg`) rather than the stack's.
    pub outside: Option<(String, String, String)>,
}

impl Context {
    fn roll(&self) -> String {
        match &self.outside {
            Some((group, cluster, role)) => {
                format!("`enitrunk roll --asg {group} --cluster {cluster} --role {role}`")
            }
            None => "`enitrunk roll`".into(),
        }
    }

    fn turn_on(&self) -> String {
        match &self.outside {
            Some((_, _, role)) => format!("`enitrunk enable --role {role}` turns it on"),
            None => "`enitrunk deploy` turns it on".into(),
        }
    }
}

/// Why `i` has no trunk, and what to do; `None` when it has one. The causes, in the order ECS
/// would meet them: registration, the type, the setting for the role, when it registered.
pub fn why_no_trunk(i: &Instance, cx: &Context) -> Option<String> {
    if i.trunk_id.is_some() {
        return None;
    }
    if i.status == "REGISTRATION_FAILED" {
        let reason = i.status_reason.as_deref().unwrap_or("no reason given");
        return Some(format!(
            "registration failed: {reason}; fix that, then {}",
            cx.roll()
        ));
    }
    if let Some(Trunking::Unsupported(why)) =
        instance_types::get(&i.instance_type).map(|t| t.trunking())
    {
        return Some(format!(
            "{} cannot use ENI trunking ({why}); choose supported types in the config (`enitrunk plan` compares them) and deploy",
            i.instance_type
        ));
    }
    let roll = cx.roll();
    if let Some(value) = cx.setting.as_deref().filter(|v| *v != "enabled") {
        return Some(format!(
            "awsvpcTrunking is `{value}` for the instance role; {}, then {roll}",
            cx.turn_on()
        ));
    }
    match (i.registered_at, cx.setting_changed_at) {
        (Some(registered), Some(changed)) if registered < changed => Some(format!(
            "registered {}s before awsvpcTrunking was turned on for its role: only instances launched after get a trunk; {roll} replaces it",
            changed - registered
        )),
        _ => Some(format!(
            "registered while awsvpcTrunking was not effective for its role (turned off for a while, another instance role, or resource-name DNS A records on in its launch template); {roll} replaces it"
        )),
    }
}

/// One line per instance, for `deploy`, `status` and `roll`.
pub struct Table<'a>(pub &'a [Instance]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for i in self.0 {
            let trunk = match (&i.trunk_id, &i.why_no_trunk) {
                (Some(id), _) => format!("trunk {id}"),
                (None, Some(why)) => format!("no trunk: {why}"),
                (None, None) => "no trunk".into(),
            };
            let limit = |l: Option<u32>| l.map_or("?".into(), |l| l.to_string());
            writeln!(
                f,
                "  {}  {}  {}  {}/{} tasks (without trunking {})  {trunk}",
                i.ec2_instance_id,
                i.instance_type,
                i.status,
                i.running_tasks,
                limit(i.task_limit),
                limit(i.task_limit_without_trunking),
            )?;
        }
        Ok(())
    }
}

/// Every container instance of `cluster`, sorted by EC2 instance id.
pub async fn list(aws: &Aws, cluster: &str) -> Result<Vec<Instance>, Error> {
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let page = aws
            .ecs
            .list_container_instances()
            .cluster(cluster)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                Error::aws(format!("list container instances of cluster {cluster}"), &e)
            })?;
        arns.extend(page.container_instance_arns.unwrap_or_default());
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    // DescribeContainerInstances takes at most 100 at a time.
    for chunk in arns.chunks(100) {
        let resp = aws
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                Error::aws(
                    format!("describe container instances of cluster {cluster}"),
                    &e,
                )
            })?;
        out.extend(resp.container_instances().iter().map(Instance::from_sdk));
    }
    out.sort_by(|a, b| a.ec2_instance_id.cmp(&b.ec2_instance_id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(trunk: Option<&str>, status: &str, ty: &str, registered_at: i64) -> Instance {
        Instance {
            ec2_instance_id: "i-0123".into(),
            instance_type: ty.into(),
            status: status.into(),
            status_reason: (status == "REGISTRATION_FAILED").then(|| "no agent".into()),
            trunk_id: trunk.map(Into::into),
            running_tasks: 2,
            task_limit: Some(2),
            task_limit_without_trunking: Some(2),
            registered_at: Some(registered_at),
            why_no_trunk: None,
        }
    }

    fn cx(setting: &str, changed_at: i64) -> Context {
        Context {
            setting: Some(setting.into()),
            setting_changed_at: Some(changed_at),
            outside: None,
        }
    }

    #[test]
    fn outside_enitrunk_the_advice_names_enable_and_roll_of_the_group() {
        let i = instance(None, "ACTIVE", "m5.large", 100);
        let mut outside = cx("disabled", 50);
        outside.outside = Some(("web-asg".into(), "web".into(), "ecsInstanceRole".into()));
        assert_eq!(
            why_no_trunk(&i, &outside).as_deref(),
            Some(
                "awsvpcTrunking is `disabled` for the instance role; `enitrunk enable --role ecsInstanceRole` turns it on, then `enitrunk roll --asg web-asg --cluster web --role ecsInstanceRole`"
            )
        );
    }

    #[test]
    fn a_trunked_instance_needs_no_reason() {
        let i = instance(Some("eni-1"), "ACTIVE", "m5.large", 100);
        assert_eq!(why_no_trunk(&i, &cx("enabled", 50)), None);
    }

    #[test]
    fn each_cause_is_named_with_its_fix() {
        let cases = [
            (
                instance(None, "REGISTRATION_FAILED", "m5.large", 100),
                cx("enabled", 50),
                "registration failed: no agent",
            ),
            (
                instance(None, "ACTIVE", "t3.large", 100),
                cx("enabled", 50),
                "t3.large cannot use ENI trunking",
            ),
            (
                instance(None, "ACTIVE", "m5.large", 100),
                cx("disabled", 50),
                "awsvpcTrunking is `disabled` for the instance role",
            ),
            (
                instance(None, "ACTIVE", "m5.large", 40),
                cx("enabled", 50),
                "registered 10s before awsvpcTrunking was turned on",
            ),
            (
                instance(None, "ACTIVE", "m5.large", 100),
                cx("enabled", 50),
                "registered while awsvpcTrunking was not effective for its role",
            ),
        ];
        for (i, cx, want) in cases {
            let why = why_no_trunk(&i, &cx).unwrap();
            assert!(why.contains(want), "{why}");
        }
    }
}
