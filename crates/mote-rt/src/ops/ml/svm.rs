//! `Svm`: SVMRegressor and SVMClassifier (onnxruntime's / libsvm's one-vs-one scheme).
//!
//! Attributes: `[mode (0 regressor, 1 classifier), kernel (0 linear, 1 poly, 2 rbf,
//! 3 sigmoid), gamma (f32), coef0 (f32), degree (i32), post, flags (bit 0 one-class regressor,
//! bit 1 all coefficients >= 0), n, f, nv, groups, counts[groups]]`. Inputs `x [n, f]` (f32,
//! f64, i32, i64), `sv [nv, f]` f32 (support vectors; `nv = 0`: a linear model), `coef [m]` f32,
//! `rho [r >= 1]` f32, `prob_a [p]`, `prob_b [p]` f32, classifier: `labels [l]` i64.
//! A classifier's `groups` support-vector counts (summing to `nv`) are the per-class vectors.
//!
//! Regressor `y [n, 1]` f32: `sum_j coef[j] K(x, sv_j) + rho[0]` (linear: `x . coef + rho[0]`),
//! or its sign (+1 / -1) for a one-class model. Classifier `label [n]` i64 and `scores [n, w]`
//! f32, as the reference interpreter: pairwise decision values and votes (with Platt
//! probabilities coupled when `p > 0`), or linear per-class scores; see `docs/FORMAT.md`.

use mote_core::DType;
use mote_format::StepRef;
use num_traits::Float;

use super::post::Post;
use super::{Features, argmax};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, inp, out, product, want, want_numel};
use crate::words::Words;

/// Most classes (and per-class groups) a classifier step takes.
pub const MAX_CLASSES: usize = 64;
/// One-class regressor flag.
pub const ONE_CLASS: u32 = 1;
/// All coefficients non-negative flag.
pub const COEF_POSITIVE: u32 = 2;

#[derive(Clone, Copy, Debug)]
pub struct Svm {
    classifier: bool,
    kernel: u32,
    gamma: f64,
    coef0: f64,
    degree: i32,
    post: Post,
    flags: u32,
    n: usize,
    f: usize,
    nv: usize,
    groups: usize,
    counts: [usize; MAX_CLASSES],
    classes: usize,
    labels: usize,
    proba: bool,
    rho: usize,
    x: Features,
}

impl Svm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Svm, StepFault> {
        let mut w = Words::new(step);
        let classifier = w.bool()?;
        let kernel = w.upto(3)? as u32;
        let (gamma, coef0, degree) = (w.f32()? as f64, w.f32()? as f64, w.i32()?);
        let post = Post::from_word(w.u32()?)?;
        let flags = w.upto(3)? as u32;
        let (n, f, nv) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let groups = w.upto(MAX_CLASSES as u32)?;
        let mut counts = [0usize; MAX_CLASSES];
        w.usizes(&mut counts[..groups], u32::MAX)?;
        w.end()?;
        if classifier {
            io.arity(7, 7, 2)?
        } else {
            io.arity(6, 6, 1)?
        }
        let x = Features::of(&io.input(0)?, product(&[n, f])?)?;
        let vec_of = |i: usize| -> Result<usize, StepFault> {
            let t = io.input(i)?;
            want(&t, DType::F32)?;
            want_numel(&t, t.numel())?;
            Ok(t.numel())
        };
        want_numel(&io.input(1)?, product(&[nv, f])?)?;
        vec_of(1)?;
        let m = vec_of(2)?;
        let r = vec_of(3)?;
        let (pa, pb) = (vec_of(4)?, vec_of(5)?);
        if r == 0 {
            return Err(StepFault::Shape);
        }
        let mut s = Svm {
            classifier,
            kernel,
            gamma,
            coef0,
            degree,
            post,
            flags,
            n,
            f,
            nv,
            groups,
            counts,
            classes: 1,
            labels: 0,
            proba: false,
            rho: r,
            x,
        };
        if !classifier {
            let linear_ok = nv > 0 || m == f;
            if groups != 0 || !linear_ok {
                return Err(StepFault::Shape);
            }
            let y = io.output(0)?;
            want(&y, DType::F32)?;
            want_numel(&y, n)?;
            return Ok(s);
        }
        let labels = io.input(6)?;
        want(&labels, DType::I64)?;
        want_numel(&labels, labels.numel())?;
        s.labels = labels.numel();
        s.classes = s.labels.max(1);
        if s.classes > MAX_CLASSES {
            return Err(StepFault::Shape);
        }
        let k = s.classes;
        if nv > 0 {
            let sum = counts[..groups].iter().try_fold(0usize, |a, &c| a.checked_add(c));
            let pairs = groups * groups.saturating_sub(1) / 2;
            if sum != Some(nv) || groups > k || m < groups.saturating_sub(1).saturating_mul(nv) || r < pairs {
                return Err(StepFault::Shape);
            }
            s.proba = pa > 0;
            if s.proba && (pa < k * (k - 1) / 2 || pb < k * (k - 1) / 2) {
                return Err(StepFault::Shape);
            }
        } else if groups != 0 || Some(m) != k.checked_mul(f) {
            return Err(StepFault::Shape);
        }
        let (label, scores) = (io.output(0)?, io.output(1)?);
        want(&label, DType::I64)?;
        want_numel(&label, n)?;
        want(&scores, DType::F32)?;
        want_numel(&scores, product(&[n, s.width()])?)?;
        Ok(s)
    }

    fn pairs(&self) -> usize {
        self.groups * self.groups.saturating_sub(1) / 2
    }

    /// Scores before the final row: probabilities, pairwise values, or per-class scores.
    fn raw_width(&self) -> usize {
        match (self.nv > 0, self.proba) {
            (true, false) => self.pairs(),
            _ => self.classes,
        }
    }

    /// onnxruntime's binary case: one rho and two labels (a single score becomes `[-s, s]`).
    fn second(&self) -> bool {
        self.rho == 1 && self.labels == 2
    }

    /// f64 slots of scratch: kernel values, votes, scores, and the coupling's `r`, `q`, `p`, `qp`.
    fn scratch_f64s(&self) -> usize {
        let k = self.classes;
        self.nv + k + self.pairs().max(k) + 2 * k * k + 2 * k
    }

    /// Width of the score output.
    fn width(&self) -> usize {
        match self.raw_width() {
            1 if self.post == Post::Probit => 1,
            1 if self.second() => 2,
            w => w,
        }
    }

    pub fn scratch_bytes(&self) -> usize {
        if self.classifier { 8 * self.scratch_f64s() } else { 0 }
    }

    pub fn macs(&self) -> u64 {
        let per_row = (self.nv.max(self.classes) as u64).saturating_mul(self.f as u64);
        (self.n as u64).saturating_mul(per_row)
    }

    fn kernel(&self, mem: &Mem<'_>, x: &mote_format::TensorRef<'_>, row: usize, b: &[f32], kind: u32) -> f64 {
        let a = |k: usize| self.x.at(mem, x, row * self.f + k);
        let dot = || b.iter().enumerate().map(|(k, &v)| a(k) * v as f64).sum::<f64>();
        match kind {
            0 => dot(),
            1 => Float::powi(dot() * self.gamma + self.coef0, self.degree),
            3 => Float::tanh(dot() * self.gamma + self.coef0),
            _ => {
                let d: f64 = b.iter().enumerate().map(|(k, &v)| (a(k) - v as f64) * (a(k) - v as f64)).sum();
                Float::exp(-self.gamma * d)
            }
        }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(st), Ok(ct), Ok(rt)) = (io.input(0), io.input(1), io.input(2), io.input(3)) else { return };
        let (sv, coef, rho) = (inp::<f32>(mem, &st), inp::<f32>(mem, &ct), inp::<f32>(mem, &rt));
        let f = self.f;
        if !self.classifier {
            let Ok(y) = io.output(0) else { return };
            let y = out::<f32>(mem, &y);
            for (i, o) in y.iter_mut().enumerate().take(self.n) {
                let mut v = if self.nv > 0 {
                    (0..self.nv.min(coef.len()))
                        .map(|j| coef[j] as f64 * self.kernel(mem, &x, i, &sv[j * f..(j + 1) * f], self.kernel))
                        .sum::<f64>()
                } else {
                    self.kernel(mem, &x, i, coef, 0)
                };
                v += rho[0] as f64;
                *o = if self.flags & ONE_CLASS != 0 { if v > 0.0 { 1.0 } else { -1.0 } } else { v as f32 };
            }
            return;
        }
        // SAFETY: f64 is plain old data; `align_to_mut` only yields aligned f64s (the plan's
        // scratch offset is 8-byte aligned, so the prefix is empty).
        let (_, scratch, _) = unsafe { scratch.align_to_mut::<f64>() };
        let k = self.classes;
        if scratch.len() < self.scratch_f64s() {
            return;
        }
        let (kern, rest) = scratch.split_at_mut(self.nv);
        let (votes, rest) = rest.split_at_mut(k);
        let (scores, rest) = rest.split_at_mut(self.pairs().max(k));
        let (pr, rest) = rest.split_at_mut(k * k);
        let (q, rest) = rest.split_at_mut(k * k);
        let (p, rest) = rest.split_at_mut(k);
        let qp = &mut rest[..k];
        let (Ok(pat), Ok(pbt), Ok(lt), Ok(label), Ok(out_scores)) =
            (io.input(4), io.input(5), io.input(6), io.output(0), io.output(1))
        else {
            return;
        };
        let (prob_a, prob_b, labels) = (inp::<f32>(mem, &pat), inp::<f32>(mem, &pbt), inp::<i64>(mem, &lt));
        let (label, out_scores) = (out::<i64>(mem, &label), out::<f32>(mem, &out_scores));
        let width = self.width();
        for i in 0..self.n {
            let raw = self.raw_width();
            let votes_used = self.nv > 0;
            if votes_used {
                for (j, kj) in kern.iter_mut().enumerate() {
                    *kj = self.kernel(mem, &x, i, &sv[j * f..(j + 1) * f], self.kernel);
                }
                votes.fill(0.0);
                let coef_at = |row: usize, from: usize, len: usize| -> f64 {
                    let c = &coef[row * self.nv + from..row * self.nv + from + len];
                    c.iter().zip(&kern[from..from + len]).map(|(&a, b)| a as f64 * b).sum()
                };
                let (mut e, mut si) = (0, 0);
                for a in 0..self.groups {
                    let ci = self.counts[a];
                    let mut sj = si + ci;
                    for b in a + 1..self.groups {
                        let cj = self.counts[b];
                        let v = rho[e] as f64 + coef_at(b - 1, si, ci) + coef_at(a, sj, cj);
                        votes[if v > 0.0 { a } else { b }] += 1.0;
                        scores[e] = v;
                        e += 1;
                        sj += cj;
                    }
                    si += ci;
                }
                if self.proba {
                    let mut e = 0;
                    for a in 0..k {
                        for b in a + 1..k {
                            let sc = if e < self.pairs() { scores[e] } else { 0.0 };
                            let v = 1.0 - logistic(sc * prob_a[e] as f64 + prob_b[e] as f64);
                            let v = v.clamp(1e-7, 1.0 - 1e-7);
                            pr[a * k + b] = v;
                            pr[b * k + a] = 1.0 - v;
                            e += 1;
                        }
                    }
                    multiclass_probability(k, pr, q, p, qp);
                    scores[..k].copy_from_slice(p);
                }
            } else {
                for (j, s) in scores[..k].iter_mut().enumerate() {
                    *s = rho[0] as f64 + self.kernel(mem, &x, i, &coef[j * f..(j + 1) * f], 0);
                }
            }
            let (max_class, max_weight) = if votes_used {
                let m = argmax(votes);
                (m, votes[m])
            } else {
                let m = argmax(&scores[..k]);
                (m, scores[m])
            };
            let pick = |c: usize| labels.get(c).copied().unwrap_or(c as i64);
            label[i] = if rho.len() == 1 {
                if self.labels == 2 {
                    let positive = self.flags & COEF_POSITIVE != 0;
                    pick(if !self.proba && positive && max_weight >= 0.5 { 1 } else { max_class })
                } else {
                    i64::from(max_weight > 0.0)
                }
            } else {
                pick(max_class)
            };
            let dst = &mut out_scores[i * width..(i + 1) * width];
            let row = &mut scores[..raw];
            if raw == 1 && self.post != Post::Probit && self.second() {
                let mut two = [-row[0], row[0]];
                self.post.apply(&mut two);
                dst.iter_mut().zip(two).for_each(|(o, v)| *o = v as f32);
                continue;
            }
            if raw != 1 || self.post == Post::Probit {
                self.post.apply(row);
            }
            dst.iter_mut().zip(row.iter()).for_each(|(o, v)| *o = *v as f32);
        }
    }
}

fn logistic(x: f64) -> f64 {
    let v = 1.0 / (1.0 + Float::exp(-x.abs()));
    if x < 0.0 { 1.0 - v } else { v }
}

/// libsvm's pairwise coupling of one-vs-one probabilities `r` (`k x k`) into `p`.
fn multiclass_probability(k: usize, r: &[f64], q: &mut [f64], p: &mut [f64], qp: &mut [f64]) {
    q[..k * k].fill(0.0);
    p[..k].fill(1.0 / k as f64);
    for t in 0..k {
        for j in 0..k {
            if j < t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = q[j * k + t];
            } else if j > t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
    }
    let eps = 0.005 / k as f64;
    for _ in 0..k.max(100) {
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
        }
        let mut pqp: f64 = (0..k).map(|t| p[t] * qp[t]).sum();
        if qp[..k].iter().all(|&v| (v - pqp).abs() < eps) {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / ((1.0 + diff) * (1.0 + diff));
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}
