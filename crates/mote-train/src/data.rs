//! Labelled samples in memory: a seeded split, seeded shuffled batches, and augmentation.

use mote_ir::Tensor;

/// A small deterministic generator (splitmix64) for shuffling, augmentation and initialization.
#[derive(Clone, Debug)]
pub struct Rng(mote_core::rng::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(mote_core::rng::SplitMix64::new(seed))
    }

    /// The state to resume from ([`Rng::from_state`]).
    pub fn state(&self) -> u64 {
        self.0.state()
    }

    pub fn from_state(state: u64) -> Rng {
        Rng(mote_core::rng::SplitMix64::from_state(state))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.uniform().max(1e-7);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `v` in a random order.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Samples of one shape with class labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Row-major samples, `len() * sample_len()` values.
    pub x: Vec<f32>,
    /// The shape of one sample (e.g. `[1, 8, 8]`).
    pub shape: Vec<usize>,
    pub y: Vec<usize>,
}

impl Dataset {
    /// Checks that `x` holds `y.len()` samples of `shape`.
    pub fn new(x: Vec<f32>, shape: Vec<usize>, y: Vec<usize>) -> Result<Dataset, String> {
        let per: usize = shape.iter().product();
        if per == 0 || x.len() != per * y.len() {
            return Err(format!("{} values are not {} samples of shape {shape:?}", x.len(), y.len()));
        }
        Ok(Dataset { x, shape, y })
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The number of classes (largest label + 1).
    pub fn classes(&self) -> usize {
        self.y.iter().max().map_or(0, |m| m + 1)
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let per = self.sample_len();
        let mut x = Vec::with_capacity(idx.len() * per);
        for &i in idx {
            x.extend_from_slice(&self.x[i * per..(i + 1) * per]);
        }
        Dataset { x, shape: self.shape.clone(), y: idx.iter().map(|&i| self.y[i]).collect() }
    }

    /// A seeded split: `(train, test)` with `round(test_fraction * len)` samples in test.
    pub fn split(&self, test_fraction: f32, seed: u64) -> (Dataset, Dataset) {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut idx);
        let n_test = ((self.len() as f32) * test_fraction).round() as usize;
        let (test, train) = idx.split_at(n_test.min(self.len()));
        (self.subset(train), self.subset(test))
    }

    /// The batches of one epoch: sample indices, shuffled by `seed` (in order when `None`).
    pub fn batches(&self, batch: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        if let Some(s) = seed {
            Rng::new(s).shuffle(&mut idx);
        }
        idx.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
    }

    /// The samples at `idx` as one `[len, shape...]` tensor and their labels.
    pub fn batch(&self, idx: &[usize]) -> (Tensor, Vec<usize>) {
        let sub = self.subset(idx);
        let mut shape = vec![idx.len()];
        shape.extend(&self.shape);
        (Tensor::from_vec(shape, sub.x).expect("the subset has len * sample_len values"), sub.y)
    }
}

/// Random changes to training batches. Images are `[C, H, W]` samples (shift, flip and cutout
/// act on the last two dims); 1-D samples (audio features) shift along their last dim.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Augment {
    /// Largest shift in pixels (or steps), filled with zeros.
    pub shift: usize,
    /// Mirror left-right with probability 1/2 (not for digits or text).
    pub flip: bool,
    /// Standard deviation of added Gaussian noise.
    pub noise: f32,
    /// Side of a square (or length of a span) set to zero at a random place.
    pub cutout: usize,
}

impl Augment {
    pub fn is_none(&self) -> bool {
        *self == Augment::default()
    }

    /// Applies the augmentation to every sample of `x` (shaped `shape` each) in place.
    pub fn apply(&self, x: &mut [f32], shape: &[usize], rng: &mut Rng) {
        if self.is_none() {
            return;
        }
        let per: usize = shape.iter().product();
        let (h, w) = match shape.len() {
            0 => (1, 1),
            1 => (1, shape[0]),
            r => (shape[r - 2], shape[r - 1]),
        };
        let planes = per / (h * w).max(1);
        for s in x.chunks_mut(per) {
            let (dy, dx) = if self.shift > 0 {
                let k = 2 * self.shift + 1;
                let dy = if h > 1 { rng.below(k) as isize - self.shift as isize } else { 0 };
                (dy, rng.below(k) as isize - self.shift as isize)
            } else {
                (0, 0)
            };
            let flip = self.flip && rng.uniform() < 0.5;
            let cut = (self.cutout > 0).then(|| (rng.below(h), rng.below(w)));
            for p in 0..planes {
                let plane = &mut s[p * h * w..(p + 1) * h * w];
                let src = plane.to_vec();
                for y in 0..h {
                    for xx in 0..w {
                        let sx = if flip { w - 1 - xx } else { xx } as isize - dx;
                        let sy = y as isize - dy;
                        let inside = sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w;
                        plane[y * w + xx] = if inside { src[sy as usize * w + sx as usize] } else { 0.0 };
                    }
                }
                if let Some((cy, cx)) = cut {
                    let half = self.cutout / 2;
                    let ys = if h > 1 { cy.saturating_sub(half)..(cy + self.cutout - half).min(h) } else { 0..1 };
                    for y in ys {
                        for xx in cx.saturating_sub(half)..(cx + self.cutout - half).min(w) {
                            plane[y * w + xx] = 0.0;
                        }
                    }
                }
            }
            if self.noise > 0.0 {
                s.iter_mut().for_each(|v| *v += self.noise * rng.normal());
            }
        }
    }
}
