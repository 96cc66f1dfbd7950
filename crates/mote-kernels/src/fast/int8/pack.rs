//! The packed weights of an int8 convolution (format [`Q8_PACK_VERSION`]), written by the
//! compiler and identical for every instruction set, and the scratch size of [`super::conv2d`].
//!
//! Layout, for weights `w[o, ky, kx, ci]` (OHWI, `K = kh * kw * c / groups` values per channel):
//! - depthwise ([`Conv2d::is_depthwise`]): `kh * kw * c` bytes, tap-major: byte `t * c + ch` is
//!   `w[ch, t / kw, t % kw, 0]`;
//! - otherwise: `m` little-endian i32 weight sums `Σ_k w[o, k]`, then per group, per panel of
//!   [`NR`] output channels of the group, `4 * NR * ceil(K / 4)` bytes: byte
//!   `(k / 4) * 4 * NR + 4 * j + k % 4` is `w[o, k]` of the panel's channel `j` (0 past the
//!   group's channels or past `K`).

use super::kernels::NR;
use crate::reference::int8::Conv2d;

/// Version of the packed weight layout (a `.mote`'s `layout_param`): repack when it changes.
pub const Q8_PACK_VERSION: u32 = 1;

/// Most output pixels per block of the GEMM (rows of A gathered into the scratch at once).
pub(crate) const RB: usize = 64;

/// Fewest output pixels per block: [`conv_scratch_min`] (a microcontroller's plan) holds this
/// many.
pub const MIN_ROWS: usize = 2;

/// The GEMM view of a non-depthwise convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmShape {
    /// Input channels per group.
    pub cg: usize,
    /// Output channels per group.
    pub mg: usize,
    /// Weights per output channel, `kh * kw * cg`.
    pub k: usize,
    /// `k` in groups of four (the panel's depth).
    pub k4: usize,
    /// Panels per group.
    pub panels: usize,
    /// Bytes per panel.
    pub panel_len: usize,
}

impl GemmShape {
    /// `None` for an inconsistent grouping or sizes that overflow.
    pub(crate) fn of(g: &Conv2d) -> Option<GemmShape> {
        if g.groups == 0 || !g.c.is_multiple_of(g.groups) || !g.m.is_multiple_of(g.groups) {
            return None;
        }
        let (cg, mg) = (g.c / g.groups, g.m / g.groups);
        let k = g.kh.checked_mul(g.kw)?.checked_mul(cg)?;
        let k4 = k.div_ceil(4);
        let panels = mg.div_ceil(NR);
        let panel_len = k4.checked_mul(4 * NR)?;
        Some(GemmShape { cg, mg, k, k4, panels, panel_len })
    }

    /// `true` when the GEMM reads the NHWC input rows in place (a 1x1 stride-1 convolution
    /// without padding, whole 4-channel groups): no im2col rows.
    pub(crate) fn direct(&self, g: &Conv2d) -> bool {
        g.kh == 1
            && g.kw == 1
            && g.sh == 1
            && g.sw == 1
            && g.pad_top == 0
            && g.pad_left == 0
            && g.oh == g.h
            && g.ow == g.w
            && self.cg.is_multiple_of(4)
    }

    /// i32 scratch values per row of a block: its accumulators and its im2col row.
    pub(crate) fn row_scratch(&self, g: &Conv2d) -> usize {
        NR + if self.direct(g) { 0 } else { self.k4 }
    }

    /// Rows per block in a scratch of `len` i32 values: even (the GEMM kernels take rows in
    /// pairs, so an odd block would compute a row twice), at most [`RB`]; below [`MIN_ROWS`]
    /// when `len` is below [`conv_scratch_min`].
    pub(crate) fn block_rows(&self, g: &Conv2d, len: usize) -> usize {
        (len / self.row_scratch(g)).min(RB) & !1
    }

    /// Byte offset of group `grp`'s panel `p` in the pack.
    pub(crate) fn panel_at(&self, m: usize, grp: usize, p: usize) -> usize {
        4 * m + (grp * self.panels + p) * self.panel_len
    }
}

/// Bytes of the packed weights of `g`; `None` when the geometry is inconsistent (`groups` 0 or
/// not dividing the channels) or the size overflows.
pub fn conv_pack_len(g: &Conv2d) -> Option<usize> {
    if g.is_depthwise() {
        return g.kh.checked_mul(g.kw)?.checked_mul(g.c);
    }
    let s = GemmShape::of(g)?;
    s.panel_len.checked_mul(s.panels)?.checked_mul(g.groups)?.checked_add(g.m.checked_mul(4)?)
}

/// Packs the OHWI weights `w_ohwi` (`m * kh * kw * c / groups` values) of `g` into `out`
/// ([`conv_pack_len`] bytes) in the layout of this module. Panics when the lengths disagree
/// (a caller bug).
pub fn conv_pack(g: &Conv2d, w_ohwi: &[i8], out: &mut [u8]) {
    let len = conv_pack_len(g).expect("conv_pack: inconsistent geometry");
    let out = &mut out[..len];
    let taps = g.kh * g.kw;
    if g.is_depthwise() {
        let w = &w_ohwi[..taps * g.c];
        for t in 0..taps {
            for ch in 0..g.c {
                out[t * g.c + ch] = w[ch * taps + t] as u8;
            }
        }
        return;
    }
    let s = GemmShape::of(g).expect("checked by conv_pack_len");
    let w = &w_ohwi[..g.m * s.k];
    for o in 0..g.m {
        let sum = w[o * s.k..][..s.k].iter().fold(0i32, |a, &v| a.wrapping_add(v as i32));
        out[4 * o..][..4].copy_from_slice(&sum.to_le_bytes());
    }
    for grp in 0..g.groups {
        for p in 0..s.panels {
            let panel = &mut out[s.panel_at(g.m, grp, p)..][..s.panel_len];
            panel.fill(0);
            for j in 0..NR.min(s.mg - p * NR) {
                let o = grp * s.mg + p * NR + j;
                for (kk, &v) in w[o * s.k..][..s.k].iter().enumerate() {
                    panel[(kk / 4) * 4 * NR + 4 * j + kk % 4] = v as u8;
                }
            }
        }
    }
}

/// i32 elements of scratch [`super::conv2d`] uses at most for `g`: the per-channel constants
/// and blocks of [`RB`] rows (0 for a depthwise convolution); `None` when the geometry is
/// inconsistent or the size overflows.
pub fn conv_scratch_len(g: &Conv2d) -> Option<usize> {
    if g.is_depthwise() {
        return Some(0);
    }
    g.m.checked_add(scratch_rows(g, RB)?)
}

/// The fewest i32 elements of scratch [`super::conv2d`] runs in for `g`: blocks of
/// [`MIN_ROWS`] rows, the per-channel constants made per panel on the stack. Any size from
/// this to [`conv_scratch_len`] gives the same result; more rows per block read the weights
/// fewer times, and room for the constants makes them once.
pub fn conv_scratch_min(g: &Conv2d) -> Option<usize> {
    scratch_rows(g, MIN_ROWS)
}

/// Per row of a block: its accumulators and its im2col row.
fn scratch_rows(g: &Conv2d, rows: usize) -> Option<usize> {
    if g.is_depthwise() {
        return Some(0);
    }
    let s = GemmShape::of(g)?;
    rows.checked_mul(s.row_scratch(g))
}
