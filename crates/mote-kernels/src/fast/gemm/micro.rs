//! The register-blocked micro-kernel: an `R x 16` tile of C (`R <= 6`) from one packed A panel
//! and one packed B panel, with the fused epilogue.
//!
//! Accumulation order (every ISA): each element of C starts from 0 (first K block) or its stored
//! value (later K blocks) and adds `a[i][p] * b[p][j]` for `p` in increasing order; after the
//! last K block the bias is added, then the activation applied. SIMD paths fuse each
//! multiply-add (one rounding), the portable path rounds the product and the sum separately.

use super::{MR, NR};
use crate::fast::activation::{Activation, apply_v};
use crate::fast::simd::{ROW, Simd, load_row, store_row};

/// Bias added to the tile after the last K block.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TileBias<'a> {
    None,
    /// One value per tile row (at least `rows` values).
    Rows(&'a [f32]),
    /// One value per tile column (at least `cols` values).
    Cols(&'a [f32]),
}

/// Where the tile goes and what happens at the store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tile<'a> {
    /// Rows and columns of the tile actually inside C (`1..=MR`, `1..=NR`).
    pub rows: usize,
    pub cols: usize,
    /// Add to the values in C instead of starting from zero.
    pub accumulate: bool,
    /// Apply bias and activation (the last K block).
    pub finish: bool,
    pub bias: TileBias<'a>,
    pub act: Activation,
}

const _: () = assert!(NR == ROW && MR == 6);

/// Where the `kc` rows of B (at least `NR` floats each) come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BRows<'a> {
    /// Row `p` at `b[p * ldb..]` (`ldb = NR`: a packed panel; more: B read in place).
    Strided { b: &'a [f32], ldb: usize },
    /// Row `p` at `x[offs[p] + base..]` (a convolution reading its padded input in place).
    Offsets { x: &'a [f32], offs: &'a [usize], base: usize },
}

/// Where the tile's rows of A come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ARows<'a> {
    /// `kc` groups of `MR` floats (a packed panel).
    Packed(&'a [f32]),
    /// The channel-blocked layout read in place: `A[r][p]` at `x[(p / 8) * stride + r * 8 +
    /// p % 8]` (`kc` a multiple of 8; only with a packed B panel).
    Blocked { x: &'a [f32], stride: usize },
}

/// Computes one tile into `c` (row `r` of the tile starts at `c[r * ldc]`). `a` holds `kc`
/// groups of `MR` floats; `b` gives `kc` rows of `NR` floats.
#[inline(always)]
pub(crate) fn tile<S: Simd>(s: S, kc: usize, a: &[f32], b: BRows<'_>, c: &mut [f32], ldc: usize, t: &Tile<'_>) {
    tile_split(s, kc, ARows::Packed(a), b, c, ldc, NR / 2, t);
}

/// [`tile`] into a C whose rows are split in two halves of `NR / 2` columns: row `r` holds
/// columns `0..8` at `c[r * ldc..]` and columns `8..16` at `c[r * ldc + split..]` (`split = 8`
/// is a plain row-major C; the channel-blocked layout stores each half in its own block). A
/// tile of at most `NR / 2` columns touches only the first half.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn tile_split<S: Simd>(
    s: S,
    kc: usize,
    a: ARows<'_>,
    b: BRows<'_>,
    c: &mut [f32],
    ldc: usize,
    split: usize,
    t: &Tile<'_>,
) {
    if t.cols <= NR / 2 {
        // A narrow edge tile: only the left half of the B panel carries columns of C.
        match t.rows {
            6 => tile_r::<S, 6, true>(s, kc, a, b, c, ldc, split, t),
            5 => tile_r::<S, 5, true>(s, kc, a, b, c, ldc, split, t),
            4 => tile_r::<S, 4, true>(s, kc, a, b, c, ldc, split, t),
            3 => tile_r::<S, 3, true>(s, kc, a, b, c, ldc, split, t),
            2 => tile_r::<S, 2, true>(s, kc, a, b, c, ldc, split, t),
            _ => tile_r::<S, 1, true>(s, kc, a, b, c, ldc, split, t),
        }
        return;
    }
    match t.rows {
        6 => tile_r::<S, 6, false>(s, kc, a, b, c, ldc, split, t),
        5 => tile_r::<S, 5, false>(s, kc, a, b, c, ldc, split, t),
        4 => tile_r::<S, 4, false>(s, kc, a, b, c, ldc, split, t),
        3 => tile_r::<S, 3, false>(s, kc, a, b, c, ldc, split, t),
        2 => tile_r::<S, 2, false>(s, kc, a, b, c, ldc, split, t),
        _ => tile_r::<S, 1, false>(s, kc, a, b, c, ldc, split, t),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile_r<S: Simd, const R: usize, const HALF: bool>(
    s: S,
    kc: usize,
    a: ARows<'_>,
    b: BRows<'_>,
    c: &mut [f32],
    ldc: usize,
    split: usize,
    t: &Tile<'_>,
) {
    let full = t.cols == NR;
    let mut acc = [s.row_zero(); R];
    if t.accumulate {
        for (r, row) in acc.iter_mut().enumerate() {
            let cr = &c[r * ldc..];
            *row = if full { load_split(s, cr, split) } else { load_partial(s, &cr[..t.cols]) };
        }
    }
    let a = match a {
        ARows::Packed(a) => a[..kc * MR].as_chunks::<MR>().0,
        ARows::Blocked { x, stride } => {
            let BRows::Strided { b, ldb: NR } = b else { panic!("micro::tile: blocked A needs a packed B panel") };
            products_blocked::<S, R, HALF>(s, &mut acc, x, stride, &b[..kc * NR]);
            &[]
        }
    };
    match b {
        _ if a.is_empty() => {}
        BRows::Strided { b, ldb: NR } => {
            let (b, _) = b[..kc * NR].as_chunks::<NR>();
            products::<S, R, HALF>(s, &mut acc, a, b.iter().map(|r| r.as_slice()));
        }
        BRows::Strided { b, ldb } if kc > 0 => {
            products::<S, R, HALF>(s, &mut acc, a, b[..(kc - 1) * ldb + NR].chunks(ldb));
        }
        BRows::Strided { .. } => {}
        BRows::Offsets { x, offs, base } => {
            products::<S, R, HALF>(s, &mut acc, a, offs[..kc].iter().map(|&o| &x[o + base..][..NR]));
        }
    }
    if t.finish {
        finish(s, &mut acc, t);
    }
    for (r, row) in acc.iter().enumerate() {
        let cr = &mut c[r * ldc..];
        if full {
            store_split(s, cr, split, row);
        } else {
            let mut tmp = [0.0f32; NR];
            store_row(s, &mut tmp, row);
            cr[..t.cols].copy_from_slice(&tmp[..t.cols]);
        }
    }
}

/// `acc[r] += a[p][r] * b[p]` for every K step `p` (`b` yields one row of at least `NR` floats
/// per step), in increasing `p`.
#[inline(always)]
fn products<'b, S: Simd, const R: usize, const HALF: bool>(
    s: S,
    acc: &mut [S::Row; R],
    a: &[[f32; MR]],
    b: impl Iterator<Item = &'b [f32]>,
) {
    // Vectors per row that carry columns of C (`HALF`: the left half only).
    let nv = if HALF { ROW / S::LANES / 2 } else { ROW / S::LANES };
    for (ap, bp) in a.iter().zip(b) {
        let bv = load_row(s, bp);
        for r in 0..R {
            let av = s.splat(ap[r]);
            for (x, &y) in acc[r].as_mut().iter_mut().zip(bv.as_ref()).take(nv) {
                *x = s.mul_add(av, y, *x);
            }
        }
    }
}

/// Index in a split row (see [`tile_split`]) of column `j`.
#[inline(always)]
fn split_index(j: usize, split: usize) -> usize {
    if j < NR / 2 { j } else { split + j - NR / 2 }
}

#[inline(always)]
fn load_split<S: Simd>(s: S, c: &[f32], split: usize) -> S::Row {
    if split == NR / 2 {
        return load_row(s, c);
    }
    let mut row = s.row_zero();
    for (v, x) in row.as_mut().iter_mut().enumerate() {
        *x = s.load(&c[split_index(v * S::LANES, split)..]);
    }
    row
}

#[inline(always)]
fn store_split<S: Simd>(s: S, c: &mut [f32], split: usize, row: &S::Row) {
    if split == NR / 2 {
        store_row(s, c, row);
        return;
    }
    for (v, &x) in row.as_ref().iter().enumerate() {
        s.store(&mut c[split_index(v * S::LANES, split)..], x);
    }
}

/// [`products`] with A read from the channel-blocked layout ([`ARows::Blocked`]); `b` holds
/// the `kc` rows of a packed B panel (`kc` a multiple of 8).
#[inline(always)]
fn products_blocked<S: Simd, const R: usize, const HALF: bool>(
    s: S,
    acc: &mut [S::Row; R],
    x: &[f32],
    stride: usize,
    b: &[f32],
) {
    const B: usize = NR / 2;
    let nv = if HALF { ROW / S::LANES / 2 } else { ROW / S::LANES };
    for (kb, bb) in b.chunks_exact(B * NR).enumerate() {
        let blk = &x[kb * stride..][..R * B];
        for j in 0..B {
            let bv = load_row(s, &bb[j * NR..]);
            for r in 0..R {
                let av = s.splat(blk[r * B + j]);
                for (x, &y) in acc[r].as_mut().iter_mut().zip(bv.as_ref()).take(nv) {
                    *x = s.mul_add(av, y, *x);
                }
            }
        }
    }
}

#[inline(always)]
fn load_partial<S: Simd>(s: S, x: &[f32]) -> S::Row {
    let mut tmp = [0.0f32; NR];
    tmp[..x.len()].copy_from_slice(x);
    load_row(s, &tmp)
}

#[inline(always)]
fn finish<S: Simd, const R: usize>(s: S, acc: &mut [S::Row; R], t: &Tile<'_>) {
    match t.bias {
        TileBias::None => {}
        TileBias::Rows(bias) => {
            for (row, &bv) in acc.iter_mut().zip(&bias[..t.rows]) {
                let bv = s.splat(bv);
                for x in row.as_mut() {
                    *x = s.add(*x, bv);
                }
            }
        }
        TileBias::Cols(bias) => {
            let bv = if t.cols == NR { load_row(s, bias) } else { load_partial(s, &bias[..t.cols]) };
            for row in acc.iter_mut() {
                for (x, &y) in row.as_mut().iter_mut().zip(bv.as_ref()) {
                    *x = s.add(*x, y);
                }
            }
        }
    }
    if t.act != Activation::None {
        for row in acc.iter_mut() {
            for x in row.as_mut() {
                *x = apply_v(s, t.act, *x);
            }
        }
    }
}
