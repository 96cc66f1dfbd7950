//! Sliding-window geometry shared by convolution and pooling: padding modes, output sizes.

use crate::infer::InferError;
use crate::infer_err;
use crate::types::Dim;

/// ONNX `auto_pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AutoPad {
    /// Explicit `pads`.
    #[default]
    NotSet,
    /// Pad so that `out = ceil(in / stride)`, the extra element at the end.
    SameUpper,
    /// As `SameUpper`, the extra element at the beginning.
    SameLower,
    /// No padding.
    Valid,
}

/// Window attributes of a convolution or pooling op. Empty vectors mean the ONNX defaults
/// (strides and dilations 1, pads 0).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Window {
    /// Spatial kernel shape; `None` when it comes from the weight tensor.
    pub kernel_shape: Option<Vec<usize>>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// `[begin_0, begin_1, .., end_0, end_1, ..]`.
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
    /// Pooling only: round the output size up.
    pub ceil_mode: bool,
    /// Pooling only: SAME padding is computed from the undilated kernel and the output size
    /// from that padding and the dilated kernel, as onnxruntime and the ONNX reference
    /// implementation do (the spec text uses the dilated kernel for both).
    pub same_undilated: bool,
}

/// A window resolved against concrete spatial sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Padding per axis; negative when a SAME window is smaller than its stride.
    pub pads_begin: Vec<isize>,
    pub pads_end: Vec<isize>,
    /// Output spatial sizes.
    pub out: Vec<usize>,
}

/// Largest stride, dilation or pad a window may have.
pub const MAX_WINDOW_ATTR: usize = 1 << 32;

fn nth_or(v: &[usize], i: usize, default: usize) -> usize {
    v.get(i).copied().unwrap_or(default)
}

impl Window {
    /// Checks attribute lengths and ranges against the spatial rank and kernel.
    pub fn check(&self, rank: usize, kernel: &[usize]) -> Result<(), InferError> {
        if kernel.len() != rank {
            return Err(infer_err!("kernel has {} spatial dims but the input has {rank}", kernel.len()));
        }
        for (name, v) in [("strides", &self.strides), ("dilations", &self.dilations)] {
            if !v.is_empty() && v.len() != rank {
                return Err(infer_err!("`{name}` has {} values for {rank} spatial dims", v.len()));
            }
            if v.contains(&0) {
                return Err(infer_err!("`{name}` must be positive, got {v:?}"));
            }
        }
        if !self.pads.is_empty() && self.pads.len() != 2 * rank {
            return Err(infer_err!("`pads` has {} values for {rank} spatial dims", self.pads.len()));
        }
        // Kernels index with `o * stride + k * dilation - pad` in `isize`; with these bounds
        // (and dims within the tensor size limit) that cannot overflow.
        for (name, v) in [("strides", &self.strides), ("dilations", &self.dilations), ("pads", &self.pads)] {
            if v.iter().any(|&x| x > MAX_WINDOW_ATTR) {
                return Err(infer_err!("`{name}` values above {MAX_WINDOW_ATTR} are not supported, got {v:?}"));
            }
        }
        Ok(())
    }

    pub fn stride(&self, i: usize) -> usize {
        nth_or(&self.strides, i, 1)
    }

    pub fn dilation(&self, i: usize) -> usize {
        nth_or(&self.dilations, i, 1)
    }

    /// Padding at the beginning and end of spatial axis `i` (explicit pads only).
    fn explicit_pads(&self, i: usize, rank: usize) -> (usize, usize) {
        (nth_or(&self.pads, i, 0), nth_or(&self.pads, i + rank, 0))
    }

    /// `(pad_begin, pad_end, out)` of spatial axis `i` (of `rank`) for input size `input` and
    /// kernel size `k`.
    ///
    /// SAME padding follows the spec (`out = ceil(in / stride)`, the dilated kernel decides the
    /// padding). When the stride exceeds the window the total is negative; it is split by
    /// truncation toward zero as onnxruntime does (for SAME_LOWER, `begin = (total + 1) / 2`).
    pub fn axis(&self, i: usize, rank: usize, input: usize, k: usize) -> Result<(isize, isize, usize), InferError> {
        let s = self.stride(i);
        let ek = self.dilated(i, k)?;
        let too_large = || infer_err!("spatial axis {i}: the window geometry overflows (input {input}, kernel {k})");
        match self.auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                let target = input.div_ceil(s);
                let window = if self.same_undilated { k.max(1) } else { ek };
                let total = ((target.max(1) - 1) as u128 * s as u128 + window as u128) as i128 - input as i128;
                let b = if self.auto_pad == AutoPad::SameUpper { total / 2 } else { (total + 1) / 2 };
                // Division truncates toward zero, as in onnxruntime.
                let span = input as i128 + total - ek as i128;
                let out = (span / s as i128 + 1).max(0);
                let (b, e) = (isize::try_from(b).map_err(|_| too_large())?, isize::try_from(total - b));
                Ok((b, e.map_err(|_| too_large())?, usize::try_from(out).map_err(|_| too_large())?))
            }
            AutoPad::NotSet | AutoPad::Valid => {
                let (b, e) = if self.auto_pad == AutoPad::Valid { (0, 0) } else { self.explicit_pads(i, rank) };
                let (ib, ie) = (isize::try_from(b).map_err(|_| too_large())?, isize::try_from(e));
                let padded = input
                    .checked_add(b)
                    .and_then(|x| x.checked_add(e))
                    .filter(|&x| isize::try_from(x).is_ok())
                    .ok_or_else(too_large)?;
                if padded < ek {
                    // No window fits: an empty output, as onnxruntime gives.
                    return Ok((ib, ie.map_err(|_| too_large())?, 0));
                }
                let span = padded - ek;
                let mut out = if self.ceil_mode { span.div_ceil(s) + 1 } else { span / s + 1 };
                // A last window that would start inside the end padding is dropped.
                if self.ceil_mode && (out - 1) * s >= input + b {
                    out -= 1;
                }
                Ok((ib, ie.map_err(|_| too_large())?, out))
            }
        }
    }

    /// The dilated extent `(k - 1) * dilation + 1` of a kernel of size `k` on spatial axis `i`.
    fn dilated(&self, i: usize, k: usize) -> Result<usize, InferError> {
        (k.max(1) - 1)
            .checked_mul(self.dilation(i))
            .and_then(|x| x.checked_add(1))
            .ok_or_else(|| infer_err!("spatial axis {i}: kernel {k} with dilation {} is too large", self.dilation(i)))
    }

    /// Resolves the window for concrete spatial input sizes and kernel.
    pub fn resolve(&self, input: &[usize], kernel: &[usize]) -> Result<Resolved, InferError> {
        let rank = input.len();
        self.check(rank, kernel)?;
        let mut r = Resolved {
            kernel: kernel.to_vec(),
            strides: (0..rank).map(|i| self.stride(i)).collect(),
            dilations: (0..rank).map(|i| self.dilation(i)).collect(),
            pads_begin: Vec::with_capacity(rank),
            pads_end: Vec::with_capacity(rank),
            out: Vec::with_capacity(rank),
        };
        for i in 0..rank {
            let (b, e, o) = self.axis(i, rank, input[i], kernel[i])?;
            r.pads_begin.push(b);
            r.pads_end.push(e);
            r.out.push(o);
        }
        Ok(r)
    }

    /// Output spatial dims for static inference (unknown where the input dim is unknown).
    pub fn infer_out(&self, input: &[Dim], kernel: &[usize]) -> Result<Vec<Dim>, InferError> {
        let rank = input.len();
        self.check(rank, kernel)?;
        let mut out = Vec::with_capacity(rank);
        for (i, d) in input.iter().enumerate() {
            out.push(match d {
                Dim::Known(n) => Dim::Known(self.axis(i, rank, *n, kernel[i])?.2),
                _ => Dim::Unknown,
            });
        }
        Ok(out)
    }

    /// Geometry of a transposed convolution: `(pad_begin, pad_end, out)` of spatial axis `i`.
    /// `output_shape` (if given) wins over `pads`, as in the ONNX spec; a negative total padding
    /// (requested output larger than the full size) is split rounding toward -inf as the ONNX
    /// reference does.
    pub fn transpose_axis(
        &self,
        i: usize,
        rank: usize,
        input: usize,
        k: usize,
        output_padding: usize,
        output_shape: Option<usize>,
    ) -> Result<(isize, isize, usize), InferError> {
        let s = self.stride(i);
        let ek = self.dilated(i, k)?;
        let too_large = || infer_err!("spatial axis {i}: the transposed output size overflows (input {input})");
        let full = s
            .checked_mul(input.saturating_sub(1))
            .and_then(|x| x.checked_add(output_padding))
            .and_then(|x| x.checked_add(ek))
            .filter(|&x| isize::try_from(x).is_ok())
            .ok_or_else(too_large)?;
        let target = match (output_shape, self.auto_pad) {
            (Some(o), _) => Some(o),
            // `in * stride`, but never beyond the full size (onnxruntime clamps the total
            // padding at 0 when the kernel is smaller than the stride).
            (None, AutoPad::SameUpper | AutoPad::SameLower) => Some(input.saturating_mul(s).min(full)),
            _ => None,
        };
        match target {
            Some(out) => {
                let total = full as isize - isize::try_from(out).map_err(|_| too_large())?;
                let small = total.div_euclid(2);
                let (b, e) =
                    if self.auto_pad == AutoPad::SameUpper { (small, total - small) } else { (total - small, small) };
                Ok((b, e, out))
            }
            None => {
                let (b, e) = if self.auto_pad == AutoPad::Valid { (0, 0) } else { self.explicit_pads(i, rank) };
                let out = b
                    .checked_add(e)
                    .and_then(|p| full.checked_sub(p))
                    .ok_or_else(|| infer_err!("spatial axis {i}: pads {b}+{e} exceed the output size {full}"))?;
                Ok((b as isize, e as isize, out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(auto_pad: AutoPad, strides: &[usize], pads: &[usize], ceil: bool) -> Window {
        Window {
            kernel_shape: None,
            strides: strides.to_vec(),
            dilations: vec![],
            pads: pads.to_vec(),
            auto_pad,
            ceil_mode: ceil,
            same_undilated: false,
        }
    }

    #[test]
    fn same_and_valid() {
        // in 5, k 3, s 2: SAME -> out 3, total pad 2.
        assert_eq!(w(AutoPad::SameUpper, &[2], &[], false).axis(0, 1, 5, 3).unwrap(), (1, 1, 3));
        // in 4, k 3, s 1 -> total 2; in 4, k 2 -> total 1 (upper puts it at the end).
        assert_eq!(w(AutoPad::SameUpper, &[1], &[], false).axis(0, 1, 4, 2).unwrap(), (0, 1, 4));
        assert_eq!(w(AutoPad::SameLower, &[1], &[], false).axis(0, 1, 4, 2).unwrap(), (1, 0, 4));
        assert_eq!(w(AutoPad::Valid, &[2], &[3, 3], false).axis(0, 1, 5, 3).unwrap(), (0, 0, 2));
        // Stride larger than the kernel: negative padding, split toward zero (in 6, k 1, s 2:
        // total -1 -> begin 0, end -1, so windows start at 0, 2, 4).
        assert_eq!(w(AutoPad::SameUpper, &[2], &[], false).axis(0, 1, 6, 1).unwrap(), (0, -1, 3));
        assert_eq!(w(AutoPad::SameLower, &[2], &[], false).axis(0, 1, 6, 1).unwrap(), (0, -1, 3));
        assert_eq!(w(AutoPad::SameUpper, &[3], &[], false).axis(0, 1, 3, 1).unwrap(), (-1, -1, 1));
    }

    #[test]
    fn ceil_mode_drops_window_starting_in_padding() {
        // in 4, k 3, s 2, no pad: floor -> 1, ceil -> 2 (second window starts at 2 < 4).
        assert_eq!(w(AutoPad::NotSet, &[2], &[], true).axis(0, 1, 4, 3).unwrap().2, 2);
        assert_eq!(w(AutoPad::NotSet, &[2], &[], false).axis(0, 1, 4, 3).unwrap().2, 1);
        // in 2, k 1, s 2, pads (1,1): ceil gives 3 windows starting at -1, 1, 3; the last
        // starts at padded index 4 >= in + pad_begin = 3, so it is dropped.
        assert_eq!(w(AutoPad::NotSet, &[2], &[1, 1], true).axis(0, 1, 2, 1).unwrap().2, 2);
    }

    #[test]
    fn kernel_larger_than_input_gives_empty_output() {
        assert_eq!(w(AutoPad::NotSet, &[], &[], false).axis(0, 1, 2, 3).unwrap().2, 0);
    }

    #[test]
    fn same_pooling_with_dilation_pads_for_the_undilated_kernel() {
        // in 5, k 3, dilation 2, stride 1: pads 1 + 1 (from k = 3), out (5 + 2 - 5) + 1 = 3.
        let mut win = w(AutoPad::SameLower, &[], &[], false);
        win.dilations = vec![2];
        assert_eq!(win.axis(0, 1, 5, 3).unwrap(), (2, 2, 5));
        win.same_undilated = true;
        assert_eq!(win.axis(0, 1, 5, 3).unwrap(), (1, 1, 3));
    }

    #[test]
    fn transpose_sizes() {
        let win = w(AutoPad::NotSet, &[3], &[], false);
        // 3 * (3 - 1) + 0 + 3 = 9
        assert_eq!(win.transpose_axis(0, 1, 3, 3, 0, None).unwrap(), (0, 0, 9));
        assert_eq!(win.transpose_axis(0, 1, 3, 3, 1, None).unwrap(), (0, 0, 10));
        // Requested output 10 from full 11: one pad, at the beginning for NOTSET.
        assert_eq!(win.transpose_axis(0, 1, 3, 3, 2, Some(10)).unwrap(), (1, 0, 10));
        // Output 10 from full 9: the extra element goes at the end; 11 needs a negative begin.
        assert_eq!(win.transpose_axis(0, 1, 3, 3, 0, Some(10)).unwrap(), (0, -1, 10));
        assert_eq!(win.transpose_axis(0, 1, 3, 3, 0, Some(11)).unwrap(), (-1, -1, 11));
    }
}
