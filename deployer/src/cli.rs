//! Command-line arguments and the commands that need no AWS account: `init`, `plan`, `render`,
//! `validate`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::config::{self, Origin, Spec};
use crate::error::Error;
use crate::plan::{self, Workload};
use crate::render::{self, Rendered};
use crate::template::{Expr, Template};

/// Deploy Amazon ECS clusters with ENI trunking turned on, and prove it worked.
#[derive(Debug, Parser)]
#[command(name = "enitrunk", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Config file [default: ./enitrunk.yaml if it exists, else the built-in demo config]
    #[arg(long, global = true, env = "ENITRUNK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format of the command's result
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter enitrunk.yaml
    Init {
        /// Where to write it
        #[arg(long, default_value = config::DEFAULT_FILE)]
        path: PathBuf,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Tasks per instance without and with trunking, and instances needed, per instance type
    Plan(PlanArgs),
    /// Write the CloudFormation templates (or print one, or check templates/ is current)
    Render {
        /// Directory to write to
        #[arg(long, default_value = "templates")]
        out: PathBuf,
        /// Write nothing; fail if the files in --out differ from what would be written
        #[arg(long, conflicts_with = "print")]
        check: bool,
        /// Print this template (eni-trunking.yaml or ecs-cluster.yaml) to stdout instead
        #[arg(long, value_name = "NAME")]
        print: Option<String>,
    },
    /// Check the config and the templates rendered from it; no AWS calls
    Validate,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Instance type to compare (repeatable) [default: the config's types and a spread of others]
    #[arg(long = "instance-type", short = 't', value_name = "TYPE")]
    pub instance_types: Vec<String>,
    /// Task CPU units (1024 = 1 vCPU) [default: from the config]
    #[arg(long)]
    pub cpu: Option<u32>,
    /// Task memory in MiB [default: from the config]
    #[arg(long)]
    pub memory: Option<u32>,
    /// Number of tasks to place [default: the config services' desired counts]
    #[arg(long)]
    pub count: Option<u32>,
}

/// Runs a command, writing its result to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Error> {
    let json = cli.global.output == Output::Json;
    match cli.command {
        Command::Init { path, force } => init(&path, force, json, out),
        Command::Plan(args) => {
            let (spec, _) = config::load(cli.global.config.as_deref())?;
            let plan = plan_command(&spec, &args)?;
            emit(out, json, &plan, &plan)
        }
        Command::Render {
            out: dir,
            check,
            print,
        } => {
            let (spec, origin) = config::load(cli.global.config.as_deref())?;
            let rendered = render::render_all(&spec, &origin);
            if let Some(name) = print {
                let r = rendered
                    .iter()
                    .find(|r| {
                        r.file_name == name || name.strip_prefix("templates/") == Some(r.file_name)
                    })
                    .ok_or(Error::NoSuchTemplate(name))?;
                return out
                    .write_all(r.text.as_bytes())
                    .map_err(Error::io("write", "stdout"));
            }
            let report = if check {
                check_dir(&dir, &rendered)?
            } else {
                write_dir(&dir, &rendered)?
            };
            emit(out, json, &report, &report)
        }
        Command::Validate => {
            let (spec, origin) = config::load(cli.global.config.as_deref())?;
            let report = validate(&spec, &origin)?;
            emit(out, json, &report, &report)
        }
    }
}

fn emit<T: Serialize>(
    out: &mut dyn Write,
    json: bool,
    value: &T,
    text: &dyn std::fmt::Display,
) -> Result<(), Error> {
    let result = if json {
        serde_json::to_writer_pretty(&mut *out, value)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write!(out, "{text}")
    };
    result.map_err(Error::io("write", "stdout"))
}

#[derive(Serialize)]
struct Written {
    path: PathBuf,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "wrote {}: edit it, then `enitrunk validate` and `enitrunk plan`",
            self.path.display()
        )
    }
}

fn init(path: &Path, force: bool, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    if path.exists() && !force {
        return Err(Error::Exists(path.to_owned()));
    }
    std::fs::write(path, config::STARTER).map_err(Error::io("write", path))?;
    let w = Written {
        path: path.to_owned(),
    };
    emit(out, json, &w, &w)
}

pub fn plan_command(spec: &Spec, args: &PlanArgs) -> Result<plan::Plan, Error> {
    let from_config = Workload::from_spec(spec);
    let workload = match (args.cpu, args.memory, &from_config) {
        (Some(cpu), Some(memory), _) => Workload {
            task_cpu: cpu,
            task_memory: memory,
            task_count: args
                .count
                .or(from_config.as_ref().map(|w| w.task_count))
                .unwrap_or(1),
            source: "command line".into(),
        },
        (cpu, memory, Some(w)) => Workload {
            task_cpu: cpu.unwrap_or(w.task_cpu),
            task_memory: memory.unwrap_or(w.task_memory),
            task_count: args.count.unwrap_or(w.task_count),
            source: if cpu.is_some() || memory.is_some() || args.count.is_some() {
                format!("{}, with command-line overrides", w.source)
            } else {
                w.source.clone()
            },
        },
        (_, _, None) => {
            return Err(plan::PlanError::Workload(
                "the config has no tasks: pass --cpu and --memory (and --count)".into(),
            )
            .into());
        }
    };
    let names: Vec<String> = if args.instance_types.is_empty() {
        let mut names: Vec<String> = spec
            .cluster
            .instance_types
            .iter()
            .map(|t| t.name.clone())
            .collect();
        for d in plan::DEFAULT_TYPES {
            if !names.iter().any(|n| n == d) {
                names.push((*d).to_owned());
            }
        }
        names
    } else {
        args.instance_types.clone()
    };
    let types = plan::resolve_types(&names)?;
    Ok(plan::plan(workload, &types)?)
}

#[derive(Debug, Serialize)]
pub struct RenderReport {
    pub dir: PathBuf,
    pub checked: bool,
    pub files: Vec<FileState>,
}

#[derive(Debug, Serialize)]
pub struct FileState {
    pub file: String,
    pub state: &'static str,
}

impl std::fmt::Display for RenderReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in &self.files {
            writeln!(f, "{}: {}", self.dir.join(&file.file).display(), file.state)?;
        }
        Ok(())
    }
}

fn write_dir(dir: &Path, rendered: &[Rendered]) -> Result<RenderReport, Error> {
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let mut files = Vec::new();
    for r in rendered {
        let path = dir.join(r.file_name);
        let state = match std::fs::read_to_string(&path) {
            Ok(old) if old == r.text => "unchanged",
            Ok(_) => "updated",
            Err(_) => "written",
        };
        if state != "unchanged" {
            std::fs::write(&path, &r.text).map_err(Error::io("write", &path))?;
        }
        files.push(FileState {
            file: r.file_name.to_owned(),
            state,
        });
    }
    Ok(RenderReport {
        dir: dir.to_owned(),
        checked: false,
        files,
    })
}

fn check_dir(dir: &Path, rendered: &[Rendered]) -> Result<RenderReport, Error> {
    let mut stale = Vec::new();
    let mut files = Vec::new();
    for r in rendered {
        let path = dir.join(r.file_name);
        let state = match std::fs::read_to_string(&path) {
            Ok(old) if old == r.text => "up to date",
            Ok(_) => "stale",
            Err(_) => "missing",
        };
        if state != "up to date" {
            stale.push(format!("{} ({state})", r.file_name));
        }
        files.push(FileState {
            file: r.file_name.to_owned(),
            state,
        });
    }
    if !stale.is_empty() {
        return Err(Error::Stale {
            dir: dir.to_owned(),
            files: stale,
        });
    }
    Ok(RenderReport {
        dir: dir.to_owned(),
        checked: true,
        files,
    })
}

#[derive(Debug, Serialize)]
pub struct ValidateReport {
    pub config: Origin,
    pub stack_name: String,
    pub instance_types: Vec<String>,
    pub templates: Vec<TemplateSummary>,
}

#[derive(Debug, Serialize)]
pub struct TemplateSummary {
    pub file: &'static str,
    pub resources: usize,
    pub bytes: usize,
}

impl std::fmt::Display for ValidateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "config {}: ok (stack {}, instance types {})",
            self.config,
            self.stack_name,
            self.instance_types.join(", ")
        )?;
        for t in &self.templates {
            writeln!(
                f,
                "template {}: ok ({} resources, {} bytes)",
                t.file, t.resources, t.bytes
            )?;
        }
        Ok(())
    }
}

/// CloudFormation's template body limit for `--template-body`; larger needs an S3 upload.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

pub fn validate(spec: &Spec, origin: &Origin) -> Result<ValidateReport, Error> {
    let mut problems = Vec::new();
    let mut templates = Vec::new();
    for (file, template) in [
        (render::ENI_TRUNKING_FILE, render::eni_trunking(spec)),
        (render::ECS_CLUSTER_FILE, render::ecs_cluster(spec)),
    ] {
        problems.extend(
            template
                .check_references()
                .into_iter()
                .map(|p| format!("{file}: {p}")),
        );
        if let Err(e) = custom_resource_accepts(&template) {
            problems.push(format!(
                "{file}: the custom resource function would reject EniTrunking's properties: {e}"
            ));
        }
        let bytes = template.to_yaml("").len();
        if bytes > TEMPLATE_BODY_LIMIT {
            problems.push(format!("{file}: {bytes} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT}-byte template body limit"));
        }
        templates.push(TemplateSummary {
            file,
            resources: template.resources.len(),
            bytes,
        });
    }
    if !problems.is_empty() {
        return Err(Error::Template(problems));
    }
    Ok(ValidateReport {
        config: origin.clone(),
        stack_name: spec.stack_name.clone(),
        instance_types: spec
            .cluster
            .instance_types
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        templates,
    })
}

/// Resolves the custom resource's properties the way CloudFormation would (parameters to their
/// defaults, attributes to examples, every value to a string) and runs the Lambda's own parser.
fn custom_resource_accepts(template: &Template) -> Result<(), String> {
    let Some(resource) = template.resources.get("EniTrunking") else {
        return Err("no EniTrunking resource".into());
    };
    let value = serde_json::to_value(&resource.properties).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = value else {
        return Err("properties are not a map".into());
    };
    let mut resolved = serde_json::Map::new();
    for (k, v) in map {
        let expr: Expr = match &v {
            serde_json::Value::Object(m) if m.len() == 1 => {
                let (kind, arg) = m.iter().next().expect("one entry");
                let arg = arg.as_str().unwrap_or_default();
                match kind.as_str() {
                    "Ref" => Expr::Str(
                        template
                            .parameters
                            .get(arg)
                            .and_then(|p| p.default.clone())
                            .unwrap_or_else(|| format!("example-{arg}")),
                    ),
                    "GetAtt" if arg.ends_with(".Arn") && arg.starts_with("InstanceRole") => {
                        Expr::Str("arn:aws:iam::123456789012:role/example".into())
                    }
                    "GetAtt" => {
                        Expr::Str("arn:aws:lambda:us-east-1:123456789012:function:example".into())
                    }
                    other => {
                        return Err(format!(
                            "{k} uses {other}, which this check does not resolve"
                        ));
                    }
                }
            }
            serde_json::Value::String(s) => Expr::Str(s.clone()),
            serde_json::Value::Number(n) => Expr::Str(n.to_string()),
            other => return Err(format!("{k} is {other}, not a scalar")),
        };
        let Expr::Str(s) = expr else {
            unreachable!("resolved to a string")
        };
        resolved.insert(k, serde_json::Value::String(s));
    }
    custom_resource_lambda::properties::ResourceProperties::from_json(&serde_json::Value::Object(
        resolved,
    ))
    .and_then(|p| p.validate())
    .map(|_| ())
    .map_err(|e| e.to_string())
}
