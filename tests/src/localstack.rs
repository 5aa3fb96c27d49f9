//! The LocalStack the tests run against: found on 127.0.0.1:4566 (`ENITRUNK_LOCALSTACK_PORT`),
//! or set up and started through `localstack/run`, and then stopped when the test process exits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

pub use enitrunk::localstack::healthy;

/// Where LocalStack listens: the same address `localstack/run` binds and `enitrunk --local` uses.
pub fn endpoint() -> String {
    enitrunk::localstack::endpoint()
}

/// The repository root: this package lives in `<root>/tests`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// Progress lines straight to the process's stderr: `eprintln!` inside a test thread is captured
/// by libtest and shown only for failed tests, and a start that takes a minute should be visible.
pub fn progress(msg: &str) {
    let _ = writeln!(std::io::stderr(), "e2e: {msg}");
}

/// Makes sure LocalStack answers, starting it (once per process) if it does not. Panics, never
/// skips: an end-to-end test that did not run must not look like one that passed.
pub fn ensure_running() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if healthy() {
            progress(&format!(
                "using the LocalStack already running at {}",
                endpoint()
            ));
            return;
        }
        start();
    });
}

fn start() {
    let root = repo_root();
    let log = root.join(enitrunk::localstack::log_file());
    let started = Instant::now();
    progress(&format!(
        "LocalStack is not running at {}; starting it with localstack/run (log: {})",
        endpoint(),
        log.display()
    ));
    // The CLI's own runner call; a failure here fails every test, saying how to do it by hand.
    let run = |args: &[&str]| {
        enitrunk::localstack::run(args).unwrap_or_else(|e| {
            panic!(
                "{}; see its output above and the log {}. To run LocalStack by hand: \
                 `localstack/run setup && localstack/run start`, then run the tests again \
                 (they use a LocalStack that is already running)",
                enitrunk::report(&e),
                log.display()
            )
        })
    };
    run(&["setup"]);
    // --owner-pid: the runner leaves a watcher that stops this LocalStack once this process is
    // gone, however it ends (a Ctrl-C or a kill skips `atexit`).
    let pid = std::process::id().to_string();
    run(&["start", "--owner-pid", &pid]);
    // The normal way out: stop it synchronously at exit, so that when `cargo test` returns no
    // LocalStack is left running (the watcher only notices a second later).
    register_stop_at_exit();
    if !healthy() {
        panic!(
            "`localstack/run start` succeeded but {}/_localstack/health does not answer; \
             log: {}",
            endpoint(),
            log.display()
        );
    }
    progress(&format!(
        "LocalStack ready in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
}

unsafe extern "C" {
    /// C `atexit`: libtest leaves `main` (or calls `process::exit` when a test failed) once every
    /// test is done, and both paths run these handlers; statics have no destructors to do it.
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

extern "C" fn stop_localstack() {
    progress("stopping the LocalStack these tests started");
    let _ = enitrunk::localstack::run(&["stop"]);
}

fn register_stop_at_exit() {
    // SAFETY: `stop_localstack` is a plain `extern "C" fn` that does not unwind (it ignores
    // every error), as atexit handlers must.
    if unsafe { atexit(stop_localstack) } != 0 {
        progress("atexit refused the stop handler; the runner's watcher will stop LocalStack");
    }
}
