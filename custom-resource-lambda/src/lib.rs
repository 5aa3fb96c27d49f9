//! The ENI-trunking custom resource: CloudFormation invokes it, it turns the ECS account setting
//! `awsvpcTrunking` on for the container-instance role, and it always answers.

pub mod physical_id;
pub mod properties;
