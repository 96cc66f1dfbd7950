//! Calibration methods: from a tensor's histogram to the real range `[lo, hi]` its int8
//! quantization covers (always containing 0).
//!
//! Entropy searches ranges `[a * lo0, a * hi0]` that scale the observed range
//! (`lo0 = min(min, 0)`, `hi0 = max(max, 0)`) by `a` in `(0, 1]`, so both sides are clipped in
//! proportion; MSE starts there and then moves each end alone. The quantizer has 255 steps over
//! the range (int8 asymmetric).

use super::hist::{BINS, Bin, Histogram};

/// Steps of the int8 grid over a range.
pub const STEPS: f64 = 255.0;

/// How a tensor's range is chosen from its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The observed minimum and maximum.
    MinMax,
    /// The `P`th and `(100 - P)`th percentiles (P in (50, 100]).
    Percentile(f64),
    /// TensorRT's KL-divergence threshold search.
    Entropy,
    /// The range minimising the expected quantization MSE.
    Mse,
}

impl Method {
    /// Parses `minmax`, `percentile`, `percentile:P`, `entropy` or `mse`.
    pub fn parse(s: &str) -> Result<Method, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        match (name, arg) {
            ("minmax", None) => Ok(Method::MinMax),
            ("entropy", None) => Ok(Method::Entropy),
            ("mse", None) => Ok(Method::Mse),
            ("percentile", None) => Ok(Method::Percentile(99.99)),
            ("percentile", Some(p)) => match p.parse::<f64>() {
                Ok(p) if p > 50.0 && p <= 100.0 => Ok(Method::Percentile(p)),
                _ => Err(format!("percentile:{p}: expected a percentile in (50, 100], e.g. percentile:99.99")),
            },
            _ => Err(format!("unknown calibration method `{s}` (expected minmax, percentile[:P], entropy or mse)")),
        }
    }

    /// The name as the command line spells it.
    pub fn name(&self) -> String {
        match self {
            Method::MinMax => "minmax".into(),
            Method::Percentile(p) => format!("percentile:{p}"),
            Method::Entropy => "entropy".into(),
            Method::Mse => "mse".into(),
        }
    }

    /// The range `[lo, hi]` (lo <= 0 <= hi) for the values in `h`.
    pub fn range(&self, h: &Histogram) -> (f32, f32) {
        let (lo0, hi0) = (h.min().min(0.0) as f64, h.max().max(0.0) as f64);
        if hi0 - lo0 <= 0.0 {
            return (0.0, 0.0);
        }
        let (lo, hi) = match self {
            Method::MinMax => (lo0, hi0),
            Method::Percentile(p) => {
                let bins = h.bins();
                (quantile(&bins, 1.0 - p / 100.0).max(lo0), quantile(&bins, p / 100.0).min(hi0))
            }
            Method::Mse => mse_range(&h.bins(), lo0, hi0),
            Method::Entropy => {
                // The bin starting at 0 holds every exact zero (half a ReLU's output): left in,
                // Q cannot represent that spike unless steps are tiny, and KL shrinks the range
                // to make them so. As NVIDIA's pytorch-quantization does, it counts as its
                // neighbour.
                let mut bins = h.bins();
                if let Some(i) = bins.iter().position(|b| b.lo == 0.0 && b.hi > 0.0)
                    && i + 1 < bins.len()
                {
                    bins[i].count = bins[i + 1].count;
                }
                let a = best_scale(&bins, lo0, hi0, 256, kl_divergence);
                (a * lo0, a * hi0)
            }
        };
        (lo.min(0.0) as f32, hi.max(0.0) as f32)
    }
}

/// The value below which a fraction `q` of the data lies (linear within a bin).
pub fn quantile(bins: &[Bin], q: f64) -> f64 {
    let total: f64 = bins.iter().map(|b| b.count).sum();
    let target = q.clamp(0.0, 1.0) * total;
    let mut cum = 0.0;
    for b in bins {
        if b.count > 0.0 && cum + b.count >= target {
            return b.lo + (b.hi - b.lo) * ((target - cum) / b.count).clamp(0.0, 1.0);
        }
        cum += b.count;
    }
    bins.last().map_or(0.0, |b| b.hi)
}

/// The scale `a` in `(0, 1]` (on a grid of `grid` steps) minimising `cost(bins, a * lo0, a * hi0)`;
/// candidates the cost rejects (`None`) are skipped, and `1` wins when all are.
fn best_scale(bins: &[Bin], lo0: f64, hi0: f64, grid: usize, cost: fn(&[Bin], f64, f64) -> Option<f64>) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for k in 1..=grid {
        let a = k as f64 / grid as f64;
        if let Some(c) = cost(bins, a * lo0, a * hi0)
            && c < best.0
        {
            best = (c, a);
        }
    }
    best.1
}

/// The MSE range: the best common scale of both ends first, then each end alone in turn
/// (coordinate descent, two rounds), since a skewed tensor's best clip differs per side.
fn mse_range(bins: &[Bin], lo0: f64, hi0: f64) -> (f64, f64) {
    const GRID: usize = 512;
    let a = best_scale(bins, lo0, hi0, GRID, expected_mse);
    let (mut lo, mut hi) = (a * lo0, a * hi0);
    let best_end = |cost: &dyn Fn(f64) -> f64, now: f64| {
        let mut best = (cost(now), now);
        for k in 1..=GRID {
            let t = k as f64 / GRID as f64;
            let c = cost(t);
            if c < best.0 {
                best = (c, t);
            }
        }
        best.1
    };
    for _ in 0..2 {
        if lo0 < 0.0 {
            lo = lo0 * best_end(&|t| expected_mse(bins, t * lo0, hi).unwrap_or(f64::INFINITY), lo / lo0);
        }
        if hi0 > 0.0 {
            hi = hi0 * best_end(&|t| expected_mse(bins, lo, t * hi0).unwrap_or(f64::INFINITY), hi / hi0);
        }
    }
    (lo, hi)
}

/// Expected squared error of quantizing the histogram's data to 255 steps over `[a, b]`:
/// `step^2 / 12` inside the range (uniform rounding error), the squared clipping distance outside.
pub fn expected_mse(bins: &[Bin], a: f64, b: f64) -> Option<f64> {
    let step = (b - a) / STEPS;
    let inside = step * step / 12.0;
    let mut err = 0.0;
    for bin in bins.iter().filter(|b| b.count > 0.0) {
        let m = bin.mid();
        let e = if m < a {
            (a - m) * (a - m)
        } else if m > b {
            (m - b) * (m - b)
        } else {
            inside
        };
        err += bin.count * e;
    }
    Some(err)
}

/// TensorRT's criterion for the range `[a, b]`: KL(P || Q), where P is the histogram inside the
/// range with the clipped outliers added to the edge bins, and Q is the in-range histogram merged
/// into the 255 quantization steps and spread back evenly over each step's non-empty bins.
/// `None` when the range holds fewer bins than steps (too coarse to judge) or Q misses mass P has.
pub fn kl_divergence(bins: &[Bin], a: f64, b: f64) -> Option<f64> {
    let inside: Vec<usize> = (0..bins.len()).filter(|&i| bins[i].mid() >= a && bins[i].mid() <= b).collect();
    let (&first, &last) = (inside.first()?, inside.last()?);
    if inside.len() < STEPS as usize || inside.len() > 2 * BINS {
        return None;
    }
    let step = (b - a) / STEPS;
    let below: f64 = bins[..first].iter().map(|b| b.count).sum();
    let above: f64 = bins[last + 1..].iter().map(|b| b.count).sum();
    let n = inside.len();
    let mut p: Vec<f64> = inside.iter().map(|&i| bins[i].count).collect();
    p[0] += below;
    p[n - 1] += above;
    let level = |i: usize| (((bins[inside[i]].mid() - a) / step) as usize).min(STEPS as usize - 1);
    let mut mass = vec![0.0f64; STEPS as usize];
    let mut nonzero = vec![0usize; STEPS as usize];
    for i in 0..n {
        let c = bins[inside[i]].count;
        mass[level(i)] += c;
        if c > 0.0 {
            nonzero[level(i)] += 1;
        }
    }
    let q: Vec<f64> = (0..n)
        .map(|i| {
            let l = level(i);
            if bins[inside[i]].count > 0.0 { mass[l] / nonzero[l] as f64 } else { 0.0 }
        })
        .collect();
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if sp <= 0.0 || sq <= 0.0 {
        return None;
    }
    let mut kl = 0.0;
    for (&pi, &qi) in p.iter().zip(&q) {
        if pi > 0.0 {
            if qi <= 0.0 {
                return None;
            }
            let (pn, qn) = (pi / sp, qi / sq);
            kl += pn * (pn / qn).ln();
        }
    }
    Some(kl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn hist_of(xs: &[f32]) -> Histogram {
        let mut h = Histogram::new();
        for chunk in xs.chunks(10_000) {
            h.add(chunk);
        }
        h
    }

    fn laplace(n: usize, b: f64, seed: u64) -> Vec<f32> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| r.laplace(b) as f32).collect()
    }

    #[test]
    fn parse_methods() {
        assert_eq!(Method::parse("percentile").unwrap(), Method::Percentile(99.99));
        assert_eq!(Method::parse("percentile:99.9").unwrap(), Method::Percentile(99.9));
        assert_eq!(Method::parse("mse").unwrap(), Method::Mse);
        assert!(Method::parse("percentile:20").is_err());
        assert!(Method::parse("kl").unwrap_err().contains("entropy"));
    }

    #[test]
    fn minmax_is_the_extremes_with_zero() {
        let h = hist_of(&[0.5, 2.0, 1.5]);
        assert_eq!(Method::MinMax.range(&h), (0.0, 2.0));
        let h = hist_of(&[-3.0, 1.0]);
        assert_eq!(Method::MinMax.range(&h), (-3.0, 1.0));
    }

    #[test]
    fn percentile_on_uniform() {
        let mut r = Rng::new(7);
        let xs: Vec<f32> = (0..400_000).map(|_| (r.uniform() * 10.0) as f32).collect();
        let (lo, hi) = Method::Percentile(99.0).range(&hist_of(&xs));
        assert_eq!(lo, 0.0);
        assert!((hi - 9.9).abs() < 0.02, "99th percentile of U(0, 10) is 9.9, got {hi}");
        let xs: Vec<f32> = xs.iter().map(|x| x - 5.0).collect();
        let (lo, hi) = Method::Percentile(99.0).range(&hist_of(&xs));
        assert!((lo + 4.9).abs() < 0.02 && (hi - 4.9).abs() < 0.02, "U(-5, 5): {lo} {hi}");
    }

    /// For Laplace(b), 8-bit uniform quantization over [-c, c] has its smallest MSE at c = 9.89 b
    /// (Banner et al., ACIQ), well inside the largest of 10^6 samples (about 13.8 b).
    #[test]
    fn mse_clips_a_laplace_tail_at_the_known_optimum() {
        let xs = laplace(1_000_000, 1.0, 11);
        let h = hist_of(&xs);
        let (lo, hi) = Method::Mse.range(&h);
        assert!((hi - 9.89).abs() < 0.6 && (lo + 9.89).abs() < 0.6, "mse range [{lo}, {hi}], expected ±9.89");
        assert!(hi < 0.85 * h.max(), "the tail must be clipped: {hi} vs max {}", h.max());
    }

    /// A skewed tensor (a long-tailed negative side, a uniform positive one): the tail is
    /// clipped, the uniform side is not, with a lower expected error than any common scale.
    #[test]
    fn mse_clips_each_side_of_a_skewed_tensor_apart() {
        let mut r = Rng::new(17);
        let xs: Vec<f32> = (0..1_000_000)
            .map(|_| if r.uniform() < 0.5 { -r.laplace(0.3).abs() } else { r.uniform() * 4.0 } as f32)
            .collect();
        let h = hist_of(&xs);
        let (lo, hi) = Method::Mse.range(&h);
        let (lo0, hi0) = (h.min() as f64, h.max() as f64);
        let (ta, tb) = (lo as f64 / lo0, hi as f64 / hi0);
        assert!((ta - tb).abs() > 0.05, "both ends scaled alike: {ta} {tb}");
        let bins = h.bins();
        let common = best_scale(&bins, lo0, hi0, 512, expected_mse);
        let e_common = expected_mse(&bins, common * lo0, common * hi0).unwrap();
        let e = expected_mse(&bins, lo as f64, hi as f64).unwrap();
        assert!(e < 0.9 * e_common, "per-side {e} vs common {e_common}");
        assert!(hi > 3.9, "the uniform side must not be clipped: {hi}");
    }

    #[test]
    fn mse_keeps_a_uniform_range() {
        let mut r = Rng::new(3);
        let xs: Vec<f32> = (0..200_000).map(|_| (r.uniform() * 6.0) as f32).collect();
        let (_, hi) = Method::Mse.range(&hist_of(&xs));
        assert!(hi > 5.9, "nothing to clip on U(0, 6): {hi}");
    }

    /// KL keeps the bulk of a Laplace (its 99.9th percentile of |x| is 6.9 b) and clips the tail.
    #[test]
    fn entropy_clips_a_laplace_tail() {
        let xs = laplace(1_000_000, 1.0, 5);
        let h = hist_of(&xs);
        let (lo, hi) = Method::Entropy.range(&h);
        assert!(hi > 4.0 && hi < 0.8 * h.max(), "entropy hi {hi}, max {}", h.max());
        assert!(lo < -4.0 && lo > 0.8 * h.min(), "entropy lo {lo}, min {}", h.min());
    }

    /// A ReLU6 output: 40 % exact zeros, the rest a half-Laplace clipped at 6. The zero spike
    /// must not drive the range down (it chose about [0, 1.9] before).
    #[test]
    fn entropy_ignores_the_relu_zero_spike() {
        let mut r = Rng::new(13);
        let xs: Vec<f32> =
            (0..400_000).map(|_| if r.uniform() < 0.4 { 0.0 } else { r.laplace(0.7).abs().min(6.0) as f32 }).collect();
        let (lo, hi) = Method::Entropy.range(&hist_of(&xs));
        assert_eq!(lo, 0.0);
        assert!(hi > 4.5, "entropy clipped a ReLU6 output to [0, {hi}]");
    }

    #[test]
    fn entropy_keeps_a_uniform_range() {
        let mut r = Rng::new(9);
        let xs: Vec<f32> = (0..500_000).map(|_| (r.uniform() * 4.0) as f32).collect();
        let (_, hi) = Method::Entropy.range(&hist_of(&xs));
        assert!(hi > 3.8, "nothing to clip on U(0, 4): {hi}");
    }

    #[test]
    fn constant_zero_tensor_has_an_empty_range() {
        let h = hist_of(&[0.0; 10]);
        for m in [Method::MinMax, Method::Percentile(99.0), Method::Entropy, Method::Mse] {
            assert_eq!(m.range(&h), (0.0, 0.0));
        }
    }
}
