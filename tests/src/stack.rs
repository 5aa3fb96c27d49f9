//! CloudFormation stack helpers: create, update, delete, and wait for a terminal status with a
//! deadline, dumping the stack events into the panic message when the result is not the one
//! expected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use aws_sdk_cloudformation::types::{Capability, Parameter, StackEvent, StackStatus};

/// How long a create, update or delete of the trunking stack may take before the test fails.
/// LocalStack runs it in seconds; the custom resource's own ServiceTimeout is 300 s, so a hung
/// function fails here first, with the events so far.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// A stack name unique to this test, this process and this moment, so tests run in parallel and
/// again against a long-lived LocalStack without meeting each other's stacks.
pub fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect();
    // Time and pid keep runs apart, the counter keeps the calls of one run apart.
    format!(
        "e2e-{test}-{}-{}-{}",
        secs % 1_000_000,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where a stack operation ended.
#[derive(Debug, Clone)]
pub struct Settled {
    pub stack_id: String,
    pub status: StackStatus,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub elapsed: Duration,
}

impl Settled {
    /// The output `key`; panics naming the outputs there are.
    pub fn output(&self, key: &str) -> &str {
        self.outputs.get(key).unwrap_or_else(|| {
            panic!(
                "stack {} has no output {key}; outputs: {:?}",
                self.stack_id, self.outputs
            )
        })
    }
}

fn parameters(params: &[(&str, &str)]) -> Vec<Parameter> {
    params
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(*v)
                .build()
        })
        .collect()
}

fn capabilities() -> [Capability; 2] {
    [Capability::CapabilityIam, Capability::CapabilityNamedIam]
}

/// Creates `name` and returns its stack id (without waiting).
pub async fn create(cfn: &Client, name: &str, template: &str, params: &[(&str, &str)]) -> String {
    let out = cfn
        .create_stack()
        .stack_name(name)
        .template_body(template)
        .set_parameters(Some(parameters(params)))
        .set_capabilities(Some(capabilities().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create stack {name}: {}", DisplayErrorContext(&e)));
    out.stack_id()
        .unwrap_or_else(|| panic!("CreateStack {name} returned no stack id"))
        .to_owned()
}

/// Updates the stack (without waiting).
pub async fn update(cfn: &Client, stack_id: &str, template: &str, params: &[(&str, &str)]) {
    cfn.update_stack()
        .stack_name(stack_id)
        .template_body(template)
        .set_parameters(Some(parameters(params)))
        .set_capabilities(Some(capabilities().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("update stack {stack_id}: {}", DisplayErrorContext(&e)));
}

/// Deletes the stack (without waiting).
pub async fn delete(cfn: &Client, stack_id: &str) {
    cfn.delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete stack {stack_id}: {}", DisplayErrorContext(&e)));
}

/// Any status that is not `*_IN_PROGRESS` (which covers `*_CLEANUP_IN_PROGRESS`) is where an
/// operation ends.
pub fn is_terminal(status: &StackStatus) -> bool {
    !status.as_str().ends_with("_IN_PROGRESS")
}

/// Polls until the stack reaches a terminal status: every 100 ms at first (LocalStack is fast),
/// backing off to 1 s, and panicking with the events once `timeout` has passed.
pub async fn wait(cfn: &Client, stack_id: &str, timeout: Duration) -> Settled {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        let described = cfn
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe stack {stack_id}: {}", DisplayErrorContext(&e)));
        let stack = described
            .stacks()
            .first()
            .unwrap_or_else(|| panic!("DescribeStacks {stack_id} returned no stack"));
        let status = stack
            .stack_status()
            .unwrap_or_else(|| panic!("stack {stack_id} has no status"))
            .clone();
        if is_terminal(&status) {
            let outputs = stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect();
            return Settled {
                stack_id: stack_id.to_owned(),
                status,
                reason: stack.stack_status_reason().map(str::to_owned),
                outputs,
                elapsed: started.elapsed(),
            };
        }
        if started.elapsed() >= timeout {
            panic!(
                "stack {stack_id} still {status} after {timeout:?}\n{}",
                format_events(&events(cfn, stack_id).await)
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(1));
    }
}

/// Waits and asserts the terminal status is `want`; on any other, panics with the events.
pub async fn expect(cfn: &Client, stack_id: &str, want: StackStatus) -> Settled {
    let settled = wait(cfn, stack_id, DEFAULT_TIMEOUT).await;
    if settled.status != want {
        panic!(
            "stack {stack_id} ended {} ({}), expected {want}\n{}",
            settled.status,
            settled.reason.as_deref().unwrap_or("no reason"),
            format_events(&events(cfn, stack_id).await)
        );
    }
    settled
}

/// The stack's events, oldest first.
pub async fn events(cfn: &Client, stack_id: &str) -> Vec<StackEvent> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "describe stack events {stack_id}: {}",
                    DisplayErrorContext(&e)
                )
            });
        all.extend(page.stack_events().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // CloudFormation lists the newest first.
    all.reverse();
    all
}

/// One line per event: `logical (physical) STATUS: reason`, oldest first.
pub fn format_events(events: &[StackEvent]) -> String {
    let mut out = String::from("stack events (oldest first):");
    for e in events {
        out.push_str(&format!(
            "\n  {} ({}) {}",
            e.logical_resource_id().unwrap_or("?"),
            e.physical_resource_id().unwrap_or(""),
            e.resource_status().map(|s| s.as_str()).unwrap_or("?"),
        ));
        if let Some(reason) = e.resource_status_reason().filter(|r| !r.is_empty()) {
            out.push_str(": ");
            out.push_str(reason);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_stack_names_and_differ() {
        let a = unique_name("create_then_delete");
        let b = unique_name("create_then_delete");
        assert_ne!(a, b);
        assert!(a.len() <= 128, "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }

    #[test]
    fn cleanup_in_progress_is_not_terminal() {
        assert!(!is_terminal(&StackStatus::UpdateCompleteCleanupInProgress));
        assert!(!is_terminal(&StackStatus::CreateInProgress));
        assert!(is_terminal(&StackStatus::RollbackComplete));
        assert!(is_terminal(&StackStatus::CreateFailed));
    }
}
