//! Layout conversions between `[N, C, HW]` and the blocked `[N, C/8, HW, 8]`.

use super::BLOCK;

/// Pixels per tile: a tile reads 8 rows of `TILE` floats and writes `TILE * 8` contiguous ones.
const TILE: usize = 64;

fn check(n: usize, c: usize, hw: usize, a: usize, b: usize, what: &str) {
    assert!(c.is_multiple_of(BLOCK), "{what}: channels not a multiple of 8");
    let len = n.checked_mul(c).and_then(|v| v.checked_mul(hw)).expect("reorder: size overflows");
    assert!(a >= len && b >= len, "{what}: slice shorter than [N, C, HW]");
}

/// `y [N, C/8, HW, 8] = x [N, C, HW]` (`C` a multiple of [`BLOCK`]).
pub fn reorder_to_blocked(n: usize, c: usize, hw: usize, x: &[f32], y: &mut [f32]) {
    check(n, c, hw, x.len(), y.len(), "reorder_to_blocked");
    if n * c * hw == 0 {
        return;
    }
    // Channel block `b` of image `i` starts at the same offset in both layouts.
    for (xb, yb) in x[..n * c * hw].chunks_exact(BLOCK * hw).zip(y.chunks_exact_mut(BLOCK * hw)) {
        for p0 in (0..hw).step_by(TILE) {
            let len = (hw - p0).min(TILE);
            let dst = &mut yb[p0 * BLOCK..][..len * BLOCK];
            for j in 0..BLOCK {
                let src = &xb[j * hw + p0..][..len];
                for (p, &v) in src.iter().enumerate() {
                    dst[p * BLOCK + j] = v;
                }
            }
        }
    }
}

/// `y [N, C, HW] = x [N, C/8, HW, 8]` (`C` a multiple of [`BLOCK`]).
pub fn reorder_from_blocked(n: usize, c: usize, hw: usize, x: &[f32], y: &mut [f32]) {
    check(n, c, hw, x.len(), y.len(), "reorder_from_blocked");
    if n * c * hw == 0 {
        return;
    }
    for (xb, yb) in x[..n * c * hw].chunks_exact(BLOCK * hw).zip(y.chunks_exact_mut(BLOCK * hw)) {
        for p0 in (0..hw).step_by(TILE) {
            let len = (hw - p0).min(TILE);
            let src = &xb[p0 * BLOCK..][..len * BLOCK];
            for j in 0..BLOCK {
                let dst = &mut yb[j * hw + p0..][..len];
                for (p, d) in dst.iter_mut().enumerate() {
                    *d = src[p * BLOCK + j];
                }
            }
        }
    }
}
