//! The `enitrunk` command line.

use clap::Parser;

/// Deploy Amazon ECS clusters with ENI trunking turned on, and prove it worked.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    Cli::parse();
}
