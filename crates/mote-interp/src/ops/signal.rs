//! Signal ops. Transforms compute in f64 and round once to the input's dtype; windows and mel
//! matrices compute in f64 and convert to the requested dtype like `Cast`.

use mote_ir::ops::signal::{SignalOp, WindowKind};
use mote_ir::{Tensor, Value};
use mote_kernels::reference::signal::{Window, ref_dft, ref_dft_twiddles, ref_mel_weight_matrix, ref_window};

use super::elementwise::cast;
use super::{EvalCx, Inputs, axis, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &SignalOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        SignalOp::Dft { inverse, onesided } => {
            let length = inputs.opt_tensor(1)?.map(|t| scalar_int(t, "dft_length")).transpose()?;
            let ax = inputs.opt_tensor(2)?.map(|t| scalar_int(t, "axis")).transpose()?.unwrap_or(-2);
            one(dft(inputs.tensor(0)?, length, ax, *inverse, *onesided)?)
        }
        SignalOp::Stft { onesided } => {
            let step = scalar_int(inputs.tensor(1)?, "frame_step")?;
            let frame_length = inputs.opt_tensor(3)?.map(|t| scalar_int(t, "frame_length")).transpose()?;
            one(stft(inputs.tensor(0)?, step, inputs.opt_tensor(2)?, frame_length, *onesided)?)
        }
        SignalOp::Window { kind, periodic, dtype } => {
            let size = scalar_int(inputs.tensor(0)?, "size")?;
            let size = usize::try_from(size).map_err(|_| op_err!("window size must be non-negative, got {size}"))?;
            let kind = match kind {
                WindowKind::Hann => Window::Hann,
                WindowKind::Hamming => Window::Hamming,
                WindowKind::Blackman => Window::Blackman,
            };
            let mut w = vec![0f64; numel(&[size])?];
            ref_window(kind, *periodic, &mut w);
            one(cast(&Tensor::from_vec(vec![size], w)?, *dtype)?)
        }
        SignalOp::MelWeightMatrix { dtype } => {
            let int = |i: usize, what: &str| scalar_int(inputs.tensor(i)?, what);
            let float = |i: usize, what: &str| -> Result<f64, OpError> {
                let t = inputs.tensor(i)?;
                if !t.dtype().is_float() {
                    bail!("{what} must be a float scalar, got {}", t.dtype());
                }
                t.scalar_f64().map_err(|_| op_err!("{what} must have one element, got shape {:?}", t.shape()))
            };
            let m = mel_weight_matrix(
                int(0, "num_mel_bins")?,
                int(1, "dft_length")?,
                int(2, "sample_rate")?,
                float(3, "lower_edge_hertz")?,
                float(4, "upper_edge_hertz")?,
            )?;
            one(cast(&m, *dtype)?)
        }
    }
}

/// A one-element integer input.
fn scalar_int(t: &Tensor, what: &str) -> Result<i64, OpError> {
    if !t.dtype().is_int() {
        bail!("{what} must be an integer tensor, got {}", t.dtype());
    }
    t.scalar_i64().map_err(|_| op_err!("{what} must have exactly one element, got shape {:?}", t.shape()))
}

/// Checks a signal tensor (float, trailing dim 1 or 2) and returns it as f64 with its channel
/// count.
fn signal_f64(x: &Tensor, op: &str) -> Result<(Vec<f64>, usize), OpError> {
    if !x.dtype().is_float() {
        bail!("{op} needs a float signal, got {}", x.dtype());
    }
    match x.shape().last() {
        Some(&c) if (c == 1 || c == 2) && x.rank() >= 2 => Ok((x.to_f64_vec()?, c)),
        _ => bail!("{op} input must end with a dimension of 1 (real) or 2 (complex), got shape {:?}", x.shape()),
    }
}

/// `DFT` along axis `ax` (see [`SignalOp::Dft`]).
pub fn dft(x: &Tensor, length: Option<i64>, ax: i64, inverse: bool, onesided: bool) -> Result<Tensor, OpError> {
    let (xs, ch) = signal_f64(x, "DFT")?;
    let dims = x.shape();
    let r = dims.len();
    let a = axis(ax, r)?;
    if a == r - 1 {
        bail!("DFT axis {ax} is the trailing complex axis of shape {dims:?}");
    }
    let len = dims[a];
    let n = match length {
        Some(l) if l > 0 => l as usize,
        Some(l) => bail!("dft_length must be positive, got {l}"),
        None if inverse && onesided => 2 * len.saturating_sub(1),
        None => len,
    };
    if n == 0 {
        bail!("DFT of an empty signal (axis {a} of shape {dims:?})");
    }
    let irfft = inverse && onesided;
    let bins = if onesided && !inverse { n / 2 + 1 } else { n };
    let ch_out = if irfft { 1 } else { 2 };
    let outer: usize = dims[..a].iter().product();
    let inner: usize = dims[a + 1..r - 1].iter().product();
    let mut shape = dims.to_vec();
    shape[a] = bins;
    shape[r - 1] = ch_out;
    let mut out = vec![0f64; numel(&shape)?];
    let mut tw = vec![0f64; numel(&[n, 2])?];
    ref_dft_twiddles(n, &mut tw);
    // Samples read from the input: a one-sided spectrum is extended to n bins below.
    let take = if irfft { len.min(n / 2 + 1) } else { len.min(n) };
    let mut buf = vec![0f64; 2 * n];
    let mut res = vec![0f64; 2 * bins];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| ((o * len + k) * inner + i) * ch;
            buf.fill(0.0);
            for k in 0..take {
                buf[2 * k] = xs[at(k)];
                if ch == 2 {
                    buf[2 * k + 1] = xs[at(k) + 1];
                }
            }
            if irfft {
                // Hermitian extension: X[n - k] = conj(X[k]).
                for k in n / 2 + 1..n {
                    buf[2 * k] = buf[2 * (n - k)];
                    buf[2 * k + 1] = -buf[2 * (n - k) + 1];
                }
            }
            ref_dft(&buf, n, inverse, &tw, &mut res);
            for k in 0..bins {
                let p = ((o * bins + k) * inner + i) * ch_out;
                out[p] = res[2 * k];
                if ch_out == 2 {
                    out[p + 1] = res[2 * k + 1];
                }
            }
        }
    }
    cast(&Tensor::from_vec(shape, out)?, x.dtype())
}

/// `STFT` (see [`SignalOp::Stft`]).
pub fn stft(
    x: &Tensor,
    step: i64,
    window: Option<&Tensor>,
    frame_length: Option<i64>,
    onesided: bool,
) -> Result<Tensor, OpError> {
    let (xs, ch) = signal_f64(x, "STFT")?;
    let &[batch, len, _] = x.shape() else {
        bail!("STFT signal must have shape [batch, length, 1 or 2], got {:?}", x.shape());
    };
    if step <= 0 {
        bail!("frame_step must be positive, got {step}");
    }
    let w = match window {
        Some(w) => {
            if w.rank() != 1 || !w.dtype().is_float() {
                bail!("window must be a 1-D float tensor, got {} {:?}", w.dtype(), w.shape());
            }
            Some(w.to_f64_vec()?)
        }
        None => None,
    };
    let fl = match (frame_length, &w) {
        (Some(f), Some(w)) if f != w.len() as i64 => {
            bail!("frame_length {f} differs from the window length {}", w.len())
        }
        (Some(f), _) if f <= 0 => bail!("frame_length must be positive, got {f}"),
        (Some(f), _) => f as usize,
        (None, Some(w)) => w.len(),
        (None, None) => len,
    };
    if fl == 0 || fl > len {
        bail!("frame length {fl} must be in [1, {len}] (the signal length)");
    }
    let frames = (len - fl) / step as usize + 1;
    let bins = if onesided { fl / 2 + 1 } else { fl };
    let shape = vec![batch, frames, bins, 2];
    let mut out = vec![0f64; numel(&shape)?];
    let mut tw = vec![0f64; 2 * fl];
    ref_dft_twiddles(fl, &mut tw);
    let mut buf = vec![0f64; 2 * fl];
    for b in 0..batch {
        for f in 0..frames {
            let start = f * step as usize;
            for k in 0..fl {
                let p = (b * len + start + k) * ch;
                let g = w.as_ref().map_or(1.0, |w| w[k]);
                buf[2 * k] = xs[p] * g;
                buf[2 * k + 1] = if ch == 2 { xs[p + 1] * g } else { 0.0 };
            }
            let o = (b * frames + f) * bins * 2;
            ref_dft(&buf, fl, false, &tw, &mut out[o..o + bins * 2]);
        }
    }
    cast(&Tensor::from_vec(shape, out)?, x.dtype())
}

/// `MelWeightMatrix` in f64: `[dft_length / 2 + 1, num_mel_bins]` triangles peaking at 1,
/// their edges at spectrogram bins `floor((dft_length + 1) * hz / sample_rate)` of points
/// evenly spaced on the mel scale `2595 log10(1 + hz / 700)`.
pub fn mel_weight_matrix(
    num_mel_bins: i64,
    dft_length: i64,
    sample_rate: i64,
    lower_hz: f64,
    upper_hz: f64,
) -> Result<Tensor, OpError> {
    if num_mel_bins < 0 || dft_length <= 0 || sample_rate <= 0 {
        bail!(
            "MelWeightMatrix needs num_mel_bins >= 0, dft_length > 0 and sample_rate > 0, got {num_mel_bins}, {dft_length}, {sample_rate}"
        );
    }
    let (mels, dft) = (num_mel_bins as usize, dft_length as usize);
    let spec = dft / 2 + 1;
    let mut m = vec![0f64; numel(&[spec, mels])?];
    ref_mel_weight_matrix(mels, dft, sample_rate as f64, lower_hz, upper_hz, &mut |j, i, v| m[j * mels + i] = v)
        .map_err(|e| {
            op_err!("{e} (lower_edge_hertz {lower_hz}, upper_edge_hertz {upper_hz}, sample_rate {sample_rate})")
        })?;
    Ok(Tensor::from_vec(vec![spec, mels], m)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfft_irfft_roundtrip_odd_length() {
        let v: Vec<f32> = (0..7).map(|i| (i * i) as f32 - 3.0).collect();
        let x = Tensor::from_vec(vec![1, 7, 1], v.clone()).unwrap();
        let spec = dft(&x, None, 1, false, true).unwrap();
        assert_eq!(spec.shape(), &[1, 4, 2]);
        let back = dft(&spec, Some(7), 1, true, true).unwrap();
        assert_eq!(back.shape(), &[1, 7, 1]);
        for (a, b) in back.to_f32_vec().unwrap().iter().zip(&v) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(dft(&x, None, -1, false, false).is_err());
    }

    #[test]
    fn stft_frames_and_padding_rules() {
        let x = Tensor::from_vec(vec![1, 8, 1], vec![1f32; 8]).unwrap();
        let y = stft(&x, 2, None, Some(4), true).unwrap();
        assert_eq!(y.shape(), &[1, 3, 3, 2]);
        // DC bin of an all-ones frame is the frame length.
        assert_eq!(y.to_f32_vec().unwrap()[0], 4.0);
        assert!(stft(&x, 0, None, Some(4), true).is_err());
        assert!(stft(&x, 1, None, Some(9), true).is_err());
    }

    #[test]
    fn mel_rows_are_triangles() {
        let m = mel_weight_matrix(8, 16, 8192, 0.0, 4096.0).unwrap();
        assert_eq!(m.shape(), &[9, 8]);
        let v = m.typed::<f64>().unwrap();
        assert!(v.iter().all(|&x| (0.0..=1.0).contains(&x)));
        assert!(mel_weight_matrix(8, 16, 8192, 0.0, 9000.0).is_err());
    }
}
