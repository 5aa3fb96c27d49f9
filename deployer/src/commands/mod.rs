//! One module per command: each a short sequence over the library modules below it, returning
//! a result that is both `Display` and `Serialize` for `cli` to print.

pub mod deploy;
pub mod destroy;
pub mod enable;
pub mod init;
pub mod inspect;
pub mod org;
pub mod plan;
pub mod render;
pub mod roll;
pub mod status;
pub mod validate;
