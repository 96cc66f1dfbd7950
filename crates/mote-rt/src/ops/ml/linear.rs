//! `LinearModel` (LinearClassifier, LinearRegressor) and `Normalizer`.
//!
//! LinearModel attributes: `[mode (0 regressor, 1 classifier), post, n, c, e]`; inputs
//! `x [n, c]` (f32, f64, i32, i64), `w [e, c]` f32, `b [e]` f32 (optional), and for a
//! classifier `labels [l]` i64. A regressor writes `y [n, e]` f32 = post(x w^T + b). A
//! classifier writes `label [n]` i64 and `scores [n, s]` f32: with `e = 1` and `l = 2`
//! (the binary case) `s = 2`, `p` = the logistic or probit of the score (else the score),
//! scores `[1 - p, p]` and the label `labels[score > 0]`; with `e > 1` (needs `l >= e`) the
//! post-transformed row and the label of its first maximum; with `e = 1` otherwise the label
//! is `labels[0]` (1 when `l = 0`) when the score is at least 0 (0.5 after a transform), else 0.
//!
//! Normalizer attributes: `[norm (0 max, 1 l1, 2 l2), n, c]`; `x [n, c]` numeric -> `y` f32:
//! each row divided by its (signed) maximum, L1 or L2 norm, unchanged when that is 0 or not
//! finite.

use mote_core::DType;
use mote_format::StepRef;

use super::post::Post;
use super::{Features, argmax};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, inp, out, product, want, want_numel};
use crate::words::Words;

/// Largest class count a linear classifier step takes (its row of scores lives on the stack).
pub const MAX_CLASSES: usize = 256;

#[derive(Clone, Copy, Debug)]
pub struct Linear {
    classifier: bool,
    post: Post,
    n: usize,
    c: usize,
    e: usize,
    labels: usize,
    x: Features,
}

impl Linear {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Linear, StepFault> {
        let mut w = Words::new(step);
        let classifier = w.bool()?;
        let post = Post::from_word(w.u32()?)?;
        let (n, c, e) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(MAX_CLASSES as u32)?);
        w.end()?;
        if e == 0 {
            return Err(StepFault::Attrs);
        }
        if classifier {
            io.arity(4, 4, 2)?
        } else {
            io.arity(2, 3, 1)?
        }
        let x = Features::of(&io.input(0)?, product(&[n, c])?)?;
        let wt = io.input(1)?;
        want(&wt, DType::F32)?;
        want_numel(&wt, product(&[e, c])?)?;
        if let Some(b) = io.opt(2) {
            want(&b, DType::F32)?;
            want_numel(&b, e)?;
        }
        let mut l = Linear { classifier, post, n, c, e, labels: 0, x };
        if classifier {
            let labels = io.input(3)?;
            want(&labels, DType::I64)?;
            want_numel(&labels, labels.numel())?;
            l.labels = labels.numel();
            if e > 1 && l.labels < e {
                return Err(StepFault::Shape);
            }
            let (label, scores) = (io.output(0)?, io.output(1)?);
            want(&label, DType::I64)?;
            want_numel(&label, n)?;
            want(&scores, DType::F32)?;
            want_numel(&scores, product(&[n, l.score_cols()])?)?;
        } else {
            let y = io.output(0)?;
            want(&y, DType::F32)?;
            want_numel(&y, product(&[n, e])?)?;
        }
        Ok(l)
    }

    fn binary(&self) -> bool {
        self.e == 1 && self.labels == 2
    }

    fn score_cols(&self) -> usize {
        if self.binary() { 2 } else { self.e }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(wt)) = (io.input(0), io.input(1)) else { return };
        let w = inp::<f32>(mem, &wt);
        let b: &[f32] = io.opt(2).map_or(&[], |b| inp::<f32>(mem, &b));
        let (c, e) = (self.c, self.e);
        let mut row = [0.0f64; MAX_CLASSES];
        for i in 0..self.n {
            let s = &mut row[..e];
            for (j, sj) in s.iter_mut().enumerate() {
                let wr = &w[j * c..(j + 1) * c];
                let dot: f64 = wr.iter().enumerate().map(|(k, &wk)| self.x.at(mem, &x, i * c + k) * wk as f64).sum();
                *sj = dot + b.get(j).map_or(0.0, |&v| v as f64);
            }
            if !self.classifier {
                self.post.apply(s);
                if let Ok(y) = io.output(0) {
                    let y = out::<f32>(mem, &y);
                    y[i * e..(i + 1) * e].iter_mut().zip(s.iter()).for_each(|(o, v)| *o = *v as f32);
                }
                continue;
            }
            let (Ok(lt), Ok(label), Ok(scores)) = (io.input(3), io.output(0), io.output(1)) else { return };
            let (labels, label, scores) = (inp::<i64>(mem, &lt), out::<i64>(mem, &label), out::<f32>(mem, &scores));
            let cols = self.score_cols();
            let dst = &mut scores[i * cols..(i + 1) * cols];
            if self.binary() {
                let score = s[0];
                let mut p = [score];
                if matches!(self.post, Post::Logistic | Post::Probit) {
                    self.post.apply(&mut p);
                }
                dst[0] = (1.0 - p[0]) as f32;
                dst[1] = p[0] as f32;
                label[i] = labels[usize::from(score > 0.0)];
                continue;
            }
            self.post.apply(s);
            dst.iter_mut().zip(s.iter()).for_each(|(o, v)| *o = *v as f32);
            label[i] = if e > 1 {
                labels[argmax(s)]
            } else {
                let th = if self.post == Post::None { 0.0 } else { 0.5 };
                if s[0] >= th { labels.first().copied().unwrap_or(1) } else { 0 }
            };
        }
    }

    pub fn macs(&self) -> u64 {
        (self.n as u64).saturating_mul(self.c as u64).saturating_mul(self.e as u64)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Normalizer {
    norm: u32,
    n: usize,
    c: usize,
    x: Features,
}

impl Normalizer {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Normalizer, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let norm = w.upto(2)? as u32;
        let (n, c) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        let numel = product(&[n, c])?;
        let x = Features::of(&io.input(0)?, numel)?;
        let y = io.output(0)?;
        want(&y, DType::F32)?;
        want_numel(&y, numel)?;
        Ok(Normalizer { norm, n, c, x })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (c, ys) = (self.c, out::<f32>(mem, &y));
        for i in 0..self.n {
            let v = |k: usize| self.x.at(mem, &x, i * c + k);
            let d = match self.norm {
                0 => (0..c).fold(f64::NEG_INFINITY, |m, k| m.max(v(k))),
                1 => (0..c).map(|k| v(k).abs()).sum(),
                _ => num_traits::Float::sqrt((0..c).map(|k| v(k) * v(k)).sum::<f64>()),
            };
            let scale = d != 0.0 && d.is_finite();
            for k in 0..c {
                ys[i * c + k] = if scale { v(k) / d } else { v(k) } as f32;
            }
        }
    }
}
