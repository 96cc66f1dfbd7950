//! Softmax, LogSoftmax, Hardmax and Dropout.

use mote_ir::ops::nn::{SoftmaxAttrs, SoftmaxKind};
use mote_ir::{Tensor, Value};
use mote_kernels::reference::nn::softmax::{SoftmaxKind as K, softmax as kernel};

use super::{buffer, float_kernel};
use crate::error::OpError;
use crate::ops::{axis, downcast, upcast};
use crate::{bail, op_err};

/// Softmax, LogSoftmax or Hardmax along `axis` (or over the coerced 2-D view).
pub fn softmax(a: &SoftmaxAttrs, x: &Tensor) -> Result<Tensor, OpError> {
    let shape = x.shape().to_vec();
    let name = match a.kind {
        SoftmaxKind::Softmax => "Softmax",
        SoftmaxKind::LogSoftmax => "LogSoftmax",
        SoftmaxKind::Hardmax => "Hardmax",
    };
    let ax = axis(a.axis, shape.len()).map_err(|e| op_err!("{name}: {}", e.0))?;
    let outer: usize = shape[..ax].iter().product();
    let (len, inner) =
        if a.coerce_2d { (shape[ax..].iter().product(), 1) } else { (shape[ax], shape[ax + 1..].iter().product()) };
    let kind = match a.kind {
        SoftmaxKind::Softmax => K::Softmax,
        SoftmaxKind::LogSoftmax => K::LogSoftmax,
        SoftmaxKind::Hardmax => K::Hardmax,
    };
    let dtype = x.dtype();
    let x = upcast(x)?;
    let y = float_kernel!(dtype, name, |T| {
        let mut y = buffer::<T>(&shape)?;
        kernel(kind, outer, len, inner, x.typed::<T>()?, &mut y);
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}

/// SplitMix64: a small, well-mixed generator for dropout masks.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Seed used when the node has no `seed` attribute (results are reproducible run to run).
const DEFAULT_SEED: u64 = 0x6D6F_7465;

/// `Dropout(data, ratio?, training_mode?)`: identity unless in training mode with a ratio
/// above 0; then elements are kept with probability `1 - ratio` (mask from [`SplitMix`] seeded
/// with the `seed` attribute or a fixed default) and scaled by `1 / (1 - ratio)`.
pub fn dropout(
    seed: Option<i64>,
    x: &Tensor,
    ratio: Option<&Tensor>,
    training: Option<&Tensor>,
    num_outputs: usize,
) -> Result<Vec<Value>, OpError> {
    let training = match training {
        Some(t) => match t.typed::<bool>() {
            Ok([b]) => *b,
            _ => bail!("Dropout: training_mode must be a bool scalar, got {:?}", t),
        },
        None => false,
    };
    let ratio = match ratio {
        Some(r) => r.scalar_f64().map_err(|e| op_err!("Dropout: ratio: {e}"))?,
        None => 0.5,
    };
    if training && !(0.0..1.0).contains(&ratio) {
        bail!("Dropout: ratio must be in [0, 1), got {ratio}");
    }
    let n = x.len();
    if !training || ratio == 0.0 {
        let mut out = vec![Value::Tensor(x.clone())];
        if num_outputs > 1 {
            out.push(Value::Tensor(Tensor::from_vec(x.shape().to_vec(), vec![true; n])?));
        }
        return Ok(out);
    }
    let mut rng = SplitMix(seed.map_or(DEFAULT_SEED, |s| s as u64));
    let mask: Vec<bool> = (0..n).map(|_| rng.next_f64() >= ratio).collect();
    let dtype = x.dtype();
    let xu = upcast(x)?;
    let scale = 1.0 / (1.0 - ratio);
    let y = float_kernel!(dtype, "Dropout", |T| {
        let v = xu.typed::<T>()?;
        let y: Vec<T> = v.iter().zip(&mask).map(|(&a, &m)| if m { a * scale as T } else { 0.0 }).collect();
        Tensor::from_vec(x.shape().to_vec(), y)?
    });
    let mut out = vec![Value::Tensor(downcast(y, dtype)?)];
    if num_outputs > 1 {
        out.push(Value::Tensor(Tensor::from_vec(x.shape().to_vec(), mask)?));
    }
    Ok(out)
}
