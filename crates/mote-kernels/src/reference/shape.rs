//! Data-movement kernels: strided copies (transpose, slice, expand, depth/space moves), concat,
//! tile, pad, gathers and scatters, and triangular masks.
//!
//! Every kernel is a pure index mapping generic over `T: Copy`. Callers validate shapes and
//! indices first (indices arrive as in-range `usize`s); ranks are at most [`MAX_RANK`].

use mote_core::shape::MAX_RANK;

/// Advances the multi-index `idx` over `dims[..r]` (the row-major "odometer"), keeping `base`
/// equal to `Σ idx[k] * strides[k]`. Returns false after the last index.
#[inline]
fn advance(idx: &mut [usize], dims: &[usize], strides: &[isize], base: &mut isize) -> bool {
    for k in (0..dims.len()).rev() {
        idx[k] += 1;
        *base += strides[k];
        if idx[k] < dims[k] {
            return true;
        }
        *base -= strides[k] * dims[k] as isize;
        idx[k] = 0;
    }
    false
}

/// `out[i] = src[offset + Σ idx_k * strides[k]]`, where `idx` walks `dims` in row-major order.
///
/// Strides are in elements and may be negative (reversed slices) or zero (broadcast), so this one
/// kernel is transpose, slice, expand and the depth/space moves. `out.len()` must equal the
/// product of `dims`, and every addressed element must lie inside `src`.
pub fn strided_copy<T: Copy>(src: &[T], offset: usize, dims: &[usize], strides: &[isize], out: &mut [T]) {
    if out.is_empty() {
        return;
    }
    let r = dims.len();
    if r == 0 {
        out[0] = src[offset];
        return;
    }
    let inner = dims[r - 1];
    let step = strides[r - 1];
    let mut idx = [0usize; MAX_RANK];
    let mut base = offset as isize;
    for row in out.chunks_exact_mut(inner) {
        let b = base as usize;
        match step {
            1 => row.copy_from_slice(&src[b..b + inner]),
            0 => row.fill(src[b]),
            _ => {
                let mut p = base;
                for o in row.iter_mut() {
                    *o = src[p as usize];
                    p += step;
                }
            }
        }
        advance(&mut idx[..r - 1], &dims[..r - 1], &strides[..r - 1], &mut base);
    }
}

/// Concatenation: every input is `outer` blocks of `len / outer` elements; output block `b` is
/// block `b` of each input in turn.
pub fn concat<T: Copy>(inputs: &[&[T]], outer: usize, out: &mut [T]) {
    if outer == 0 {
        return;
    }
    let mut o = 0;
    for b in 0..outer {
        for x in inputs {
            let c = x.len() / outer;
            out[o..o + c].copy_from_slice(&x[b * c..(b + 1) * c]);
            o += c;
        }
    }
}

/// Tiling: `out[idx] = src[idx mod dims]`, where `out_dims[k]` is a multiple of `dims[k]`.
pub fn tile<T: Copy>(src: &[T], dims: &[usize], out_dims: &[usize], out: &mut [T]) {
    if out.is_empty() {
        return;
    }
    let r = dims.len();
    if r == 0 {
        out[0] = src[0];
        return;
    }
    let (inner, out_inner) = (dims[r - 1], out_dims[r - 1]);
    let mut strides = [0isize; MAX_RANK];
    let mut acc = 1;
    for k in (0..r).rev() {
        strides[k] = acc as isize;
        acc *= dims[k];
    }
    // Walk output rows; the source row follows the output index modulo the input dims.
    let mut idx = [0usize; MAX_RANK];
    for row in out.chunks_exact_mut(out_inner) {
        let base: usize = (0..r - 1).map(|k| (idx[k] % dims[k]) * strides[k] as usize).sum();
        for chunk in row.chunks_exact_mut(inner) {
            chunk.copy_from_slice(&src[base..base + inner]);
        }
        let mut unused = 0;
        advance(&mut idx[..r - 1], &out_dims[..r - 1], &strides[..r - 1], &mut unused);
    }
}

/// How [`pad`] fills positions outside the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value.
    Constant,
    /// Mirror without repeating the edge: `[a b c]` -> `c b [a b c] b a`.
    Reflect,
    /// Repeat the edge: `a a [a b c] c c`.
    Edge,
    /// Wrap around: `b c [a b c] a b`.
    Wrap,
}

/// The source coordinate for output coordinate `o` on an axis of size `d` padded by `begin`,
/// or `None` for a constant-filled position. `d` must be non-zero for the non-constant modes.
#[inline]
fn pad_source(o: usize, begin: isize, d: usize, mode: PadMode) -> Option<usize> {
    let c = o as isize - begin;
    let di = d as isize;
    if (0..di).contains(&c) {
        return Some(c as usize);
    }
    Some(match mode {
        PadMode::Constant => return None,
        PadMode::Edge => c.clamp(0, di - 1) as usize,
        PadMode::Wrap => c.rem_euclid(di) as usize,
        PadMode::Reflect => {
            if d == 1 {
                0
            } else {
                let period = 2 * (di - 1);
                let m = c.rem_euclid(period);
                (if m >= di { period - m } else { m }) as usize
            }
        }
    })
}

/// Padding (and, with negative `begin`, cropping): output coordinate `o` on axis `k` reads input
/// coordinate `o - begin[k]`, mapped by `mode` when outside the input. Non-constant modes need
/// every padded axis to be non-empty.
pub fn pad<T: Copy>(
    src: &[T],
    dims: &[usize],
    begin: &[isize],
    out_dims: &[usize],
    mode: PadMode,
    value: T,
    out: &mut [T],
) {
    if out.is_empty() {
        return;
    }
    let r = dims.len();
    if r == 0 {
        out[0] = src[0];
        return;
    }
    let mut strides = [0usize; MAX_RANK];
    let mut acc = 1;
    for k in (0..r).rev() {
        strides[k] = acc;
        acc *= dims[k];
    }
    let (d, b, inner) = (dims[r - 1], begin[r - 1], out_dims[r - 1]);
    let mut idx = [0usize; MAX_RANK];
    let mut unused = 0;
    let zero = [0isize; MAX_RANK];
    for row in out.chunks_exact_mut(inner) {
        let mut base = Some(0usize);
        for k in 0..r - 1 {
            base = match (base, pad_source(idx[k], begin[k], dims[k], mode)) {
                (Some(s), Some(c)) => Some(s + c * strides[k]),
                _ => None,
            };
        }
        match base {
            None => row.fill(value),
            Some(s) => {
                for (j, o) in row.iter_mut().enumerate() {
                    *o = match pad_source(j, b, d, mode) {
                        Some(c) => src[s + c],
                        None => value,
                    };
                }
            }
        }
        advance(&mut idx[..r - 1], &out_dims[..r - 1], &zero[..r - 1], &mut unused);
    }
}

/// Gather along an axis: `src` is `[outer, axis_len, inner]`, `out` is
/// `[outer, indices.len(), inner]`, and `out[o, j, i] = src[o, indices[j], i]`.
pub fn gather<T: Copy>(src: &[T], axis_len: usize, inner: usize, indices: &[usize], out: &mut [T]) {
    let n = indices.len();
    if n * inner == 0 {
        return;
    }
    let outer = out.len() / (n * inner);
    for o in 0..outer {
        for (j, &i) in indices.iter().enumerate() {
            let s = (o * axis_len + i) * inner;
            let d = (o * n + j) * inner;
            out[d..d + inner].copy_from_slice(&src[s..s + inner]);
        }
    }
}

/// Row-major strides of `dims`.
fn strides_of(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut s = [0usize; MAX_RANK];
    let mut acc = 1;
    for k in (0..dims.len()).rev() {
        s[k] = acc;
        acc *= dims[k];
    }
    s
}

/// Calls `f(position in the index tensor, position in data)` for every element of an index
/// tensor of `idx_dims` used along `axis` of a data tensor of `data_dims` (same rank).
fn for_each_element_index(
    data_dims: &[usize],
    idx_dims: &[usize],
    indices: &[usize],
    axis: usize,
    mut f: impl FnMut(usize, usize),
) {
    let ds = strides_of(data_dims);
    let r = idx_dims.len();
    let mut idx = [0usize; MAX_RANK];
    for (j, &i) in indices.iter().enumerate() {
        let mut p = i * ds[axis];
        for k in 0..r {
            if k != axis {
                p += idx[k] * ds[k];
            }
        }
        f(j, p);
        mote_core::shape::next_index(&mut idx[..r], idx_dims);
    }
}

/// `GatherElements`: `out[idx] = src[idx with idx[axis] replaced by indices[idx]]`. `out` and
/// `indices` have shape `idx_dims`, which fits inside `data_dims` except along `axis`.
pub fn gather_elements<T: Copy>(
    src: &[T],
    data_dims: &[usize],
    indices: &[usize],
    idx_dims: &[usize],
    axis: usize,
    out: &mut [T],
) {
    for_each_element_index(data_dims, idx_dims, indices, axis, |j, p| out[j] = src[p]);
}

/// `ScatterElements`: for every position `idx` of `indices`/`updates`,
/// `out[idx with idx[axis] = indices[idx]] = f(old, updates[idx])`. `out` holds the data.
pub fn scatter_elements<T: Copy>(
    out: &mut [T],
    data_dims: &[usize],
    indices: &[usize],
    updates: &[T],
    idx_dims: &[usize],
    axis: usize,
    f: impl Fn(T, T) -> T,
) {
    for_each_element_index(data_dims, idx_dims, indices, axis, |j, p| out[p] = f(out[p], updates[j]));
}

/// Copies `slice_len` elements of `src` from each offset, in order (`GatherND`).
pub fn gather_slices<T: Copy>(src: &[T], offsets: &[usize], slice_len: usize, out: &mut [T]) {
    for (j, &s) in offsets.iter().enumerate() {
        out[j * slice_len..(j + 1) * slice_len].copy_from_slice(&src[s..s + slice_len]);
    }
}

/// `ScatterND`: `out[offsets[j] + i] = f(old, updates[j * slice_len + i])`, in order.
pub fn scatter_slices<T: Copy>(
    out: &mut [T],
    offsets: &[usize],
    slice_len: usize,
    updates: &[T],
    f: impl Fn(T, T) -> T,
) {
    for (j, &s) in offsets.iter().enumerate() {
        for i in 0..slice_len {
            out[s + i] = f(out[s + i], updates[j * slice_len + i]);
        }
    }
}

/// `Trilu` over `[batch, n, m]`: keeps element `(i, j)` when `j - i >= k` (upper) or
/// `j - i <= k` (lower), writes `zero` elsewhere.
pub fn trilu<T: Copy>(src: &[T], n: usize, m: usize, k: i64, upper: bool, zero: T, out: &mut [T]) {
    if n * m == 0 {
        return;
    }
    for (s, o) in src.chunks_exact(n * m).zip(out.chunks_exact_mut(n * m)) {
        for i in 0..n {
            for j in 0..m {
                let d = j as i64 - i as i64;
                let keep = if upper { d >= k } else { d <= k };
                o[i * m + j] = if keep { s[i * m + j] } else { zero };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_copy_transposes_and_reverses() {
        // [[1,2,3],[4,5,6]] transposed.
        let x = [1, 2, 3, 4, 5, 6];
        let mut out = [0; 6];
        strided_copy(&x, 0, &[3, 2], &[1, 3], &mut out);
        assert_eq!(out, [1, 4, 2, 5, 3, 6]);
        // Reverse the last axis: start at 2, step -1.
        let mut out = [0; 6];
        strided_copy(&x, 2, &[2, 3], &[3, -1], &mut out);
        assert_eq!(out, [3, 2, 1, 6, 5, 4]);
        // Broadcast a row.
        let mut out = [0; 6];
        strided_copy(&x[..3], 0, &[2, 3], &[0, 1], &mut out);
        assert_eq!(out, [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn concat_and_tile() {
        let a = [1, 2, 3, 4];
        let b = [5, 6];
        let mut out = [0; 6];
        concat(&[&a[..], &b[..]], 2, &mut out);
        assert_eq!(out, [1, 2, 5, 3, 4, 6]);
        let mut t = [0; 8];
        tile(&[1, 2], &[1, 2], &[2, 4], &mut t);
        assert_eq!(t, [1, 2, 1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn pad_modes_match_numpy() {
        let x = [1, 2, 3];
        let run = |mode| {
            let mut out = [0; 9];
            pad(&x, &[3], &[3], &[9], mode, 0, &mut out);
            out
        };
        assert_eq!(run(PadMode::Constant), [0, 0, 0, 1, 2, 3, 0, 0, 0]);
        // np.pad([1,2,3], 3, 'reflect') == [2 3 2 1 2 3 2 1 2]
        assert_eq!(run(PadMode::Reflect), [2, 3, 2, 1, 2, 3, 2, 1, 2]);
        assert_eq!(run(PadMode::Edge), [1, 1, 1, 1, 2, 3, 3, 3, 3]);
        assert_eq!(run(PadMode::Wrap), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
        // Negative begin crops.
        let mut out = [0; 2];
        pad(&x, &[3], &[-1], &[2], PadMode::Constant, 0, &mut out);
        assert_eq!(out, [2, 3]);
    }

    #[test]
    fn gathers_and_scatters() {
        let x = [1, 2, 3, 4, 5, 6]; // [3, 2]
        let mut out = [0; 4];
        gather(&x, 3, 2, &[2, 0], &mut out);
        assert_eq!(out, [5, 6, 1, 2]);
        // GatherElements axis 1 on [[1,2],[3,4]] with [[0,0],[1,0]] -> [[1,1],[4,3]].
        let mut out = [0; 4];
        gather_elements(&[1, 2, 3, 4], &[2, 2], &[0, 0, 1, 0], &[2, 2], 1, &mut out);
        assert_eq!(out, [1, 1, 4, 3]);
        let mut d = [0, 0, 0, 0];
        scatter_elements(&mut d, &[2, 2], &[1, 1], &[5, 7], &[1, 2], 0, |a, b| a + b);
        assert_eq!(d, [0, 0, 5, 7]);
        let mut d = [1, 1, 1, 1];
        scatter_slices(&mut d, &[2, 2], 2, &[3, 4, 5, 6], |a, b| a * b);
        assert_eq!(d, [1, 1, 15, 24]);
    }

    #[test]
    fn trilu_diagonals() {
        let x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut out = [0; 9];
        trilu(&x, 3, 3, 1, true, 0, &mut out);
        assert_eq!(out, [0, 2, 3, 0, 0, 6, 0, 0, 0]);
        trilu(&x, 3, 3, -1, false, 0, &mut out);
        assert_eq!(out, [0, 0, 0, 4, 0, 0, 7, 8, 0]);
    }
}
