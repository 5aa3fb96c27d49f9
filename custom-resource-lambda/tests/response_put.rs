//! The answer's PUT to the pre-signed `ResponseURL`, against a real local HTTP server.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use custom_resource_lambda::request::{Meta, RequestType};
use custom_resource_lambda::response::{self, MAX_BODY, Outcome, SendError};
use support::{Reply, Server};
use tokio::time::Instant;

/// The shape of a real S3 pre-signed URL: encoded ARN characters and a signature.
const TARGET: &str = "/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/demo/guid%7CTrunking%7Creq?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261122T101500Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200&X-Amz-Credential=AKIA6EXAMPLE%2F20261122%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=0f5e2d6c";

fn meta(server: &Server) -> Meta {
    Meta {
        request_type: Some(RequestType::Create),
        stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/guid".into(),
        request_id: "req-1".into(),
        logical_resource_id: "Trunking".into(),
        physical_resource_id: None,
        response_url: format!("{}{TARGET}", server.url()),
    }
}

async fn put(server: &Server, outcome: &Outcome, budget: Duration) -> Result<u32, SendError> {
    let m = meta(server);
    response::send(
        &reqwest::Client::new(),
        &m.response_url,
        response::body(&m, outcome),
        Duration::from_millis(10),
        Instant::now() + budget,
    )
    .await
}

#[tokio::test]
async fn put_uses_the_exact_url_an_empty_content_type_and_the_full_body() {
    let server = Server::start(|_| Reply::status(200)).await;
    let outcome = Outcome::success(
        "pid-1".into(),
        [("Value".to_owned(), "enabled".to_owned())].into(),
    );
    assert_eq!(
        put(&server, &outcome, Duration::from_secs(5))
            .await
            .unwrap(),
        1
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(
        r.target, TARGET,
        "the pre-signed URL must be used byte for byte"
    );
    assert_eq!(
        r.header("content-type"),
        Some(""),
        "headers: {:?}",
        r.headers
    );
    let body = r.json();
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], "pid-1");
    assert_eq!(
        body["StackId"],
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/guid"
    );
    assert_eq!(body["RequestId"], "req-1");
    assert_eq!(body["LogicalResourceId"], "Trunking");
    assert_eq!(body["Data"]["Value"], "enabled");
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
}

#[tokio::test]
async fn put_is_retried_after_a_500() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = Server::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let outcome = Outcome::failed("pid".into(), "nope");
    assert_eq!(
        put(&server, &outcome, Duration::from_secs(5))
            .await
            .unwrap(),
        2
    );
    let reqs = server.requests();
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the retry sends the same answer"
    );
}

#[tokio::test]
async fn put_gives_up_within_its_budget_when_the_server_keeps_failing() {
    let server = Server::start(|_| Reply::status(503)).await;
    let start = Instant::now();
    let err = put(
        &server,
        &Outcome::failed("pid".into(), "x"),
        Duration::from_millis(600),
    )
    .await
    .unwrap_err();
    let took = start.elapsed();
    let SendError::GaveUp { attempts, last } = err else {
        panic!("expected GaveUp, got {err:?}")
    };
    assert!(attempts >= 3, "{attempts} attempts");
    assert_eq!(last, "HTTP 503");
    assert!(took < Duration::from_millis(700), "took {took:?}");
    assert_eq!(server.requests().len(), attempts as usize);
}

#[tokio::test]
async fn put_is_not_retried_when_the_url_is_refused() {
    let server = Server::start(|_| {
        Reply::with(
            403,
            &[],
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        )
    })
    .await;
    let err = put(
        &server,
        &Outcome::failed("pid".into(), "x"),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SendError::Rejected { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Request has expired"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_and_never_show_the_url() {
    // Bind then drop: nothing listens on this port.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}{TARGET}");
    let err = response::send(
        &reqwest::Client::new(),
        &url,
        "{}".into(),
        Duration::from_millis(10),
        Instant::now() + Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    let SendError::GaveUp { attempts, .. } = err else {
        panic!("expected GaveUp, got {err:?}")
    };
    assert!(attempts >= 2, "{attempts}");
    let printed = format!("{err} {err:?}");
    assert!(
        !printed.contains("X-Amz-Signature"),
        "the bearer URL leaked: {printed}"
    );
}

#[tokio::test]
async fn a_huge_error_message_still_fits_in_4096_bytes() {
    let server = Server::start(|_| Reply::status(200)).await;
    let reason = format!("ecs said: {}", "\"quoted\" détail ".repeat(2_000));
    put(
        &server,
        &Outcome::failed("pid".into(), reason),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let r = &server.requests()[0];
    assert!(r.body.len() <= MAX_BODY, "{} bytes", r.body.len());
    let body = r.json();
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["PhysicalResourceId"], "pid");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with("ecs said: \"quoted\"")
    );
}
