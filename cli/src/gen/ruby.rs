//! wip
use super::model::Package;
use super::Output;
pub(crate) fn generate(_p: &Package) -> Vec<Output> {
    Vec::new()
}
