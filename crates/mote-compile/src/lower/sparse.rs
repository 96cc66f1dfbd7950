//! Pruned weights to `SparseGemm` steps: a 1x1 convolution (NCHW, stride 1, no padding, one
//! group) or a Gemm/MatMul with a constant `B` whose weight has at least [`SPARSE_MIN_ZEROS`]
//! zeros runs on the compressed-row kernel (`mote_kernels::fast::spmm`) instead of the dense
//! one. `mote compile --no-sparse` keeps every product dense.
//!
//! A convolution the layout plan puts in the channel-blocked layout stays there (dense): taking
//! a pointwise convolution out of a blocked chain sends its depthwise neighbours to the NCHW
//! kernels, which costs more than the sparse product saves (measured on MobileNetV2, see
//! docs/TRAINING.md). `mote compile --nchw` lets every pruned 1x1 convolution go sparse.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::nn::ConvAttrs;
use mote_kernels::fast::{SPARSE_CHUNK, csr_nnz, csr_pack, csr_panels};
use mote_rt::ops::{Act, encode};

use super::{Lowerer, R};

/// The fraction of zeros from which the sparse kernel is chosen: below it the dense kernels
/// win (measured crossover, `cargo bench -p mote-kernels --bench sparse`; docs/TRAINING.md).
pub const SPARSE_MIN_ZEROS: f32 = 0.6;
/// Smallest weight (values) worth a sparse step; a tiny product is overhead either way.
const MIN_VALUES: usize = 256;
/// Fewest pixels (or batch rows) per product: the kernel vectorizes along them in blocks of up
/// to 64; with 16 pixels a 70%-sparse 1x1 convolution was slower than the dense one.
const MIN_PIXELS: usize = 64;

/// A weight chosen for the sparse kernel: `W [m x k]` row-major (output rows).
pub struct SparseWeight {
    pub m: usize,
    pub k: usize,
    pub w: Vec<f32>,
}

fn zeros(w: &[f32]) -> f32 {
    if w.is_empty() { 0.0 } else { w.iter().filter(|v| **v == 0.0).count() as f32 / w.len() as f32 }
}

fn sparse_enough(w: &[f32], pixels: usize) -> bool {
    w.len() >= MIN_VALUES && pixels >= MIN_PIXELS && zeros(w) >= SPARSE_MIN_ZEROS && zeros(w) < 1.0
}

/// Conv node `n` as `(batch, pixels, weight)` when it is a sparse 1x1 convolution.
pub fn conv(l: &Lowerer<'_>, n: &Node, a: &ConvAttrs) -> Option<(usize, usize, SparseWeight)> {
    if !l.sparse || a.group != 1 {
        return None;
    }
    let (xv, wv, yv) = (n.input(0)?, n.input(1)?, n.outputs.first().copied().flatten()?);
    let wt = l.konst(wv)?;
    let (xt, xd) = l.logical_shape(xv).ok()?;
    let yd = l.logical_shape(yv).ok()?.1;
    let wd = wt.shape().to_vec();
    if xt != DType::F32 || wt.dtype() != DType::F32 || !(3..=4).contains(&xd.len()) || yd.len() != xd.len() {
        return None;
    }
    if wd.len() != xd.len() || wd[2..].iter().any(|&d| d != 1) {
        return None;
    }
    let r = a.window.resolve(&xd[2..], &wd[2..]).ok()?;
    if r.strides.iter().any(|&s| s != 1) || r.pads_begin.iter().chain(&r.pads_end).any(|&p| p != 0) {
        return None;
    }
    let (m, k) = (wd[0], wd[1]);
    let p: usize = xd[2..].iter().product();
    if xd[1] != k || yd[1] != m || yd[2..] != xd[2..] {
        return None;
    }
    let w = wt.to_f32_vec().ok()?;
    sparse_enough(&w, p).then_some((xd[0], p, SparseWeight { m, k, w }))
}

/// The constant `B` (input `bi` of `n`, `[k x n]`, or `[n x k]` when `trans_b`) of a product
/// with `rows` rows of activations, as the sparse weight `Bᵀ`, when it is sparse enough.
pub fn product_weight(l: &Lowerer<'_>, n: &Node, bi: usize, trans_b: bool, rows: usize) -> Option<SparseWeight> {
    if !l.sparse {
        return None;
    }
    let bt = l.konst(n.input(bi)?)?;
    let bd = bt.shape().to_vec();
    if bt.dtype() != DType::F32 || bd.len() != 2 {
        return None;
    }
    let b = bt.to_f32_vec().ok()?;
    if !sparse_enough(&b, rows) {
        return None;
    }
    let (m, k) = if trans_b { (bd[0], bd[1]) } else { (bd[1], bd[0]) };
    let w = if trans_b { b } else { (0..m * k).map(|i| b[(i % k) * m + i / k]).collect() };
    Some(SparseWeight { m, k, w })
}

/// Emits the `SparseGemm` step: `x` and `y` as the mode expects (mode 0: `[batch, k, p]` and
/// `[batch, m, p]`; rows: `[batch, k]` and `[batch, m]`), the bias `[m]` if any.
#[allow(clippy::too_many_arguments)]
pub fn emit(
    l: &mut Lowerer<'_>,
    n: &Node,
    sw: &SparseWeight,
    rows_mode: bool,
    batch: usize,
    p: usize,
    x: usize,
    bias: Option<usize>,
    y: usize,
    act: Act,
) -> R<()> {
    let (m, k) = (sw.m, sw.k);
    let nnz = csr_nnz(&sw.w, m, k);
    let ptrs = csr_panels(k, SPARSE_CHUNK) * m + 1;
    let (mut index, mut vals) = (vec![0u32; ptrs + nnz], vec![0f32; nnz]);
    let (row_ptr, cols) = index.split_at_mut(ptrs);
    csr_pack(&sw.w, m, k, SPARSE_CHUNK, row_ptr, cols, &mut vals);
    let name = n.inputs.get(1).copied().flatten().map_or(n.name.clone(), |v| l.g.value(v).name.clone());
    let vt = l.weight_f32(vec![nnz], &vals, &format!("{name}.sparse_values"));
    let bytes = index.iter().flat_map(|v| v.to_le_bytes()).collect();
    let it = l.p.weight(DType::U32, vec![index.len()], bytes, format!("{name}.sparse_index"));
    let attrs = encode::sparse_gemm(rows_mode, batch, m, k, p, SPARSE_CHUNK, act);
    l.p.step(OpCode::SparseGemm, vec![Some(x), Some(vt), Some(it), bias], vec![y], attrs, &n.name);
    Ok(())
}
