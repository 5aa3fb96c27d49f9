//! The `bootstrap` binary Lambda runs for the `provided.al2023` runtime.

use custom_resource_lambda::{Function, logging};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = Function::from_env().await?;
    lambda_runtime::run(service_fn(|event| function.handle(event))).await
}
