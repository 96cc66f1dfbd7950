//! ONNX import for this op family (not yet implemented: every op here is reported unsupported).

use mote_ir::Op;

use super::{NodeCtx, NodeError};

pub const OPS: &[(&str, &str)] = &[];

pub fn import(_cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    Ok(None)
}
