//! Pruned int8 weights to `Q8Sparse` steps: a 1x1 convolution (stride 1, no padding, one
//! group) or fully connected layer whose weights, cut into blocks of four input channels, are
//! at least [`Q8_SPARSE_MIN_EMPTY`] empty (and that has at least 64 input and output channels and 64 rows) runs on the block-sparse kernel
//! (`mote_kernels::fast::int8::sparse_conv`) instead of `Q8Conv`. `mote compile --no-sparse`
//! keeps it dense.

use mote_core::DType;
use mote_format::OpCode;
use mote_kernels::fast::int8::{Conv2d, q8_blocks_nnz, q8_blocks_pack};
use mote_rt::ops::encode;

use super::{Lowerer, i32s};

/// The fraction of empty four-channel blocks from which the block-sparse kernel is chosen
/// (measured crossover against the dense VNNI kernel, `cargo bench -p mote-kernels --bench
/// int8_sparse`; docs/TRAINING.md).
pub const Q8_SPARSE_MIN_EMPTY: f32 = 0.6;
/// Fewest rows (pixels times batch): the kernel works on blocks of 64 rows.
const MIN_ROWS: usize = 64;
/// Fewest input and output channels: with fewer inputs each output has too few multiply-adds
/// for the skipped blocks to pay for the transposes (a 16 -> 96 expansion of MobileNetV2 ran no
/// faster), with fewer outputs the activations' transpose is shared by too few of them (a
/// 144 -> 16 projection ran 1.6x slower).
const MIN_CHANNELS: usize = 64;

/// Emits `Q8Sparse` for the convolution `g` with OHWI weights `w` when it qualifies (`true`),
/// else nothing (`false`).
#[allow(clippy::too_many_arguments)]
pub(super) fn try_emit(
    l: &mut Lowerer<'_>,
    g: &Conv2d,
    x: usize,
    x_zp: i32,
    w: &[i8],
    (bias, mult, shift): (&[i32], &[i32], &[i32]),
    y: usize,
    (y_zp, lo, hi): (i32, i32, i32),
    name: &str,
) -> bool {
    let pointwise = (g.groups, g.kh, g.kw, g.sh, g.sw, g.pad_top, g.pad_left) == (1, 1, 1, 1, 1, 0, 0)
        && (g.oh, g.ow) == (g.h, g.w);
    let rows = g.n * g.h * g.w;
    let (m, c) = (g.m, g.c);
    if !l.sparse
        || !pointwise
        || rows < MIN_ROWS
        || c < MIN_CHANNELS
        || m < MIN_CHANNELS
        || !(-128..=127).contains(&x_zp)
    {
        return false;
    }
    let nb = q8_blocks_nnz(w, m, c);
    let all = m * c.div_ceil(4);
    if nb == 0 || (all - nb) as f32 / (all as f32) < Q8_SPARSE_MIN_EMPTY {
        return false;
    }
    let (mut row_ptr, mut cols, mut vals, mut wsum) =
        (vec![0u32; m + 1], vec![0u32; nb], vec![0i32; nb], vec![0i32; m]);
    q8_blocks_pack(w, m, c, &mut row_ptr, &mut cols, &mut vals, &mut wsum);
    let blocks = i32s(l, &vals, format!("{name}.sparse_blocks"));
    let index: Vec<u8> = row_ptr.iter().chain(&cols).flat_map(|v| v.to_le_bytes()).collect();
    let it = l.p.weight(DType::U32, vec![m + 1 + nb], index, format!("{name}.sparse_index"));
    let ws = i32s(l, &wsum, format!("{name}.wsum"));
    let (b, mu, s) = (
        i32s(l, bias, format!("{name}.bias")),
        i32s(l, mult, format!("{name}.mult")),
        i32s(l, shift, format!("{name}.shift")),
    );
    let attrs = encode::q8sparse(rows, m, c, x_zp, y_zp, lo, hi);
    let ins = vec![Some(x), Some(blocks), Some(it), Some(ws), Some(b), Some(mu), Some(s)];
    l.p.step(OpCode::Q8Sparse, ins, vec![y], attrs, name);
    true
}
