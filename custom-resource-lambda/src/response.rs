//! The answer to CloudFormation: the response body (within the 4096-byte limit) and its PUT to
//! the pre-signed `ResponseURL`, retried on transient failures until the deadline.
//!
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html>

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use reqwest::header::CONTENT_TYPE;
use tokio::time::Instant;

use crate::request::Meta;

/// CloudFormation rejects larger response bodies.
pub const MAX_BODY: usize = 4096;
const TRUNCATED: &str = " [truncated]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    Failed,
}

/// What the function decided, before it is addressed to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub physical_resource_id: String,
    /// Required on FAILED; on SUCCESS a note CloudFormation shows in the events.
    pub reason: Option<String>,
    pub data: BTreeMap<String, String>,
}

impl Outcome {
    pub fn success(physical_resource_id: String, data: BTreeMap<String, String>) -> Self {
        Outcome {
            status: Status::Success,
            physical_resource_id,
            reason: None,
            data,
        }
    }

    pub fn failed(physical_resource_id: String, reason: impl Into<String>) -> Self {
        Outcome {
            status: Status::Failed,
            physical_resource_id,
            reason: Some(reason.into()),
            data: BTreeMap::new(),
        }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The JSON body for `meta`, shortening `Reason` (never the required fields) to fit 4096 bytes.
pub fn body(meta: &Meta, outcome: &Outcome) -> String {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = match outcome.status {
        Status::Success => CloudFormationCustomResourceResponseStatus::Success,
        Status::Failed => CloudFormationCustomResourceResponseStatus::Failed,
    };
    response.reason = outcome.reason.clone();
    response.physical_resource_id = outcome.physical_resource_id.clone();
    response.stack_id = meta.stack_id.clone();
    response.request_id = meta.request_id.clone();
    response.logical_resource_id = meta.logical_resource_id.clone();
    response.data = outcome
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<HashMap<_, _>>();

    // The type writes `"Reason": null` on success; leave the optional field out instead.
    let serialize = |r: &CloudFormationCustomResourceResponse| {
        let mut v = serde_json::to_value(r).expect("a response always serializes");
        if v.get("Reason").is_some_and(serde_json::Value::is_null) {
            v.as_object_mut().map(|o| o.remove("Reason"));
        }
        v.to_string()
    };
    let json = serialize(&response);
    if json.len() <= MAX_BODY {
        return json;
    }
    // Keep the longest prefix of the reason that fits. Escaping makes the wire size differ from
    // the in-memory size, so measure each candidate rather than estimate.
    let full = response.reason.take().unwrap_or_default();
    let with_prefix = |response: &mut CloudFormationCustomResourceResponse, len: usize| {
        response.reason = Some(format!("{}{TRUNCATED}", &full[..len]));
        serialize(response)
    };
    let (mut lo, mut hi) = (0, full.len());
    while lo < hi {
        let mid = floor_char_boundary(&full, (lo + hi).div_ceil(2));
        if mid <= lo {
            break;
        }
        if with_prefix(&mut response, mid).len() <= MAX_BODY {
            lo = mid;
        } else {
            hi = mid - 1;
            hi = floor_char_boundary(&full, hi);
        }
    }
    let json = with_prefix(&mut response, lo);
    if json.len() <= MAX_BODY {
        return json;
    }
    // Only a huge Data can get here; the required fields are what CloudFormation needs.
    response.data.clear();
    serialize(&response)
}

fn floor_char_boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len()))
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the response URL refused the answer with HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
}

/// PUTs `body` to the pre-signed `url` exactly as given, with an empty `Content-Type` (the URL is
/// signed without one), retrying 5xx and connection errors with backoff until `give_up_at`.
/// Returns the number of attempts made.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    body: String,
    first_backoff: Duration,
    give_up_at: Instant,
) -> Result<u32, SendError> {
    let mut backoff = first_backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = give_up_at.saturating_duration_since(Instant::now());
        let result = http
            .put(url)
            .header(CONTENT_TYPE, "")
            .body(body.clone())
            .timeout(remaining.max(Duration::from_millis(100)))
            .send()
            .await;
        let last = match result {
            Ok(r) if r.status().is_success() => return Ok(attempts),
            Ok(r) if r.status().is_server_error() => format!("HTTP {}", r.status().as_u16()),
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                return Err(SendError::Rejected {
                    status,
                    body: text.chars().take(300).collect(),
                });
            }
            // reqwest puts the URL in its errors; the URL is a bearer token.
            Err(e) => e.without_url().to_string(),
        };
        if Instant::now() + backoff >= give_up_at {
            return Err(SendError::GaveUp { attempts, last });
        }
        tracing::warn!(attempt = attempts, error = %last, "answering CloudFormation failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            request_type: Some(crate::request::RequestType::Create),
            stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/guid".into(),
            request_id: "req-1".into(),
            logical_resource_id: "Trunking".into(),
            physical_resource_id: None,
            response_url: "http://127.0.0.1:1/x".into(),
        }
    }

    #[test]
    fn body_has_every_required_field() {
        let mut data = BTreeMap::new();
        data.insert("Value".to_owned(), "enabled".to_owned());
        let out = Outcome::success("pid".into(), data);
        let v: serde_json::Value = serde_json::from_str(&body(&meta(), &out)).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["PhysicalResourceId"], "pid");
        assert_eq!(v["StackId"], meta().stack_id);
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["LogicalResourceId"], "Trunking");
        assert_eq!(v["NoEcho"], false);
        assert_eq!(v["Data"]["Value"], "enabled");
        assert!(v.get("Reason").is_none(), "no null Reason: {v}");
    }

    #[test]
    fn huge_reason_is_truncated_to_the_limit() {
        // Quotes double in size when escaped: the loop must measure, not estimate.
        for filler in ["x", "\"", "é", "\u{1}"] {
            let out = Outcome::failed("pid".into(), filler.repeat(20_000));
            let b = body(&meta(), &out);
            assert!(b.len() <= MAX_BODY, "{filler:?}: {} bytes", b.len());
            let v: serde_json::Value = serde_json::from_str(&b).unwrap();
            assert_eq!(v["Status"], "FAILED");
            assert_eq!(v["PhysicalResourceId"], "pid");
            let reason = v["Reason"].as_str().unwrap();
            assert!(reason.ends_with(TRUNCATED), "{filler:?}");
            assert!(
                b.len() > MAX_BODY - 64,
                "{filler:?}: cut too much ({} bytes)",
                b.len()
            );
        }
    }

    #[test]
    fn small_bodies_are_untouched() {
        let out = Outcome::failed("pid".into(), "short reason");
        let v: serde_json::Value = serde_json::from_str(&body(&meta(), &out)).unwrap();
        assert_eq!(v["Reason"], "short reason");
    }
}
