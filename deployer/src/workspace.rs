//! The enitrunk source tree: where `cargo build -p custom-resource-lambda` and `localstack/run`
//! are run from.

use std::path::{Path, PathBuf};

/// The current directory or one above it, else the source tree this binary was built from.
pub fn root() -> Option<PathBuf> {
    let is_root =
        |p: &Path| p.join("custom-resource-lambda").is_dir() && p.join("Cargo.toml").is_file();
    if let Ok(cwd) = std::env::current_dir()
        && let Some(found) = cwd.ancestors().find(|p| is_root(p))
    {
        return Some(found.to_owned());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    is_root(built_from).then(|| built_from.to_owned())
}
