//! The ENI-trunking custom resource: CloudFormation invokes it, it turns the ECS account setting
//! `awsvpcTrunking` on for the container-instance role, and it always answers.

pub mod aws;
pub mod error;
pub mod handler;
pub mod logging;
pub mod physical_id;
pub mod properties;
pub mod read;
pub mod request;
pub mod response;

pub use aws::{Clients, Tuning};
pub use handler::Function;
