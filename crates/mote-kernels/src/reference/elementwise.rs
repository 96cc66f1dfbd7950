//! Element-wise kernels: maps and numpy-broadcasting binary/ternary ops.

use mote_core::shape::MAX_RANK;
use mote_core::view::broadcast_shapes;

/// Applies `f` to every element.
pub fn ref_map<A: Copy, O>(a: &[A], out: &mut [O], f: impl Fn(A) -> O) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
}

/// Row-major strides of `dims` aligned to the last `rank` axes, 0 where the input broadcasts.
fn broadcast_strides(dims: &[usize], out_dims: &[usize]) -> [usize; MAX_RANK] {
    let mut strides = [0usize; MAX_RANK];
    let off = out_dims.len() - dims.len();
    let mut acc = 1;
    for i in (0..dims.len()).rev() {
        strides[off + i] = if dims[i] == 1 { 0 } else { acc };
        acc *= dims[i];
    }
    strides
}

/// `out[i] = f(a[ia], b[ib])` with numpy broadcasting; `out_dims` must be the broadcast shape
/// of `a_dims` and `b_dims` (rank at most [`MAX_RANK`]).
pub fn ref_binary<A: Copy, B: Copy, O>(
    a: &[A],
    a_dims: &[usize],
    b: &[B],
    b_dims: &[usize],
    out: &mut [O],
    out_dims: &[usize],
    f: impl Fn(A, B) -> O,
) {
    if a_dims == b_dims {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = f(x, y);
        }
        return;
    }
    if b.len() == 1 {
        let y = b[0];
        for (o, &x) in out.iter_mut().zip(a) {
            *o = f(x, y);
        }
        return;
    }
    if a.len() == 1 {
        let x = a[0];
        for (o, &y) in out.iter_mut().zip(b) {
            *o = f(x, y);
        }
        return;
    }
    let sa = broadcast_strides(a_dims, out_dims);
    let sb = broadcast_strides(b_dims, out_dims);
    let r = out_dims.len();
    if r == 0 {
        if let Some(o) = out.first_mut() {
            *o = f(a[0], b[0]);
        }
        return;
    }
    // Walk the output in rows of the last axis.
    let inner = out_dims[r - 1];
    let (ia_step, ib_step) = (sa[r - 1], sb[r - 1]);
    let mut idx = [0usize; MAX_RANK];
    let mut o = 0;
    while o < out.len() {
        let mut ia = 0;
        let mut ib = 0;
        for k in 0..r - 1 {
            ia += idx[k] * sa[k];
            ib += idx[k] * sb[k];
        }
        for j in 0..inner {
            out[o + j] = f(a[ia + j * ia_step], b[ib + j * ib_step]);
        }
        o += inner;
        // Next row.
        let mut k = r - 1;
        while k > 0 {
            k -= 1;
            idx[k] += 1;
            if idx[k] < out_dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// `out[i] = f(a[ia], b[ib], c[ic])` with numpy broadcasting (used by `Where`).
pub fn ref_ternary<A: Copy, B: Copy, C: Copy, O>(
    (a, a_dims): (&[A], &[usize]),
    (b, b_dims): (&[B], &[usize]),
    (c, c_dims): (&[C], &[usize]),
    out: &mut [O],
    out_dims: &[usize],
    f: impl Fn(A, B, C) -> O,
) {
    let sa = broadcast_strides(a_dims, out_dims);
    let sb = broadcast_strides(b_dims, out_dims);
    let sc = broadcast_strides(c_dims, out_dims);
    let r = out_dims.len();
    let mut idx = [0usize; MAX_RANK];
    for o in out.iter_mut() {
        let (mut ia, mut ib, mut ic) = (0, 0, 0);
        for k in 0..r {
            ia += idx[k] * sa[k];
            ib += idx[k] * sb[k];
            ic += idx[k] * sc[k];
        }
        *o = f(a[ia], b[ib], c[ic]);
        mote_core::shape::next_index(&mut idx[..r], out_dims);
    }
}

/// The broadcast shape of `a` and `b`, or `None` if they do not broadcast.
pub fn broadcast_dims(a: &[usize], b: &[usize], out: &mut [usize; MAX_RANK]) -> Option<usize> {
    broadcast_shapes(a, b, out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_broadcasts_like_numpy() {
        // [2,1,3] + [2,1] -> [2,2,3]
        let a = [1, 2, 3, 4, 5, 6];
        let b = [10, 20];
        let mut out = [0; 12];
        ref_binary(&a, &[2, 1, 3], &b, &[2, 1], &mut out, &[2, 2, 3], |x, y| x + y);
        assert_eq!(out, [11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26]);
    }

    #[test]
    fn binary_fast_paths_agree_with_general_walk() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let mut o1 = [0.0; 4];
        let mut o2 = [0.0; 4];
        ref_binary(&a, &[2, 2], &[0.5f32], &[], &mut o1, &[2, 2], |x, y| x * y);
        ref_binary(&a, &[2, 2], &[0.5f32, 0.5], &[2, 1], &mut o2, &[2, 2], |x, y| x * y);
        assert_eq!(o1, o2);
        assert_eq!(o1, [0.5, 1.0, 1.5, 2.0]);
    }

    #[test]
    fn ternary_where() {
        let c = [true, false];
        let mut out = [0; 4];
        ref_ternary((&c, &[2][..]), (&[1, 2, 3, 4], &[2, 2][..]), (&[9], &[][..]), &mut out, &[2, 2], |c, x, y| {
            if c { x } else { y }
        });
        assert_eq!(out, [1, 9, 3, 9]);
    }
}
