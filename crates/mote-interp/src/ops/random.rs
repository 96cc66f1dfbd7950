//! Random number ops, drawn from our own generator (xoshiro256++ seeded by splitmix64).
//!
//! With a `seed` attribute each evaluation restarts the generator from that seed, so results
//! are reproducible (but differ from numpy's or onnxruntime's streams); without one, every
//! evaluation gets a fresh seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mote_ir::ops::random::{Distribution, RandomOp};
use mote_ir::{DType, Tensor, Value};

use super::elementwise::cast;
use super::{EvalCx, Inputs, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &RandomOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        RandomOp::Sample { dist, shape, dtype, seed } => {
            let (shape, dtype) = match shape {
                Some(s) => (s.clone(), dtype.unwrap_or(DType::F32)),
                None => {
                    let x = inputs.tensor(0)?;
                    (x.shape().to_vec(), dtype.unwrap_or(x.dtype()))
                }
            };
            one(sample(*dist, &shape, dtype, &mut Rng::new(*seed))?)
        }
        RandomOp::Bernoulli { dtype, seed } => {
            let p = inputs.tensor(0)?;
            one(bernoulli(p, dtype.unwrap_or(p.dtype()), &mut Rng::new(*seed))?)
        }
        RandomOp::Multinomial { dtype, sample_size, seed } => {
            one(multinomial(inputs.tensor(0)?, *sample_size, *dtype, &mut Rng::new(*seed))?)
        }
    }
}

/// A small, fast, well-tested generator: xoshiro256++.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// Seeded from `seed` (its bit pattern), or from the clock and a process-wide counter.
    pub fn new(seed: Option<f32>) -> Rng {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut state = match seed {
            Some(s) => s.to_bits() as u64,
            None => {
                let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
                t ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x2545_f491_4f6c_dd1d)
            }
        };
        Rng { s: [0; 4].map(|_| splitmix64(&mut state)) }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    /// Uniform on `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: the log stays finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Values of `dist` with the given shape, as float `dtype`.
pub fn sample(dist: Distribution, shape: &[usize], dtype: DType, rng: &mut Rng) -> Result<Tensor, OpError> {
    if !dtype.is_float() {
        bail!("random values must have a float dtype, got {dtype}");
    }
    let n = numel(shape)?;
    let v: Vec<f64> = match dist {
        Distribution::Uniform { low, high } => {
            let (lo, hi) = (low as f64, high as f64);
            (0..n).map(|_| lo + (hi - lo) * rng.uniform()).collect()
        }
        Distribution::Normal { mean, scale } => (0..n).map(|_| mean as f64 + scale as f64 * rng.normal()).collect(),
    };
    cast(&Tensor::from_vec(shape.to_vec(), v)?, dtype)
}

/// 1 where a uniform draw falls below `p`, else 0, as `dtype`.
pub fn bernoulli(p: &Tensor, dtype: DType, rng: &mut Rng) -> Result<Tensor, OpError> {
    if !p.dtype().is_float() {
        bail!("Bernoulli probabilities must be a float tensor, got {}", p.dtype());
    }
    let mut v = Vec::with_capacity(p.len());
    for q in p.to_f64_vec()? {
        if !(0.0..=1.0).contains(&q) {
            bail!("Bernoulli probability {q} is not in [0, 1]");
        }
        v.push(if rng.uniform() < q { 1.0 } else { 0.0 });
    }
    cast(&Tensor::from_vec(p.shape().to_vec(), v)?, dtype)
}

/// `sample_size` class indices per row of `logits` (`[batch, classes]`), drawn from the
/// softmax of the row.
pub fn multinomial(logits: &Tensor, sample_size: usize, dtype: DType, rng: &mut Rng) -> Result<Tensor, OpError> {
    let &[batch, classes] = logits.shape() else {
        bail!("Multinomial input must be [batch, classes], got shape {:?}", logits.shape());
    };
    if !logits.dtype().is_float() {
        bail!("Multinomial input must be a float tensor, got {}", logits.dtype());
    }
    if classes == 0 && batch > 0 {
        bail!("Multinomial needs at least one class, got shape {:?}", logits.shape());
    }
    let x = logits.to_f64_vec()?;
    let shape = vec![batch, sample_size];
    let mut out = Vec::with_capacity(numel(&shape)?);
    let mut cdf = vec![0f64; classes];
    for row in x.chunks_exact(classes.max(1)).take(batch) {
        let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !mx.is_finite() {
            bail!("Multinomial needs finite log-probabilities, got a row with maximum {mx}");
        }
        let mut acc = 0.0;
        for (c, &l) in cdf.iter_mut().zip(row) {
            acc += (l - mx).exp();
            *c = acc;
        }
        for _ in 0..sample_size {
            let u = rng.uniform() * acc;
            // First class whose cumulative weight exceeds u.
            let k = cdf.partition_point(|&c| c <= u).min(classes - 1);
            out.push(k as i64);
        }
    }
    let t = Tensor::from_vec(shape, out)?;
    cast(&t, dtype).map_err(|e| op_err!("Multinomial: {}", e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_draws_repeat_and_stay_in_range() {
        let d = Distribution::Uniform { low: -2.0, high: 3.0 };
        let a = sample(d, &[4, 5], DType::F32, &mut Rng::new(Some(1.0))).unwrap();
        let b = sample(d, &[4, 5], DType::F32, &mut Rng::new(Some(1.0))).unwrap();
        let c = sample(d, &[4, 5], DType::F32, &mut Rng::new(Some(2.0))).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.shape(), &[4, 5]);
        assert!(a.typed::<f32>().unwrap().iter().all(|&x| (-2.0..3.0).contains(&x)));
        assert!(sample(d, &[2], DType::I32, &mut Rng::new(None)).is_err());
    }

    #[test]
    fn normal_moments() {
        let d = Distribution::Normal { mean: 5.0, scale: 2.0 };
        let t = sample(d, &[20000], DType::F64, &mut Rng::new(Some(7.0))).unwrap();
        let v = t.typed::<f64>().unwrap();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
        assert!((mean - 5.0).abs() < 0.1, "{mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.1, "{var}");
    }

    #[test]
    fn bernoulli_extremes_and_dtype() {
        let p = Tensor::from_vec(vec![4], vec![0.0f32, 1.0, 0.0, 1.0]).unwrap();
        let b = bernoulli(&p, DType::Bool, &mut Rng::new(None)).unwrap();
        assert_eq!(b.typed::<bool>().unwrap(), &[false, true, false, true]);
        let f = bernoulli(&p, DType::F64, &mut Rng::new(Some(3.0))).unwrap();
        assert_eq!(f.typed::<f64>().unwrap(), &[0.0, 1.0, 0.0, 1.0]);
        let bad = Tensor::from_vec(vec![1], vec![1.5f32]).unwrap();
        assert!(bernoulli(&bad, DType::F32, &mut Rng::new(None)).is_err());
    }

    #[test]
    fn multinomial_follows_the_logits() {
        let l = Tensor::from_vec(vec![2, 3], vec![f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY, 0.0, 0.0, 0.0]).unwrap();
        let s = multinomial(&l, 1000, DType::I64, &mut Rng::new(Some(5.0))).unwrap();
        assert_eq!(s.shape(), &[2, 1000]);
        let v = s.typed::<i64>().unwrap();
        assert!(v[..1000].iter().all(|&k| k == 1));
        let counts: Vec<usize> = (0..3).map(|c| v[1000..].iter().filter(|&&k| k == c).count()).collect();
        assert!(counts.iter().all(|&c| c > 250), "{counts:?}");
        let s32 = multinomial(&l, 2, DType::I32, &mut Rng::new(None)).unwrap();
        assert_eq!(s32.dtype(), DType::I32);
    }
}
