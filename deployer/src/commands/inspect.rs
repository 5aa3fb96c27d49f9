//! `enitrunk inspect --cluster NAME`: any ECS cluster, enitrunk's or not, read only. Its
//! container instances (trunk, tasks and limits), services (tasks waiting, the latest placement
//! failure), capacity providers, `awsvpcTrunking` as far as the caller may read it, and findings,
//! each with a stable code and the fix.

use std::fmt;

use aws_sdk_ecs::types::SettingName;
use clap::Args;
use serde::Serialize;

use crate::aws::{self, Aws, RemoteArgs};
use crate::cluster::{self, CapacityProvider};
use crate::container_instances::{self, Instance, Table};
use crate::ecs_services::{self, Service};
use crate::error::Error;
use crate::instance_types::{self, Trunking};
use crate::verify;

#[derive(Clone, Debug, Args)]
pub struct InspectArgs {
    /// The ECS cluster to inspect (name or ARN)
    #[arg(long)]
    pub cluster: String,
    /// The container instances' IAM role (name or ARN), to read awsvpcTrunking for it; enitrunk
    /// does not look it up from the instances (that needs EC2's API)
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub cluster: String,
    pub container_instances: Vec<Instance>,
    pub services: Vec<Service>,
    pub capacity_providers: Vec<CapacityProvider>,
    pub trunking: Setting,
    pub findings: Vec<Finding>,
}

/// `awsvpcTrunking` as the caller can read it: its own effective value (the account default
/// unless the caller has a setting of its own), and the role's when it may be read.
#[derive(Debug, Default, Serialize)]
pub struct Setting {
    pub caller_effective: Option<String>,
    pub role_arn: Option<String>,
    pub role: Option<String>,
    /// Why the role's setting could not be read.
    pub role_unreadable: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable: scripts may match on it.
    pub code: &'static str,
    pub subject: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for InspectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.container_instances.len();
        writeln!(
            f,
            "cluster {}: {n} container instance{}",
            self.cluster,
            if n == 1 { "" } else { "s" }
        )?;
        write!(f, "{}", Table(&self.container_instances))?;
        for s in &self.services {
            writeln!(f, "{s}")?;
        }
        for cp in &self.capacity_providers {
            let group = cp
                .auto_scaling_group
                .as_deref()
                .map(|g| format!(", Auto Scaling group {g}"))
                .unwrap_or_default();
            writeln!(f, "capacity provider {} ({}{group})", cp.name, cp.kind)?;
        }
        let t = &self.trunking;
        if let Some(v) = &t.caller_effective {
            writeln!(f, "awsvpcTrunking for your credentials: {v}")?;
        }
        match (&t.role_arn, &t.role, &t.role_unreadable) {
            (Some(arn), Some(v), _) => writeln!(f, "awsvpcTrunking for {arn}: {v}")?,
            (Some(arn), None, Some(why)) => {
                writeln!(f, "awsvpcTrunking for {arn}: cannot read it: {why}")?
            }
            _ => {}
        }
        if self.findings.is_empty() {
            return writeln!(f, "no findings");
        }
        for x in &self.findings {
            writeln!(
                f,
                "[{}] {}: {}\n  fix: {}",
                x.code, x.subject, x.message, x.fix
            )?;
        }
        Ok(())
    }
}

pub async fn run(remote: &RemoteArgs, args: &InspectArgs) -> Result<InspectReport, Error> {
    let (aws, account) = aws::outside(remote).await?;
    let cluster = &args.cluster;
    let providers = cluster::capacity_providers(&aws, cluster).await?;
    let container_instances = container_instances::list(&aws, cluster).await?;
    let services = ecs_services::list(&aws, cluster).await?;
    let role_arn = args
        .role
        .as_deref()
        .map(|r| verify::role_arn(&aws, &account, r));
    let trunking = read_setting(&aws, role_arn).await?;
    let findings = findings(
        cluster,
        &container_instances,
        &services,
        &providers,
        &trunking,
    );
    Ok(InspectReport {
        cluster: cluster.clone(),
        container_instances,
        services,
        capacity_providers: providers,
        trunking,
        findings,
    })
}

async fn read_setting(aws: &Aws, role_arn: Option<String>) -> Result<Setting, Error> {
    let own = aws
        .ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .effective_settings(true)
        .send()
        .await
        .map_err(|e| Error::aws("read awsvpcTrunking (ecs:ListAccountSettings)", &e))?;
    let mut setting = Setting {
        caller_effective: own
            .settings()
            .first()
            .and_then(|s| s.value().map(str::to_owned)),
        ..Setting::default()
    };
    let Some(arn) = role_arn else {
        return Ok(setting);
    };
    match verify::role_setting(aws, &arn).await {
        Ok(v) => setting.role = v,
        Err(why) => setting.role_unreadable = Some(why),
    }
    setting.role_arn = Some(arn);
    Ok(setting)
}

/// What is wrong, in the order a user fixes it: settings and types first, then instances, then
/// the services that wait on them.
fn findings(
    cluster: &str,
    instances: &[Instance],
    services: &[Service],
    providers: &[CapacityProvider],
    setting: &Setting,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let groups: Vec<&str> = providers
        .iter()
        .filter_map(|p| p.auto_scaling_group.as_deref())
        .collect();
    let group = match groups.as_slice() {
        [one] => *one,
        _ => "GROUP",
    };
    let role = setting.role_arn.as_deref().unwrap_or("ROLE_ARN");
    let roll = format!(
        "replace the instances: `enitrunk roll --asg {group} --cluster {cluster} --role {role}` (an Auto Scaling instance refresh, as `aws autoscaling start-instance-refresh --auto-scaling-group-name {group}`)"
    );
    let enable = format!(
        "turn awsvpcTrunking on for the instances' role: `enitrunk enable --role {role}` (or with that role's credentials `aws ecs put-account-setting --name awsvpcTrunking --value enabled`, or as the root user with `--principal-arn {role}`)"
    );
    for p in providers.iter().filter(|p| p.kind == "managed_instances") {
        out.push(Finding {
            code: "managed-instances",
            subject: format!("capacity provider {}", p.name),
            message:
                "ECS Managed Instances: ECS manages the instances and their network interfaces"
                    .into(),
            fix: "nothing to do for trunking on this capacity provider".into(),
        });
    }
    let role_value = setting.role.as_deref();
    if let Some(v) = role_value.filter(|v| *v != "enabled") {
        out.push(Finding {
            code: "setting-off-for-role",
            subject: setting.role_arn.clone().unwrap_or_default(),
            message: format!("awsvpcTrunking is `{v}` for the container instances' role"),
            fix: format!("{enable}; then {roll}"),
        });
    }
    for i in instances {
        let known = instance_types::get(&i.instance_type);
        if let Some(Trunking::Unsupported(why)) = known.map(|t| t.trunking()) {
            let alts: Vec<String> = known
                .map(|t| instance_types::alternatives(t, 3))
                .unwrap_or_default()
                .iter()
                .map(|a| a.name.clone())
                .collect();
            out.push(Finding {
                code: "type-without-trunking",
                subject: format!("{} ({})", i.ec2_instance_id, i.instance_type),
                message: format!("{} cannot use ENI trunking: {why}", i.instance_type),
                fix: format!(
                    "use a type that supports it (similar: {}) in the launch template; then {roll}",
                    alts.join(", ")
                ),
            });
        } else if i.trunk_id.is_none() && i.status == "ACTIVE" && role_value != Some("disabled") {
            out.push(Finding {
                code: "instance-without-trunk",
                subject: format!("{} ({})", i.ec2_instance_id, i.instance_type),
                message: "supports trunking but has no trunk: launched before awsvpcTrunking was on for its role, or it is off".into(),
                fix: format!("if it is off, {enable}; then {roll}"),
            });
        }
    }
    for s in services.iter().filter(|s| s.waits_for_interfaces()) {
        out.push(Finding {
            code: "tasks-wait-for-interfaces",
            subject: format!("service {}", s.name),
            message: format!(
                "{} of {} tasks cannot be placed: the instances ran out of network interfaces (RESOURCE:ENI)",
                s.pending, s.desired
            ),
            fix: format!("{enable}; then {roll}"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, instance_type: &str, trunk: Option<&str>) -> Instance {
        Instance {
            ec2_instance_id: id.into(),
            instance_type: instance_type.into(),
            status: "ACTIVE".into(),
            status_reason: None,
            trunk_id: trunk.map(str::to_owned),
            running_tasks: 2,
            task_limit: Some(2),
            task_limit_without_trunking: Some(2),
            registered_at: None,
            why_no_trunk: None,
        }
    }

    fn group(name: &str) -> CapacityProvider {
        CapacityProvider {
            name: format!("{name}-cp"),
            kind: "auto_scaling_group",
            auto_scaling_group: Some(name.into()),
        }
    }

    #[test]
    fn an_eni_bound_service_on_untrunked_instances_gets_its_codes_and_the_roll_of_its_group() {
        let services = [Service {
            name: "web".into(),
            desired: 6,
            running: 2,
            pending: 4,
            last_placement_failure: Some("(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 1) encountered error \"RESOURCE:ENI\".".into()),
        }];
        let found = findings(
            "web",
            &[
                instance("i-1", "m5.large", None),
                instance("i-2", "t3.large", None),
            ],
            &services,
            &[group("web-asg")],
            &Setting::default(),
        );
        let codes: Vec<&str> = found.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                "instance-without-trunk",
                "type-without-trunking",
                "tasks-wait-for-interfaces"
            ]
        );
        assert!(
            found[2].message.starts_with("4 of 6 tasks"),
            "{:?}",
            found[2]
        );
        assert!(
            found[2]
                .fix
                .starts_with("turn awsvpcTrunking on for the instances' role: `enitrunk enable --role ROLE_ARN`")
                && found[2]
                    .fix
                    .contains("then replace the instances: `enitrunk roll --asg web-asg --cluster web --role ROLE_ARN`"),
            "{:?}",
            found[2]
        );
        assert!(found[1].fix.contains("similar: "), "{:?}", found[1]);
    }

    #[test]
    fn trunked_instances_and_managed_instances_need_nothing_from_trunking() {
        let managed = CapacityProvider {
            name: "mi".into(),
            kind: "managed_instances",
            auto_scaling_group: None,
        };
        let found = findings(
            "web",
            &[instance("i-1", "m5.large", Some("eni-1"))],
            &[],
            &[managed],
            &Setting {
                role_arn: Some("arn:aws:iam::1:role/r".into()),
                role: Some("enabled".into()),
                ..Setting::default()
            },
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "managed-instances");
    }

    #[test]
    fn the_setting_off_for_the_role_is_said_first() {
        let found = findings(
            "web",
            &[instance("i-1", "m5.large", None)],
            &[],
            &[group("g")],
            &Setting {
                role_arn: Some("arn:aws:iam::1:role/ecsInstanceRole".into()),
                role: Some("disabled".into()),
                ..Setting::default()
            },
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "setting-off-for-role");
        assert!(
            found[0].fix.contains(
                "as the root user with `--principal-arn arn:aws:iam::1:role/ecsInstanceRole`"
            ),
            "{:?}",
            found[0]
        );
    }
}
