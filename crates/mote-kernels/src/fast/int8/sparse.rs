//! Pruned int8 1x1 convolutions and fully connected layers (NHWC rows `x [rows x c]`, weights
//! `W [m x c]`), bit-exact with [`crate::reference::int8::conv2d`].
//!
//! The weights are kept as blocks of four consecutive input channels of one output channel
//! (the `vpdpbusd`/`sdot` unit); a block whose four weights are all zero is dropped. Pruning in
//! such blocks (`mote prune --pattern 1x4`) drops a block per four zeros; unstructured zeros
//! drop a block only when four fall together (`0.7^4 = 24%` of blocks at 70% zeros), so the
//! compiler decides on the fraction of empty blocks, not of zeros.
//!
//! Per block of [`RB`] rows the activations are transposed into a scratch of `c / 4` columns
//! of `RB` four-byte words (each the four channels of one row, made unsigned where the path
//! offsets them), so a kept block is one broadcast of its four weights times `RB` contiguous
//! words. Sixteen output channels' sums are then turned into rows of 16 channels and
//! requantized by the dense kernel's output stage, so the rounding code is shared.

use super::conv::partial_panel;
use super::kernels::{NR, Q8, Rq};
use super::pack::RB;
use crate::fast::Cpu;
use crate::reference::int8::Requant;

const _: () = assert!(RB == 64, "the SIMD sparse kernels work on 64 rows");

/// Block-sparse int8 weights `W [m x c]` (see the module doc): output channel `o`'s kept blocks
/// are `row_ptr[o]..row_ptr[o + 1]`; block `b` covers input channels `4 * cols[b]..+4` with the
/// weights `w[b]` (four i8 in the bytes of an i32, little-endian, 0 past `c`). `wsum[o]` is
/// `Σ_c W[o, c]`.
#[derive(Clone, Copy, Debug)]
pub struct Q8Blocks<'a> {
    pub m: usize,
    pub c: usize,
    pub row_ptr: &'a [u32],
    pub cols: &'a [u32],
    pub w: &'a [i32],
    pub wsum: &'a [i32],
}

/// The kept blocks of `w [m x c]` (row-major i8).
pub fn q8_blocks_nnz(w: &[i8], m: usize, c: usize) -> usize {
    (0..m).map(|o| w[o * c..][..c].chunks(4).filter(|b| b.iter().any(|&v| v != 0)).count()).sum()
}

/// Packs `w [m x c]` into `row_ptr [m + 1]`, `cols` and `vals` ([`q8_blocks_nnz`] each) and
/// `wsum [m]`. Panics when the lengths disagree (a caller bug).
pub fn q8_blocks_pack(
    w: &[i8],
    m: usize,
    c: usize,
    row_ptr: &mut [u32],
    cols: &mut [u32],
    vals: &mut [i32],
    wsum: &mut [i32],
) {
    let mut b = 0;
    row_ptr[0] = 0;
    for o in 0..m {
        let row = &w[o * c..][..c];
        wsum[o] = row.iter().map(|&v| v as i32).sum();
        for (j, blk) in row.chunks(4).enumerate() {
            if blk.iter().any(|&v| v != 0) {
                let mut q = [0u8; 4];
                for (d, &v) in q.iter_mut().zip(blk) {
                    *d = v as u8;
                }
                cols[b] = j as u32;
                vals[b] = i32::from_le_bytes(q);
                b += 1;
            }
        }
        row_ptr[o + 1] = b as u32;
    }
    assert_eq!(b, cols.len(), "q8_blocks_pack: the block count");
}

/// Checks `w` (lengths, monotone pointers ending at the block count, columns below `c / 4`):
/// what a loader verifies once before running untrusted weights.
pub fn q8_blocks_valid(w: &Q8Blocks<'_>) -> bool {
    let (c4, nb) = (w.c.div_ceil(4), w.cols.len());
    w.row_ptr.len() == w.m + 1
        && w.w.len() == nb
        && w.wsum.len() == w.m
        && w.row_ptr[0] == 0
        && w.row_ptr[w.m] as usize == nb
        && w.row_ptr.windows(2).all(|p| p[0] <= p[1])
        && w.cols.iter().all(|&j| (j as usize) < c4)
}

/// i32 elements of scratch [`sparse_conv`] needs (`None` when the size overflows).
pub fn sparse_scratch_len(m: usize, c: usize) -> Option<usize> {
    m.checked_add(c.div_ceil(4).checked_mul(RB)?)?.checked_add(2 * NR * RB)
}

/// `y [rows x m] = requant(x [rows x c] · Wᵀ)`: the int8 1x1 convolution (stride 1, no
/// padding, one group) or fully connected layer with the block-sparse weights `w`, equal to
/// [`crate::reference::int8::conv2d`] on the dense weights. `w` passed [`q8_blocks_valid`];
/// `x_zp` is an int8 value and `out.lo <= out.hi`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_conv(
    cpu: Cpu,
    rows: usize,
    w: &Q8Blocks<'_>,
    x: &[i8],
    x_zp: i32,
    out: &Requant<'_>,
    y: &mut [i8],
    scratch: &mut [i32],
) {
    super::with_q8!(cpu, k => sparse_with(k, rows, w, x, x_zp, out, y, scratch))
}

#[allow(clippy::too_many_arguments)]
fn sparse_with<K: Q8>(
    k: K,
    rows: usize,
    w: &Q8Blocks<'_>,
    x: &[i8],
    x_zp: i32,
    out: &Requant<'_>,
    y: &mut [i8],
    scratch: &mut [i32],
) {
    let (m, c, c4) = (w.m, w.c, w.c.div_ceil(4));
    assert!((-128..=127).contains(&x_zp) && out.lo <= out.hi, "int8 sparse_conv: zero point or clamp");
    assert!(q8_blocks_valid(w), "int8 sparse_conv: malformed blocks");
    let (x, y) = (&x[..rows * c], &mut y[..rows * m]);
    let scratch = &mut scratch[..sparse_scratch_len(m, c).expect("int8 sparse_conv: scratch size overflows")];
    let (cb, rest) = scratch.split_at_mut(m);
    let (xt, rest) = rest.split_at_mut(c4 * RB);
    let (tile, acc) = rest.split_at_mut(NR * RB);
    let off = x_zp + K::A_OFFSET;
    for o in 0..m {
        cb[o] = out.bias[o].wrapping_sub(off.wrapping_mul(w.wsum[o]));
    }
    for r0 in (0..rows).step_by(RB) {
        let nr = RB.min(rows - r0);
        k.sparse_gather(&x[r0 * c..], c, nr, xt);
        for o0 in (0..m).step_by(NR) {
            let nv = NR.min(m - o0);
            for j in 0..nv {
                let (a, b) = (w.row_ptr[o0 + j] as usize, w.row_ptr[o0 + j + 1] as usize);
                // SAFETY: every column is below `c4 = xt.len() / RB` (checked on entry).
                unsafe { k.sparse_blocks(xt, &w.cols[a..b], &w.w[a..b], &mut tile[j * RB..][..RB], nr) };
            }
            if nv == NR {
                k.tile_to_rows(tile, acc);
            } else {
                for r in 0..nr {
                    for j in 0..nv {
                        acc[r * NR + j] = tile[j * RB + r];
                    }
                }
            }
            let rq = Rq {
                cb: &cb[o0..o0 + nv],
                mult: &out.mult[o0..o0 + nv],
                shift: &out.shift[o0..o0 + nv],
                zp: out.zp,
                lo: out.lo,
                hi: out.hi,
            };
            let yb = &mut y[r0 * m + o0..];
            if nv == NR {
                k.requant_panel(acc, nr, &rq, yb, m);
            } else {
                partial_panel(k, acc, nr, &rq, nv, yb, m);
            }
        }
    }
}

/// The portable [`Q8::sparse_blocks`] of `acc.len()` rows: `acc[r] = Σ_b dot4(xt[cols[b] * RB +
/// r], w[b])`, the activation bytes unsigned when `offset` (they were made `x + 128`), else
/// signed.
pub(crate) fn sparse_blocks_portable(xt: &[i32], cols: &[u32], w: &[i32], acc: &mut [i32], offset: bool) {
    acc.fill(0);
    for (&j, &wv) in cols.iter().zip(w) {
        let wb = wv.to_le_bytes();
        let col = &xt[j as usize * RB..][..acc.len()];
        for (a, &xv) in acc.iter_mut().zip(col) {
            let xb = xv.to_le_bytes();
            let mut s = 0i32;
            for q in 0..4 {
                let xq = if offset { xb[q] as i32 } else { xb[q] as i8 as i32 };
                s += xq * wb[q] as i8 as i32;
            }
            *a = a.wrapping_add(s);
        }
    }
}
