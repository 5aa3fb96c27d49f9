//! Snapshots of both templates for several configs, `templates/` against the code, and cfn-lint
//! over every rendered template.

use std::path::{Path, PathBuf};
use std::process::Command;

use enitrunk::config::{self, Origin};
use enitrunk::render::{self, Rendered};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The configs the snapshots cover: name, origin, rendered templates.
fn cases() -> Vec<(&'static str, Vec<Rendered>)> {
    let mut cases = vec![(
        "demo",
        render::render_all(&config::demo(), &Origin::BuiltIn),
    )];
    for name in ["existing-vpc", "account-default"] {
        let rel = format!("tests/configs/{name}.yaml");
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)).unwrap();
        let spec = config::parse(&rel, &text).unwrap_or_else(|e| panic!("{e}"));
        cases.push((name, render::render_all(&spec, &Origin::File(rel.into()))));
    }
    cases
}

#[test]
fn templates_snapshots() {
    for (name, rendered) in cases() {
        for r in rendered {
            let snapshot = format!("{name}__{}", r.file_name.trim_end_matches(".yaml"));
            insta::assert_snapshot!(snapshot, r.text);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    let a = render::render_all(&config::demo(), &Origin::BuiltIn);
    let b = render::render_all(&config::demo(), &Origin::BuiltIn);
    assert_eq!(a, b);
}

#[test]
fn checked_in_templates_match_the_code() {
    for r in render::render_all(&config::demo(), &Origin::BuiltIn) {
        let path = root().join("templates").join(r.file_name);
        let on_disk =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == r.text,
            "{} is stale: run `cargo run -p enitrunk -- render` and commit templates/",
            path.display()
        );
    }
}

#[test]
fn every_rendered_template_validates() {
    for (name, _) in cases() {
        let spec = if name == "demo" {
            config::demo()
        } else {
            let rel = format!("tests/configs/{name}.yaml");
            let text =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)).unwrap();
            config::parse(&rel, &text).unwrap()
        };
        enitrunk::validate::validate(&spec, &Origin::BuiltIn)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// cfn-lint (pinned, installed by `scripts/cfn-lint` into `.work/`) must report nothing: no
/// errors, no warnings and no informational findings (`--include-checks I`: e.g. I3011, explicit
/// deletion policies), so a new finding is seen the day it appears.
#[test]
fn cfn_lint_passes_on_every_rendered_template() {
    let dir = root().join("target").join("cfn-lint-templates");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, rendered) in cases() {
        for r in rendered {
            let path = dir.join(format!("{name}-{}", r.file_name));
            std::fs::write(&path, &r.text).unwrap();
            files.push(path);
        }
    }
    let out = Command::new(root().join("scripts").join("cfn-lint"))
        .args(["--include-checks", "I", "--"])
        .args(&files)
        .output()
        .expect("run scripts/cfn-lint (needs python3)");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files.len(), 15);
}
