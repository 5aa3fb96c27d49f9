//! `enitrunk validate`: the config and the templates rendered from it, checked offline.

use crate::config::{Origin, Spec};
use crate::error::Error;
use crate::validate::{self, ValidateReport};

pub fn run(spec: &Spec, origin: &Origin) -> Result<ValidateReport, Error> {
    validate::validate(spec, origin)
}
