//! A streaming histogram of one tensor's values over a calibration set.
//!
//! Negative and non-negative values go to two half-histograms of [`BINS`] bins each, over
//! `[0, limit)` of the magnitude. The first batch sets each side's limit to its largest magnitude;
//! a later value beyond it doubles the limit (merging bins pairwise) until it fits, so bin edges
//! stay aligned and nothing is re-binned approximately. The data then covers at least half of
//! each side's bins. Exact minimum and maximum are kept beside it.

/// Bins per side.
pub const BINS: usize = 2048;

/// One side: counts of magnitudes in `[k * limit / BINS, (k + 1) * limit / BINS)`.
#[derive(Clone, Debug)]
struct Half {
    /// 0 until the first non-zero magnitude.
    limit: f64,
    counts: Vec<f64>,
    /// Zeros seen before `limit` was set (they belong in bin 0).
    zeros: f64,
}

impl Half {
    fn new() -> Half {
        Half { limit: 0.0, counts: vec![0.0; BINS], zeros: 0.0 }
    }

    fn add(&mut self, mags: impl Iterator<Item = f64> + Clone) {
        let top = mags.clone().fold(0.0f64, f64::max);
        if top > 0.0 {
            if self.limit == 0.0 {
                self.limit = top;
                self.counts[0] += self.zeros;
                self.zeros = 0.0;
            }
            while top > self.limit {
                for k in 0..BINS / 2 {
                    self.counts[k] = self.counts[2 * k] + self.counts[2 * k + 1];
                }
                self.counts[BINS / 2..].iter_mut().for_each(|c| *c = 0.0);
                self.limit *= 2.0;
            }
        }
        if self.limit == 0.0 {
            self.zeros += mags.count() as f64;
            return;
        }
        let per = BINS as f64 / self.limit;
        for m in mags {
            let k = ((m * per) as usize).min(BINS - 1);
            self.counts[k] += 1.0;
        }
    }

    fn width(&self) -> f64 {
        self.limit / BINS as f64
    }
}

/// One bin of the signed view: `[lo, hi)` holding `count` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: f64,
}

impl Bin {
    /// The bin's center.
    pub fn mid(&self) -> f64 {
        0.5 * (self.lo + self.hi)
    }
}

/// Streaming histogram with exact extremes.
#[derive(Clone, Debug)]
pub struct Histogram {
    neg: Half,
    pos: Half,
    min: f32,
    max: f32,
    count: u64,
    /// NaN and infinite values seen (not binned).
    pub non_finite: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            neg: Half::new(),
            pos: Half::new(),
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            count: 0,
            non_finite: 0,
        }
    }

    /// Adds a batch of values.
    pub fn add(&mut self, xs: &[f32]) {
        let mut finite = 0u64;
        for &x in xs {
            if x.is_finite() {
                self.min = self.min.min(x);
                self.max = self.max.max(x);
                finite += 1;
            }
        }
        self.non_finite += xs.len() as u64 - finite;
        self.count += finite;
        let ok = |x: &&f32| x.is_finite();
        self.neg.add(xs.iter().filter(ok).filter(|x| **x < 0.0).map(|&x| -(x as f64)));
        self.pos.add(xs.iter().filter(ok).filter(|x| **x >= 0.0).map(|&x| x as f64));
    }

    /// Finite values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest finite value (0 when none).
    pub fn min(&self) -> f32 {
        if self.count == 0 { 0.0 } else { self.min }
    }

    /// Largest finite value (0 when none).
    pub fn max(&self) -> f32 {
        if self.count == 0 { 0.0 } else { self.max }
    }

    /// The bins in ascending order of value (negative side first), empty ones included.
    pub fn bins(&self) -> Vec<Bin> {
        let mut out = Vec::with_capacity(2 * BINS + 1);
        if self.neg.limit > 0.0 {
            let w = self.neg.width();
            for k in (0..BINS).rev() {
                out.push(Bin { lo: -((k + 1) as f64) * w, hi: -(k as f64) * w, count: self.neg.counts[k] });
            }
        }
        if self.pos.limit > 0.0 {
            let w = self.pos.width();
            for k in 0..BINS {
                out.push(Bin { lo: k as f64 * w, hi: (k + 1) as f64 * w, count: self.pos.counts[k] });
            }
        } else if self.pos.zeros > 0.0 {
            out.push(Bin { lo: 0.0, hi: 0.0, count: self.pos.zeros });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_keeps_every_value_and_the_extremes() {
        let mut h = Histogram::new();
        h.add(&[0.0, 0.5, -0.25]);
        h.add(&[3.0, -7.0, 1.0, f32::NAN]);
        assert_eq!(h.count(), 6);
        assert_eq!(h.non_finite, 1);
        assert_eq!((h.min(), h.max()), (-7.0, 3.0));
        let bins = h.bins();
        assert_eq!(bins.iter().map(|b| b.count).sum::<f64>(), 6.0);
        // Every value lies in a bin whose edges hold it.
        for x in [0.0, 0.5, -0.25, 3.0, -7.0, 1.0] {
            let b = bins.iter().find(|b| b.lo <= x && x <= b.hi && b.count > 0.0).unwrap();
            assert!(b.count >= 1.0, "{x} in {b:?}");
        }
        // Limits doubled from the first batch: 0.5 -> 4 and 0.25 -> 8.
        assert_eq!(h.pos.limit, 4.0);
        assert_eq!(h.neg.limit, 8.0);
    }

    #[test]
    fn all_zero_tensor_has_one_bin() {
        let mut h = Histogram::new();
        h.add(&[0.0; 5]);
        let bins = h.bins();
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].count, 5.0);
        assert_eq!((h.min(), h.max()), (0.0, 0.0));
    }
}
