//! Convolution, transposed convolution, deformable convolution and col2im.
//!
//! Loops run per output channel and kernel tap over whole output rows, so the innermost loop
//! walks contiguous memory (with stride 1).

use num_traits::Float;

use super::Spatial;

/// Channel layout of a grouped convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub group: usize,
}

/// `y = conv(x, w) + bias`. `x` is `[N, C, D, H, W]`, `w` is `[M, C/group, kd, kh, kw]`, `y` is
/// `[N, M, oD, oH, oW]` (fully overwritten).
pub fn conv<T: Float>(c: &Channels, s: &Spatial, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    let (cig, cog) = (c.in_channels / c.group, c.out_channels / c.group);
    let (in_plane, out_plane, kvol) = (s.in_plane(), s.out_plane(), s.kernel_size());
    let [_, ih_len, iw_len] = s.input;
    let [_, oh_len, ow_len] = s.output;
    for n in 0..c.batch {
        for oc in 0..c.out_channels {
            let g = oc / cog;
            let yp = &mut y[(n * c.out_channels + oc) * out_plane..][..out_plane];
            yp.fill(bias.map_or(T::zero(), |b| b[oc]));
            for icl in 0..cig {
                let ic = g * cig + icl;
                let xp = &x[(n * c.in_channels + ic) * in_plane..][..in_plane];
                let wk = &w[(oc * cig + icl) * kvol..][..kvol];
                let mut t = 0;
                for kd in 0..s.kernel[0] {
                    for kh in 0..s.kernel[1] {
                        for kw in 0..s.kernel[2] {
                            let wv = wk[t];
                            t += 1;
                            let (d_lo, d_hi) = s.valid_outputs(0, kd);
                            let (h_lo, h_hi) = s.valid_outputs(1, kh);
                            let (w_lo, w_hi) = s.valid_outputs(2, kw);
                            if w_lo == w_hi {
                                continue;
                            }
                            for od in d_lo..d_hi {
                                let id = s.input_pos(0, od, kd) as usize;
                                for oh in h_lo..h_hi {
                                    let ih = s.input_pos(1, oh, kh) as usize;
                                    let xr = &xp[(id * ih_len + ih) * iw_len..][..iw_len];
                                    let yr = &mut yp[(od * oh_len + oh) * ow_len..][..ow_len];
                                    let iw0 = s.input_pos(2, w_lo, kw) as usize;
                                    let sw = s.strides[2];
                                    if sw == 1 {
                                        for (yv, &xv) in yr[w_lo..w_hi].iter_mut().zip(&xr[iw0..]) {
                                            *yv = *yv + wv * xv;
                                        }
                                    } else {
                                        for (j, yv) in yr[w_lo..w_hi].iter_mut().enumerate() {
                                            *yv = *yv + wv * xr[iw0 + j * sw];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Transposed convolution. `x` is `[N, C, D, H, W]`, `w` is `[C, M/group, kd, kh, kw]`, `y` is
/// `[N, M, oD, oH, oW]` (fully overwritten). In `s`, `input`/`output` are those of the
/// transposed op and `pads` are its begin pads: input position `i` and tap `k` land on output
/// `i * stride + k * dilation - pad`.
pub fn conv_transpose<T: Float>(c: &Channels, s: &Spatial, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    let (cig, cog) = (c.in_channels / c.group, c.out_channels / c.group);
    let (in_plane, out_plane, kvol) = (s.in_plane(), s.out_plane(), s.kernel_size());
    let [_, ih_len, iw_len] = s.input;
    let [_, oh_len, ow_len] = s.output;
    // Input positions whose target lands inside the output: the roles of input and output swap.
    let range = |a: usize, k: usize| {
        super::valid_range(s.input[a], s.output[a], s.strides[a], (k * s.dilations[a]) as isize - s.pads[a])
    };
    for n in 0..c.batch {
        for oc in 0..c.out_channels {
            let (g, ocl) = (oc / cog, oc % cog);
            let yp = &mut y[(n * c.out_channels + oc) * out_plane..][..out_plane];
            yp.fill(bias.map_or(T::zero(), |b| b[oc]));
            for icl in 0..cig {
                let ic = g * cig + icl;
                let xp = &x[(n * c.in_channels + ic) * in_plane..][..in_plane];
                let wk = &w[(ic * cog + ocl) * kvol..][..kvol];
                let mut t = 0;
                for kd in 0..s.kernel[0] {
                    for kh in 0..s.kernel[1] {
                        for kw in 0..s.kernel[2] {
                            let wv = wk[t];
                            t += 1;
                            let (d_lo, d_hi) = range(0, kd);
                            let (h_lo, h_hi) = range(1, kh);
                            let (w_lo, w_hi) = range(2, kw);
                            for id in d_lo..d_hi {
                                let od = s.input_pos(0, id, kd) as usize;
                                for ih in h_lo..h_hi {
                                    let oh = s.input_pos(1, ih, kh) as usize;
                                    let xr = &xp[(id * ih_len + ih) * iw_len..][..iw_len];
                                    let yr = &mut yp[(od * oh_len + oh) * ow_len..][..ow_len];
                                    for iw in w_lo..w_hi {
                                        let ow = s.input_pos(2, iw, kw) as usize;
                                        yr[ow] = yr[ow] + wv * xr[iw];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bilinear sample of plane `p` (`h` x `w`) at `(y, x)`; zero outside.
fn bilinear<T: Float>(p: &[T], h: usize, w: usize, y: T, x: T) -> T {
    let (hf, wf) = (T::from(h).unwrap_or(T::zero()), T::from(w).unwrap_or(T::zero()));
    if !(y > -T::one() && y < hf && x > -T::one() && x < wf) {
        return T::zero();
    }
    let (y0, x0) = (y.floor(), x.floor());
    let (ly, lx) = (y - y0, x - x0);
    let (y0i, x0i) = (y0.to_isize().unwrap_or(-2), x0.to_isize().unwrap_or(-2));
    let at = |yy: isize, xx: isize| -> T {
        if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
            p[yy as usize * w + xx as usize]
        } else {
            T::zero()
        }
    };
    let one = T::one();
    at(y0i, x0i) * (one - ly) * (one - lx)
        + at(y0i, x0i + 1) * (one - ly) * lx
        + at(y0i + 1, x0i) * ly * (one - lx)
        + at(y0i + 1, x0i + 1) * ly * lx
}

/// Deformable 2-D convolution (`s.input[0] == s.output[0] == s.kernel[0] == 1`). `offset` is
/// `[N, offset_group * kh * kw * 2, oH, oW]` (y then x per tap), `mask` is
/// `[N, offset_group * kh * kw, oH, oW]` or `None` (all ones).
pub fn deform_conv2d<T: Float>(
    c: &Channels,
    s: &Spatial,
    offset_group: usize,
    x: &[T],
    w: &[T],
    offset: &[T],
    mask: Option<&[T]>,
    bias: Option<&[T]>,
    y: &mut [T],
) {
    let (cig, cog) = (c.in_channels / c.group, c.out_channels / c.group);
    let [_, ih_len, iw_len] = s.input;
    let [_, oh_len, ow_len] = s.output;
    let [_, kh_len, kw_len] = s.kernel;
    let (in_plane, out_plane, kvol) = (ih_len * iw_len, oh_len * ow_len, kh_len * kw_len);
    let cpo = c.in_channels / offset_group;
    for n in 0..c.batch {
        for oc in 0..c.out_channels {
            let g = oc / cog;
            let yp = &mut y[(n * c.out_channels + oc) * out_plane..][..out_plane];
            yp.fill(bias.map_or(T::zero(), |b| b[oc]));
            for icl in 0..cig {
                let ic = g * cig + icl;
                let og = ic / cpo;
                let xp = &x[(n * c.in_channels + ic) * in_plane..][..in_plane];
                let wk = &w[(oc * cig + icl) * kvol..][..kvol];
                for kh in 0..kh_len {
                    for kw in 0..kw_len {
                        let tap = kh * kw_len + kw;
                        let wv = wk[tap];
                        let off_y = &offset[((n * offset_group + og) * kvol * 2 + 2 * tap) * out_plane..][..out_plane];
                        let off_x =
                            &offset[((n * offset_group + og) * kvol * 2 + 2 * tap + 1) * out_plane..][..out_plane];
                        let m = mask.map(|m| &m[((n * offset_group + og) * kvol + tap) * out_plane..][..out_plane]);
                        for oh in 0..oh_len {
                            for ow in 0..ow_len {
                                let o = oh * ow_len + ow;
                                let py = T::from(s.input_pos(1, oh, kh)).unwrap_or(T::zero()) + off_y[o];
                                let px = T::from(s.input_pos(2, ow, kw)).unwrap_or(T::zero()) + off_x[o];
                                let mut v = bilinear(xp, ih_len, iw_len, py, px);
                                if let Some(m) = m {
                                    v = v * m[o];
                                }
                                yp[o] = yp[o] + wv * v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Col2Im: sums `[N, C * kvol, L]` blocks back into `[N, C, D, H, W]` images (`y` is
/// overwritten). `s.output` is the block grid (`L` = its product), `s.input` the image size.
pub fn col2im<T: Float>(batch_channels: usize, s: &Spatial, x: &[T], y: &mut [T]) {
    let (img_plane, kvol, l) = (s.in_plane(), s.kernel_size(), s.out_plane());
    y.fill(T::zero());
    for bc in 0..batch_channels {
        let yp = &mut y[bc * img_plane..][..img_plane];
        let mut t = 0;
        for kd in 0..s.kernel[0] {
            for kh in 0..s.kernel[1] {
                for kw in 0..s.kernel[2] {
                    let xr = &x[(bc * kvol + t) * l..][..l];
                    t += 1;
                    let (d_lo, d_hi) = s.valid_outputs(0, kd);
                    let (h_lo, h_hi) = s.valid_outputs(1, kh);
                    let (w_lo, w_hi) = s.valid_outputs(2, kw);
                    for bd in d_lo..d_hi {
                        let id = s.input_pos(0, bd, kd) as usize;
                        for bh in h_lo..h_hi {
                            let ih = s.input_pos(1, bh, kh) as usize;
                            for bw in w_lo..w_hi {
                                let iw = s.input_pos(2, bw, kw) as usize;
                                let i = (id * s.input[1] + ih) * s.input[2] + iw;
                                yp[i] = yp[i] + xr[(bd * s.output[1] + bh) * s.output[2] + bw];
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(input: [usize; 3], output: [usize; 3], kernel: [usize; 3], strides: [usize; 3], pads: [isize; 3]) -> Spatial {
        Spatial { input, output, kernel, strides, dilations: [1; 3], pads }
    }

    #[test]
    fn conv_padded_3x3_sums_neighbours() {
        // All-ones 3x3 kernel on a 3x3 input with pad 1: each output = sum of its neighbourhood.
        let x: [f32; 9] = [1., 2., 3., 4., 5., 6., 7., 8., 9.];
        let w = [1.0f32; 9];
        let mut y = [0.0f32; 9];
        let c = Channels { batch: 1, in_channels: 1, out_channels: 1, group: 1 };
        conv(&c, &sp([1, 3, 3], [1, 3, 3], [1, 3, 3], [1; 3], [0, 1, 1]), &x, &w, Some(&[0.5]), &mut y);
        assert_eq!(y, [12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5]);
    }

    #[test]
    fn conv_transpose_is_adjoint_of_conv() {
        // <conv(x), y> == <x, conv_transpose(y)> for a strided, padded 1-D problem.
        let c = Channels { batch: 1, in_channels: 1, out_channels: 1, group: 1 };
        let x = [1.0f64, -2.0, 3.0, 0.5, 4.0, -1.0, 2.0];
        let w = [0.5f64, -1.0, 2.0];
        let s = sp([1, 1, 7], [1, 1, 4], [1, 1, 3], [1, 1, 2], [0, 0, 1]);
        let mut cx = [0.0; 4];
        conv(&c, &s, &x, &w, None, &mut cx);
        let yv = [1.0f64, 2.0, -3.0, 0.25];
        let st = sp([1, 1, 4], [1, 1, 7], [1, 1, 3], [1, 1, 2], [0, 0, 1]);
        let mut ty = [0.0; 7];
        conv_transpose(&c, &st, &yv, &w, None, &mut ty);
        let lhs: f64 = cx.iter().zip(&yv).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&ty).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }

    #[test]
    fn bilinear_interpolates_and_zero_pads() {
        let p = [0.0f32, 1.0, 2.0, 3.0];
        assert_eq!(bilinear(&p, 2, 2, 0.5, 0.5), 1.5);
        assert_eq!(bilinear(&p, 2, 2, -0.5, 0.0), 0.0);
        assert_eq!(bilinear(&p, 2, 2, 5.0, 0.0), 0.0);
    }
}
