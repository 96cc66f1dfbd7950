//! GridSample on 2-D images (f32, every mode and padding): the taps of a block of output
//! positions (offsets and weight products, 4 each for bilinear, up to 16 for bicubic) are
//! computed once and applied to every channel in turn, summed in the reference's order, so the
//! result is bit-identical to [`GridSample::run`](crate::reference::image::GridSample::run),
//! which recomputes them per channel over a rank-generic loop and walks the channels innermost.

use crate::reference::image::GridSample;

/// Output positions whose taps are computed together (bounded so the tables stay on the stack:
/// about 3.3 KB).
const BLOCK: usize = 16;
/// A tap reading zero (outside the image under zero padding).
const ZERO: usize = usize::MAX;

/// Samples `x [n, c, h, w]` at `grid [n, oh, ow, 2]` (x then y, normalized) into
/// `y [n, c, oh, ow]`. Slices must have exactly those sizes; `h` and `w` must be non-zero when
/// `y` is not empty (a caller bug otherwise, which panics and never reads out of bounds).
pub fn grid_sample_2d(gs: &GridSample, x: &[f32], dims: [usize; 4], grid: &[f32], out: [usize; 2], y: &mut [f32]) {
    let [n, c, h, w] = dims;
    let (in_plane, out_plane) = (h * w, out[0] * out[1]);
    let (mut iy, mut ix) = ([None; 4], [None; 4]);
    let (mut wy, mut wx) = ([0f32; 4], [0f32; 4]);
    let mut off = [[0usize; 16]; BLOCK];
    let mut wt = [[0f32; 16]; BLOCK];
    let mut taps = [0usize; BLOCK];
    for b in 0..n {
        let xb = &x[b * c * in_plane..][..c * in_plane];
        let yb = &mut y[b * c * out_plane..][..c * out_plane];
        for p0 in (0..out_plane).step_by(BLOCK) {
            let len = BLOCK.min(out_plane - p0);
            for q in 0..len {
                let g = &grid[(b * out_plane + p0 + q) * 2..][..2];
                let ny = gs.axis_taps(g[1], h, &mut iy, &mut wy);
                let nx = gs.axis_taps(g[0], w, &mut ix, &mut wx);
                let mut k = 0;
                for a in 0..ny {
                    for t in 0..nx {
                        // The reference's product: 1 * weight(y) * weight(x).
                        wt[q][k] = 1.0 * wy[a] * wx[t];
                        off[q][k] = match (iy[a], ix[t]) {
                            (Some(i), Some(j)) => i * w + j,
                            _ => ZERO,
                        };
                        k += 1;
                    }
                }
                taps[q] = k;
            }
            for ch in 0..c {
                let plane = &xb[ch * in_plane..][..in_plane];
                let row = &mut yb[ch * out_plane + p0..][..len];
                for (q, o) in row.iter_mut().enumerate() {
                    let mut total = 0.0f32;
                    for (&i, &wq) in off[q][..taps[q]].iter().zip(&wt[q]) {
                        // Out-of-range taps read 0 (a NaN weight still propagates, as the
                        // reference).
                        let v = if i == ZERO { 0.0 } else { plane[i] };
                        total += wq * v;
                    }
                    *o = total;
                }
            }
        }
    }
}
