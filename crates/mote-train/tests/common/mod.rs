//! What several test files share: the shared digits as a dataset.

use std::path::PathBuf;

use mote_train::data::Dataset;

/// The shared digits (`../shared/data/datasets/sklearn_digits`, or `MOTE_SHARED_DATA`), if present.
pub fn digits() -> Option<Dataset> {
    let root = std::env::var_os("MOTE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")));
    let dir = root.join("datasets/sklearn_digits");
    let x = mote_data::read_npy(&dir.join("X.npy")).ok()?;
    let y = mote_data::read_npy(&dir.join("y.npy")).ok()?;
    let labels = y.to_i64_vec().ok()?.into_iter().map(|v| v as usize).collect();
    Dataset::new(x.to_f32_vec().ok()?, x.shape()[1..].to_vec(), labels).ok()
}
