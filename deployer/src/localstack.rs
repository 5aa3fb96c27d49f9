//! `--local`: LocalStack on 127.0.0.1:4566 (or `ENITRUNK_LOCALSTACK_PORT`), started through the
//! project's `localstack/run` when it is not answering.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::Error;
use crate::progress::Progress;

/// LocalStack's port for `--local`: 4566, or `ENITRUNK_LOCALSTACK_PORT` (which `localstack/run`
/// also reads), so two checkouts can each run one.
pub fn port() -> u16 {
    std::env::var("ENITRUNK_LOCALSTACK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4566)
}

pub fn endpoint() -> String {
    format!("http://127.0.0.1:{}", port())
}

/// The log `localstack/run` keeps for this port's LocalStack, relative to the source tree.
pub fn log_file() -> String {
    format!(".work/localstack/{}/localstack.log", port())
}

/// True when `/_localstack/health` answers 200.
pub fn healthy() -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port()));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    // A loaded machine can take seconds to answer; `false` here starts (or, from
    // `localstack/run`, restarts) LocalStack, so it is given time.
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if s.write_all(b"GET /_localstack/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 16];
    s.read(&mut head).is_ok_and(|n| {
        head[..n].starts_with(b"HTTP/1.") && head[..n].windows(3).any(|w| w == b"200")
    })
}

/// Starts LocalStack unless it is already up. It keeps running afterwards, for the next
/// command; `localstack/run stop` stops it.
pub fn ensure_running(progress: &mut Progress<'_>) -> Result<(), Error> {
    if healthy() {
        return Ok(());
    }
    progress.line(&format!("LocalStack is not running on {}: starting it with localstack/run (the first time installs it into .work/, about a minute)", endpoint()));
    run(&["setup"])?;
    run(&["start"])?;
    progress.line("LocalStack is up; it stays running (stop it with `localstack/run stop`)");
    Ok(())
}

/// Runs `localstack/run ARGS` in the source tree. Its output goes to stderr, so stdout stays the
/// command's result (`--output json`).
pub fn run(args: &[&str]) -> Result<(), Error> {
    let root = crate::workspace::root().ok_or(Error::NoWorkspace)?;
    let runner = root.join("localstack").join("run");
    let status = Command::new(&runner)
        .args(args)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(Error::io("run", &runner))?;
    if !status.success() {
        return Err(Error::LocalStack(format!(
            "`localstack/run {}` failed ({status}); see {}",
            args.join(" "),
            log_file()
        )));
    }
    Ok(())
}
