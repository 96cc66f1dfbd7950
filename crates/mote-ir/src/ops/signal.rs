//! Signal ops: DFT, STFT, window functions, MelWeightMatrix.
//!
//! Complex tensors carry a trailing dimension of 2 (real, imaginary); real signals may use a
//! trailing dimension of 1.

use mote_core::DType;

use crate::infer::{InferCx, InferError, normalize_axis};
use crate::infer_err;
use crate::ops::OpFamily;
use crate::types::{Dim, ValueType};

/// Signal ops.
#[derive(Clone, Debug, PartialEq)]
pub enum SignalOp {
    /// `DFT(input, dft_length?, axis?)`: a 1-D DFT along `axis` (a scalar input, default -2;
    /// never the trailing complex axis). The signal is zero-padded or truncated to
    /// `dft_length` (default: the axis size, or `2 * (size - 1)` for the inverse one-sided
    /// case). `onesided` forward returns the `dft_length / 2 + 1` non-redundant bins; `onesided`
    /// inverse reads such bins and returns the real signal (trailing dim 1). `inverse` scales by
    /// `1 / dft_length`.
    Dft { inverse: bool, onesided: bool },
    /// `STFT(signal [B, L, 1|2], frame_step, window?, frame_length?)` -> `[B, frames, bins, 2]`:
    /// the DFT of each windowed frame, `frames = (L - frame_length) / frame_step + 1`.
    Stft { onesided: bool },
    /// `HannWindow`/`HammingWindow`/`BlackmanWindow(size)` -> `[size]` of `dtype`.
    Window { kind: WindowKind, periodic: bool, dtype: DType },
    /// `MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
    /// upper_edge_hertz)` -> `[dft_length / 2 + 1, num_mel_bins]` triangular filters of `dtype`.
    MelWeightMatrix { dtype: DType },
}

/// Window shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Hann,
    Hamming,
    Blackman,
}

impl OpFamily for SignalOp {
    fn name(&self) -> &'static str {
        match self {
            SignalOp::Dft { .. } => "DFT",
            SignalOp::Stft { .. } => "STFT",
            SignalOp::Window { kind: WindowKind::Hann, .. } => "HannWindow",
            SignalOp::Window { kind: WindowKind::Hamming, .. } => "HammingWindow",
            SignalOp::Window { kind: WindowKind::Blackman, .. } => "BlackmanWindow",
            SignalOp::MelWeightMatrix { .. } => "MelWeightMatrix",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let t = match self {
            SignalOp::Dft { inverse, onesided } => cx.like(0, dft_shape(cx, *inverse, *onesided)?),
            SignalOp::Stft { onesided } => cx.like(0, stft_shape(cx, *onesided)),
            SignalOp::Window { dtype, .. } => {
                let size = const_scalar(cx, 0).filter(|&s| s >= 0).map_or(Dim::Unknown, |s| Dim::Known(s as usize));
                ValueType::tensor(*dtype, vec![size])
            }
            SignalOp::MelWeightMatrix { dtype } => {
                let known = |i: usize, f: fn(usize) -> usize| {
                    const_scalar(cx, i).filter(|&v| v >= 0).map_or(Dim::Unknown, |v| Dim::Known(f(v as usize)))
                };
                ValueType::tensor(*dtype, vec![known(1, |n| n / 2 + 1), known(0, |m| m)])
            }
        };
        Ok(vec![t])
    }

    /// Real multiply-accumulates of a direct DFT: per output bin, one complex product (4 real
    /// MACs, 2 for real input) per input sample used.
    fn macs(&self, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
        let input = cx.tensor(0).known_shape()?;
        let out = outputs.first()?.as_tensor()?.known_shape()?;
        let per_product = if *input.last()? == 2 { 4 } else { 2 };
        let (transforms, bins, samples) = match self {
            SignalOp::Dft { .. } => {
                let r = input.len();
                let axis = if cx.opt(2).is_none() { -2 } else { const_scalar(cx, 2)? };
                let a = normalize_axis(axis, r).ok()?;
                let bins = *out.get(a)?;
                let len = if cx.opt(1).is_none() {
                    input[a]
                } else {
                    usize::try_from(const_scalar(cx, 1)?).ok()?.min(input[a])
                };
                // Every axis but `a` and the trailing complex axis.
                let mut others = out.get(..a)?.iter().chain(out.get(a + 1..r.checked_sub(1)?)?);
                let transforms = others.try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
                (transforms, bins, len)
            }
            // [batch, frames, bins, 2]; each frame reads `frame_length` samples.
            SignalOp::Stft { .. } => {
                let &[batch, frames, bins, _] = out.as_slice() else { return None };
                let frame = if cx.opt(3).is_some() {
                    usize::try_from(const_scalar(cx, 3)?).ok()?
                } else if cx.opt(2).is_some() {
                    *cx.tensor(2).known_shape()?.first()?
                } else {
                    *input.get(1)?
                };
                (batch.checked_mul(frames)?, bins, frame)
            }
            _ => return None,
        };
        (transforms as u64).checked_mul(bins as u64)?.checked_mul(samples as u64)?.checked_mul(per_product)
    }
}

/// A constant one-element integer input.
fn const_scalar(cx: &InferCx<'_>, i: usize) -> Option<i64> {
    match cx.const_i64s(i).as_deref() {
        Some([v]) => Some(*v),
        _ => None,
    }
}

fn dft_shape(cx: &InferCx<'_>, inverse: bool, onesided: bool) -> Result<Option<Vec<Dim>>, InferError> {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len();
    if r < 2 {
        return Err(infer_err!("DFT input must have rank >= 2, got {r}"));
    }
    let last = Dim::Known(if inverse && onesided { 1 } else { 2 });
    let axis = if cx.opt(2).is_none() { Some(-2) } else { const_scalar(cx, 2) };
    let length = if cx.opt(1).is_none() { None } else { Some(const_scalar(cx, 1)) };
    let Some(axis) = axis else {
        // Unknown axis: only the trailing dim is certain, unless no dim changes.
        let same = length.is_none() && !onesided;
        let mut out: Vec<Dim> = if same { s.to_vec() } else { vec![Dim::Unknown; r] };
        out[r - 1] = last;
        return Ok(Some(out));
    };
    let a = normalize_axis(axis, r)?;
    if a == r - 1 {
        return Err(infer_err!("DFT axis {axis} is the complex axis"));
    }
    let n: Option<usize> = match length {
        Some(Some(l)) if l > 0 => Some(l as usize),
        Some(Some(l)) => return Err(infer_err!("dft_length must be positive, got {l}")),
        Some(None) => None,
        None => match s[a] {
            Dim::Known(d) if inverse && onesided => Some(
                d.saturating_sub(1).checked_mul(2).ok_or_else(|| infer_err!("DFT axis of size {d} is too large"))?,
            ),
            Dim::Known(d) => Some(d),
            _ => None,
        },
    };
    let mut out = s.to_vec();
    out[a] = match n {
        Some(n) if onesided && !inverse => Dim::Known(n / 2 + 1),
        Some(n) => Dim::Known(n),
        None if length.is_none() && !onesided => s[a].clone(),
        None => Dim::Unknown,
    };
    out[r - 1] = last;
    Ok(Some(out))
}

fn stft_shape(cx: &InferCx<'_>, onesided: bool) -> Option<Vec<Dim>> {
    let s = cx.shape(0)?;
    if s.len() != 3 {
        return None;
    }
    let step = const_scalar(cx, 1).filter(|&v| v > 0);
    let frame = if cx.opt(3).is_some() {
        const_scalar(cx, 3)
    } else if cx.opt(2).is_some() {
        cx.shape(2).and_then(|w| w.first()).and_then(Dim::known).map(|d| d as i64)
    } else {
        s[1].known().map(|d| d as i64)
    }
    .filter(|&v| v > 0);
    let frames = match (s[1].known(), step, frame) {
        (Some(l), Some(st), Some(f)) if l as i64 >= f => Dim::Known(((l as i64 - f) / st + 1) as usize),
        _ => Dim::Unknown,
    };
    let bins = frame.map_or(Dim::Unknown, |f| Dim::Known(if onesided { f as usize / 2 + 1 } else { f as usize }));
    Some(vec![s[0].clone(), frames, bins, Dim::Known(2)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;
    use crate::tensor::Tensor;

    #[test]
    fn dft_shapes() {
        let x = Fact::of_type(ValueType::tensor(DType::F32, vec![Dim::Sym("B".into()), Dim::Known(10), Dim::Known(1)]));
        let ax = Fact::of_value(Tensor::scalar(1i64));
        let inputs = [Some(x.clone()), None, Some(ax)];
        let cx = InferCx::new(&inputs, 1);
        let rfft = SignalOp::Dft { inverse: false, onesided: true }.infer(&cx).unwrap();
        assert_eq!(rfft[0], ValueType::tensor(DType::F32, vec![Dim::Sym("B".into()), Dim::Known(6), Dim::Known(2)]));
        let irfft = SignalOp::Dft { inverse: true, onesided: true }.infer(&cx).unwrap();
        assert_eq!(irfft[0], ValueType::tensor(DType::F32, vec![Dim::Sym("B".into()), Dim::Known(18), Dim::Known(1)]));
        let b4 = ValueType::tensor(DType::F32, vec![Dim::Known(4), Dim::Known(10), Dim::Known(1)]);
        let known = [Some(Fact::of_type(b4)), None, Some(Fact::of_value(Tensor::scalar(1i64)))];
        let kcx = InferCx::new(&known, 1);
        let full = SignalOp::Dft { inverse: false, onesided: false };
        let out = full.infer(&kcx).unwrap();
        assert_eq!(full.macs(&kcx, &out), Some(4 * 10 * 10 * 2));
        let bad = [Some(x), None, Some(Fact::of_value(Tensor::scalar(-1i64)))];
        assert!(SignalOp::Dft { inverse: false, onesided: false }.infer(&InferCx::new(&bad, 1)).is_err());
    }
}
