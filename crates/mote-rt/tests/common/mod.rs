//! Pieces of the load-time validation tests: plain tensor descriptions and loading bytes.

use mote_core::DType;
use mote_format::write::TensorDesc;
use mote_format::{Layout, Storage};
use mote_rt::host::AlignedBuf;
use mote_rt::{RtError, Runtime};

/// A plain arena tensor of `dtype` and `dims` at `offset` (weights get their own offset when
/// passed to `Builder::weight`).
pub fn desc(dtype: DType, dims: &[u32], offset: u64) -> TensorDesc {
    let n: u64 = dims.iter().map(|&d| d as u64).product();
    TensorDesc {
        dtype,
        dims: dims.to_vec(),
        storage: Storage::Arena,
        layout: Layout::Plain,
        layout_param: 0,
        offset,
        nbytes: n * dtype.size().unwrap_or(1) as u64,
        name: "t".into(),
    }
}

/// Whether the file loads.
#[allow(dead_code)] // not every test file loads whole files
pub fn load_bytes(bytes: &[u8]) -> Result<(), RtError> {
    let buf = AlignedBuf::from_bytes(bytes);
    Runtime::load(buf.as_ref()).map(|_| ())
}
