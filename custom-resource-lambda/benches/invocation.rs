//! Cost of one custom-resource invocation of the built `bootstrap`: cold start to answer, warm
//! invocations, and peak memory, against local STS/ECS/Runtime API fakes (so the figures are the
//! function's own overhead, not AWS latency). Run with `cargo bench -p custom-resource-lambda`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::Server;
use support::lambda::*;
use tokio::time::Instant;

const COLD_RUNS: usize = 10;
const WARM_INVOCATIONS: usize = 50;

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Logs go to a pipe; keep it drained so the function never blocks on a full one.
fn drain(child: &mut tokio::process::Child) {
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    tokio::spawn(async move { tokio::io::copy(&mut out, &mut tokio::io::sink()).await });
    tokio::spawn(async move { tokio::io::copy(&mut err, &mut tokio::io::sink()).await });
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let binary = env!("CARGO_BIN_EXE_bootstrap");
    let mut cold = Vec::new();
    let mut peak = 0;
    for _ in 0..COLD_RUNS {
        let aws = Server::start(fake_aws()).await;
        let runtime = Server::start(runtime_api(vec![create_event(&aws, 1, None)])).await;
        let start = Instant::now();
        let mut child = spawn_bootstrap(binary, &runtime, &aws, "info");
        drain(&mut child);
        let put = aws
            .wait_for(1, Duration::from_secs(20), |r| r.method == "PUT")
            .await;
        cold.push(put[0].at - start);
        runtime
            .wait_for(1, Duration::from_secs(5), |r| r.method == "POST")
            .await;
        peak = peak.max(peak_rss_kib(child.id().unwrap()));
        child.kill().await.unwrap();
    }

    let aws = Server::start(fake_aws()).await;
    let events = (0..WARM_INVOCATIONS)
        .map(|i| create_event(&aws, i as u32, None))
        .collect();
    let runtime = Server::start(runtime_api(events)).await;
    let mut child = spawn_bootstrap(binary, &runtime, &aws, "info");
    drain(&mut child);
    let puts = aws
        .wait_for(WARM_INVOCATIONS, Duration::from_secs(60), |r| {
            r.method == "PUT"
        })
        .await;
    let handed: Vec<_> = runtime
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // Each answer measured from the poll that handed out its event.
    let warm: Vec<Duration> = puts
        .iter()
        .zip(&handed)
        .skip(1)
        .map(|(p, g)| p.at - g.at)
        .collect();
    let per_invocation = aws.requests().len() as f64 / WARM_INVOCATIONS as f64;
    peak = peak.max(peak_rss_kib(child.id().unwrap()));
    child.kill().await.unwrap();

    println!("bootstrap: {binary}");
    println!(
        "cold start to answer PUT: median {:.1} ms, max {:.1} ms ({COLD_RUNS} runs)",
        ms(median(cold.clone())),
        ms(*cold.iter().max().unwrap())
    );
    println!(
        "warm invocation to answer PUT: median {:.2} ms ({} invocations)",
        ms(median(warm.clone())),
        warm.len()
    );
    println!(
        "HTTP requests per invocation: {per_invocation:.1} (AssumeRole, PutAccountSetting, ListAccountSettings, PUT)"
    );
    println!("peak RSS: {:.1} MiB", peak as f64 / 1024.0);
}
