//! `enitrunk render`: write the templates, check `templates/` is current, or print one.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::render::{self, RenderReport, Rendered};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write to
    #[arg(long, default_value = "templates")]
    pub out: PathBuf,
    /// Write nothing; fail if the files in --out differ from what would be written
    #[arg(long, conflicts_with = "print")]
    pub check: bool,
    /// Print this template (a file name of templates/, e.g. ecs-cluster.yaml) to stdout instead
    #[arg(long, value_name = "NAME")]
    pub print: Option<String>,
}

pub enum Outcome {
    /// `--print`: the template itself, for stdout.
    Print(Rendered),
    Files(RenderReport),
}

pub fn run(spec: &Spec, origin: &Origin, args: &RenderArgs) -> Result<Outcome, Error> {
    if let Some(name) = &args.print {
        let file = render::find(name).ok_or_else(|| Error::NoSuchTemplate(name.clone()))?;
        return Ok(Outcome::Print(file.render(spec, origin)));
    }
    let rendered = render::render_all(spec, origin);
    Ok(Outcome::Files(if args.check {
        render::check_dir(&args.out, &rendered)?
    } else {
        render::write_dir(&args.out, &rendered)?
    }))
}
