//! Pooling: max (with argmax indices), average, Lp, and max-unpooling.

use num_traits::Float;

use super::Spatial;

/// Calls `f(flat input index within the plane, [d, h, w])` for every window tap of output
/// position `o` that falls inside the input.
#[inline]
fn for_window(s: &Spatial, o: [usize; 3], mut f: impl FnMut(usize, [usize; 3])) {
    for kd in 0..s.kernel[0] {
        let id = s.input_pos(0, o[0], kd);
        if id < 0 || id as usize >= s.input[0] {
            continue;
        }
        for kh in 0..s.kernel[1] {
            let ih = s.input_pos(1, o[1], kh);
            if ih < 0 || ih as usize >= s.input[1] {
                continue;
            }
            for kw in 0..s.kernel[2] {
                let iw = s.input_pos(2, o[2], kw);
                if iw < 0 || iw as usize >= s.input[2] {
                    continue;
                }
                let p = [id as usize, ih as usize, iw as usize];
                f((p[0] * s.input[1] + p[1]) * s.input[2] + p[2], p);
            }
        }
    }
}

/// Number of window taps of output `o` inside the padded extent `[0, in + pad_begin + pad_end)`
/// (`pads_end` given separately): the divisor of average pooling with `count_include_pad`.
fn padded_count(s: &Spatial, pads_end: [isize; 3], o: [usize; 3]) -> usize {
    let mut n = 1;
    for a in 0..3 {
        let limit = s.input[a] as isize + s.pads[a] + pads_end[a];
        n *= (0..s.kernel[a]).filter(|&k| ((o[a] * s.strides[a] + k * s.dilations[a]) as isize) < limit).count();
    }
    n
}

fn for_outputs(s: &Spatial, mut f: impl FnMut(usize, [usize; 3])) {
    let mut i = 0;
    for od in 0..s.output[0] {
        for oh in 0..s.output[1] {
            for ow in 0..s.output[2] {
                f(i, [od, oh, ow]);
                i += 1;
            }
        }
    }
}

/// Max pooling over `planes` planes. Outputs whose window holds no input get `lowest`.
/// `indices` (if given) receives the flat index of each maximum in the whole input tensor,
/// row-major, or column-major over the spatial axes when `col_major` (ONNX `storage_order`).
pub fn max_pool<T: Copy + PartialOrd>(
    planes: usize,
    s: &Spatial,
    lowest: T,
    x: &[T],
    y: &mut [T],
    mut indices: Option<&mut [i64]>,
    col_major: bool,
) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    for c in 0..planes {
        let xp = &x[c * ip..][..ip];
        for_outputs(s, |o, pos| {
            let mut best: Option<(T, usize, [usize; 3])> = None;
            for_window(s, pos, |i, p| {
                let v = xp[i];
                // NaN never wins, as in `max` with ordered comparisons.
                if best.is_none_or(|(b, _, _)| v > b) {
                    best = Some((v, i, p));
                }
            });
            let (v, i, p) = best.unwrap_or((lowest, 0, [0; 3]));
            y[c * op + o] = v;
            if let Some(ind) = indices.as_deref_mut() {
                let flat = if col_major { p[0] + p[1] * s.input[0] + p[2] * s.input[0] * s.input[1] } else { i };
                ind[c * op + o] = (c * ip + flat) as i64;
            }
        });
    }
}

/// Average pooling. Without `count_include_pad` the divisor counts only taps inside the input;
/// with it, taps inside the padded extent.
pub fn avg_pool<T: Float>(
    planes: usize,
    s: &Spatial,
    pads_end: [isize; 3],
    count_include_pad: bool,
    x: &[T],
    y: &mut [T],
) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    for c in 0..planes {
        let xp = &x[c * ip..][..ip];
        for_outputs(s, |o, pos| {
            let mut sum = T::zero();
            let mut n = 0usize;
            for_window(s, pos, |i, _| {
                sum = sum + xp[i];
                n += 1;
            });
            if count_include_pad {
                n = padded_count(s, pads_end, pos);
            }
            y[c * op + o] = if n == 0 { T::nan() } else { sum / T::from(n).unwrap_or(T::one()) };
        });
    }
}

/// Lp pooling: `(sum |x|^p)^(1/p)` over the taps inside the input (padding adds zeros).
pub fn lp_pool<T: Float>(planes: usize, s: &Spatial, p: T, x: &[T], y: &mut [T]) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    for c in 0..planes {
        let xp = &x[c * ip..][..ip];
        for_outputs(s, |o, pos| {
            let mut sum = T::zero();
            for_window(s, pos, |i, _| sum = sum + xp[i].abs().powf(p));
            y[c * op + o] = sum.powf(T::one() / p);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s2(input: [usize; 2], output: [usize; 2], k: usize, stride: usize, pad: isize) -> Spatial {
        Spatial {
            input: [1, input[0], input[1]],
            output: [1, output[0], output[1]],
            kernel: [1, k, k],
            strides: [1, stride, stride],
            dilations: [1; 3],
            pads: [0, pad, pad],
        }
    }

    #[test]
    fn max_pool_with_indices_both_orders() {
        // 2x3 input, 2x2 window, stride 1 -> 1x2 output.
        let x = [1.0f32, 6.0, 2.0, 4.0, 3.0, 5.0];
        let s = s2([2, 3], [1, 2], 2, 1, 0);
        let mut y = [0.0; 2];
        let mut ind = [0i64; 2];
        max_pool(1, &s, f32::MIN, &x, &mut y, Some(&mut ind), false);
        assert_eq!(y, [6.0, 6.0]);
        assert_eq!(ind, [1, 1]);
        max_pool(1, &s, f32::MIN, &x, &mut y, Some(&mut ind), true);
        // (h=0, w=1) column-major over [H=2, W=3]: 0 + 1 * 2.
        assert_eq!(ind, [2, 2]);
    }

    #[test]
    fn average_divisor_with_and_without_pad() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let s = s2([2, 2], [2, 2], 2, 1, 1);
        let mut y = [0.0; 4];
        avg_pool(1, &s, [0, 0, 0], false, &x, &mut y);
        assert_eq!(y[0], 1.0);
        avg_pool(1, &s, [0, 0, 0], true, &x, &mut y);
        assert_eq!(y[0], 0.25);
    }
}
