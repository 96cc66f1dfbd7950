//! `TreeEnsemble`: TreeEnsemble-5, TreeEnsembleRegressor and TreeEnsembleClassifier.
//!
//! Attributes: `[n, c, k (targets), aggregate (0 average, 1 sum, 2 min, 3 max), post, flags,
//! binary_class]`; flags bit 0 classifier, bit 1 binary (onnxruntime's one-score two-label
//! case on class `binary_class`), bit 2 all class weights non-negative.
//!
//! Inputs (every table a weight, so it is checked once at load): `x [n, c]` (f32, f64, i32,
//! i64); `nodes [b, 6]` u32 rows `feature, rule | missing_true << 8, yes, no, set_start,
//! set_len`; `values [b]` f64; `members [m]` f64; `leaves [l, 2]` u32 `(start, count)` ranges
//! of `targets [t]` u32 and `weights [t]` f64; `roots [r]` u32; `base [k]` f64; classifier:
//! `labels [q]` i64. Rules: 0 `<=`, 1 `<`, 2 `>=`, 3 `>`, 4 `==`, 5 `!=`, 6 member of
//! `members[set_start..][..set_len]`. A child or root is a node index, or a leaf index with bit
//! 31 set; a node's children are nodes of a larger index (so every walk ends) or leaves.
//!
//! Outputs: regressor `y [n, k]` (f32, or f64 rounded through f32); classifier `label [n]` i64
//! and `scores [n, k]` f32. Scratch: `2 k` f64 (sums and which targets a leaf reached).

use mote_core::DType;
use mote_format::{Model, StepRef, Storage, TensorRef};

use super::post::Post;
use super::{Features, argmax};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, inp, out, product, want, want_numel};
use crate::words::Words;

/// Bit 31 of a child link: a leaf.
pub const LEAF: u32 = 1 << 31;
/// u32 words per node row.
pub const NODE_WORDS: usize = 6;
/// Flag bits.
pub const CLASSIFIER: u32 = 1;
pub const BINARY: u32 = 2;
pub const WEIGHTS_POSITIVE: u32 = 4;

#[derive(Clone, Copy, Debug)]
pub struct Tree {
    n: usize,
    c: usize,
    k: usize,
    aggregate: u32,
    post: Post,
    flags: u32,
    binary_class: usize,
    x: Features,
    f64_out: bool,
    nodes: usize,
    leaves: usize,
    members: usize,
    contributions: usize,
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

impl Tree {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Tree, StepFault> {
        let mut w = Words::new(step);
        let (n, c, k) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let aggregate = w.upto(3)? as u32;
        let post = Post::from_word(w.u32()?)?;
        let flags = w.upto(7)? as u32;
        let binary_class = w.upto(u32::MAX)?;
        w.end()?;
        let classifier = flags & CLASSIFIER != 0;
        if k == 0 || (flags & BINARY != 0 && (!classifier || binary_class >= k || k < 2)) {
            return Err(StepFault::Attrs);
        }
        if classifier {
            io.arity(10, 10, 2)?
        } else {
            io.arity(9, 9, 1)?
        }
        let x = Features::of(&io.input(0)?, product(&[n, c])?)?;
        let table = |i: usize, d: DType| -> Result<TensorRef<'_>, StepFault> {
            let t = io.input(i)?;
            want(&t, d)?;
            want_numel(&t, t.numel())?;
            if t.storage != Storage::Weights {
                return Err(StepFault::Shape);
            }
            Ok(t)
        };
        let nodes = table(1, DType::U32)?;
        let b = nodes.numel() / NODE_WORDS;
        want_numel(&nodes, product(&[b, NODE_WORDS])?)?;
        want_numel(&table(2, DType::F64)?, b)?;
        let members = table(3, DType::F64)?.numel();
        let leaves = table(4, DType::U32)?;
        let l = leaves.numel() / 2;
        want_numel(&leaves, product(&[l, 2])?)?;
        let contributions = table(5, DType::U32)?.numel();
        want_numel(&table(6, DType::F64)?, contributions)?;
        table(7, DType::U32)?;
        want_numel(&table(8, DType::F64)?, k)?;
        let mut f64_out = false;
        if classifier {
            let labels = table(9, DType::I64)?;
            let q = labels.numel();
            // Labels of a multi-column classifier are indexed by the winning column.
            if flags & BINARY != 0 && q != 2 || flags & BINARY == 0 && q != 1 && q < k {
                return Err(StepFault::Shape);
            }
            let (label, scores) = (io.output(0)?, io.output(1)?);
            want(&label, DType::I64)?;
            want_numel(&label, n)?;
            want(&scores, DType::F32)?;
            want_numel(&scores, product(&[n, k])?)?;
        } else {
            let y = io.output(0)?;
            f64_out = y.dtype == DType::F64;
            if !f64_out {
                want(&y, DType::F32)?;
            }
            want_numel(&y, product(&[n, k])?)?;
        }
        let t = Tree {
            n,
            c,
            k,
            aggregate,
            post,
            flags,
            binary_class,
            x,
            f64_out,
            nodes: b,
            leaves: l,
            members,
            contributions,
        };
        Ok(t)
    }

    /// Checks the structure tables' contents (called once at load): node features below `c`,
    /// known rules, children that are later nodes or existing leaves, member ranges and leaf
    /// ranges in bounds, targets below `k`, roots that exist.
    pub fn check_tables(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let bytes = |i: usize| io.input(i).ok().and_then(|t| model.weight_bytes(&t)).ok_or(StepFault::Shape);
        let link_ok = |from: Option<usize>, w: u32| {
            if w & LEAF != 0 {
                ((w & !LEAF) as usize) < self.leaves
            } else {
                (w as usize) < self.nodes && from.is_none_or(|f| w as usize > f)
            }
        };
        let nodes = bytes(1)?;
        let mut row = [0u32; NODE_WORDS];
        for (i, r) in nodes.chunks_exact(4 * NODE_WORDS).enumerate() {
            u32s(r).zip(row.iter_mut()).for_each(|(v, o)| *o = v);
            let [feature, rule, yes, no, set_start, set_len] = row;
            let (code, missing) = (rule & 0xff, rule >> 8);
            let set_ok = (set_start as usize).checked_add(set_len as usize).is_some_and(|e| e <= self.members);
            if feature as usize >= self.c
                || code > 6
                || missing > 1
                || !set_ok
                || !link_ok(Some(i), yes)
                || !link_ok(Some(i), no)
            {
                return Err(StepFault::Shape);
            }
        }
        let leaves = bytes(4)?;
        for r in leaves.chunks_exact(8) {
            let mut it = u32s(r);
            let (s, len) = (it.next().unwrap_or(0) as usize, it.next().unwrap_or(0) as usize);
            if s.checked_add(len).is_none_or(|e| e > self.contributions) {
                return Err(StepFault::Shape);
            }
        }
        if u32s(bytes(5)?).any(|t| t as usize >= self.k) || !u32s(bytes(7)?).all(|r| link_ok(None, r)) {
            return Err(StepFault::Shape);
        }
        Ok(())
    }

    pub fn scratch_bytes(&self) -> usize {
        self.k.saturating_mul(16)
    }

    /// The leaf a walk from `root` reaches for row `i`.
    fn leaf(&self, mem: &Mem<'_>, io: &Io<'_>, root: u32, i: usize) -> usize {
        let (Ok(x), Ok(nt), Ok(vt), Ok(mt)) = (io.input(0), io.input(1), io.input(2), io.input(3)) else { return 0 };
        let (nodes, values, members) = (inp::<u32>(mem, &nt), inp::<f64>(mem, &vt), inp::<f64>(mem, &mt));
        let mut cur = root;
        // Children have larger indices than their node (checked at load): at most `b` steps.
        while cur & LEAF == 0 {
            let b = cur as usize;
            let Some(r) = nodes.get(b * NODE_WORDS..(b + 1) * NODE_WORDS) else { return 0 };
            let v = self.x.at(mem, &x, i * self.c + r[0] as usize);
            let th = values.get(b).copied().unwrap_or(0.0);
            let yes = if v.is_nan() && r[1] >> 8 == 1 {
                true
            } else {
                match r[1] & 0xff {
                    0 => v <= th,
                    1 => v < th,
                    2 => v >= th,
                    3 => v > th,
                    4 => v == th,
                    5 => v != th,
                    _ => members.get(r[4] as usize..(r[4] + r[5]) as usize).is_some_and(|s| s.contains(&v)),
                }
            };
            cur = if yes { r[2] } else { r[3] };
        }
        (cur & !LEAF) as usize
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        // SAFETY: f64 is plain old data; `align_to_mut` only yields aligned f64s (the plan's
        // scratch offset is 8-byte aligned, so the prefix is empty).
        let (_, scratch, _) = unsafe { scratch.align_to_mut::<f64>() };
        let k = self.k;
        if scratch.len() < 2 * k {
            return;
        }
        let (acc, hit) = scratch.split_at_mut(k);
        let (Ok(lt), Ok(tt), Ok(wt), Ok(rt), Ok(bt)) =
            (io.input(4), io.input(5), io.input(6), io.input(7), io.input(8))
        else {
            return;
        };
        let (leaves, targets, weights) = (inp::<u32>(mem, &lt), inp::<u32>(mem, &tt), inp::<f64>(mem, &wt));
        let (roots, base) = (inp::<u32>(mem, &rt), inp::<f64>(mem, &bt));
        let big = if self.f64_out { f64::MAX } else { f32::MAX as f64 };
        let n_trees = roots.len().max(1) as f64;
        let classifier = self.flags & CLASSIFIER != 0;
        for i in 0..self.n {
            acc.fill(match self.aggregate {
                2 => big,
                3 => -big,
                _ => 0.0,
            });
            hit[..k].fill(0.0);
            for &root in roots {
                let l = self.leaf(mem, io, root, i);
                let (s, len) = (leaves[2 * l] as usize, leaves[2 * l + 1] as usize);
                for (&t, &w) in targets[s..s + len].iter().zip(&weights[s..s + len]) {
                    let (t, a) = (t as usize, &mut acc[t as usize]);
                    hit[t] = 1.0;
                    match self.aggregate {
                        2 => *a = a.min(w),
                        3 => *a = a.max(w),
                        _ => *a += w,
                    }
                }
            }
            for j in 0..k {
                if self.aggregate == 0 {
                    acc[j] /= n_trees;
                }
                // A regression target no leaf reached is 0 (no base value), as onnxruntime.
                acc[j] = if hit[j] != 0.0 || classifier { acc[j] + base[j] } else { 0.0 };
            }
            if classifier {
                self.classify(mem, io, i, acc);
                continue;
            }
            self.post.apply(acc);
            let Ok(y) = io.output(0) else { return };
            if self.f64_out {
                let y = out::<f64>(mem, &y);
                y[i * k..(i + 1) * k].iter_mut().zip(acc.iter()).for_each(|(o, v)| *o = *v as f32 as f64);
            } else {
                let y = out::<f32>(mem, &y);
                y[i * k..(i + 1) * k].iter_mut().zip(acc.iter()).for_each(|(o, v)| *o = *v as f32);
            }
        }
    }

    /// The label and scores of row `i` from its aggregated class scores.
    fn classify(&self, mem: &Mem<'_>, io: &Io<'_>, i: usize, row: &mut [f64]) {
        let (Ok(qt), Ok(label), Ok(scores)) = (io.input(9), io.output(0), io.output(1)) else { return };
        let (labels, label, scores) = (inp::<i64>(mem, &qt), out::<i64>(mem, &label), out::<f32>(mem, &scores));
        let k = self.k;
        if self.flags & BINARY != 0 {
            let s = row[self.binary_class];
            let positive = self.flags & WEIGHTS_POSITIVE != 0;
            let (second, pair) = if positive { (s > 0.5, [1.0 - s, s]) } else { (s > 0.0, [-s, s]) };
            row[..2].copy_from_slice(&pair);
            if (self.post == Post::Logistic && !positive) || self.post == Post::Probit {
                self.post.apply(&mut row[..2]);
            }
            label[i] = labels[usize::from(second)];
        } else {
            self.post.apply(row);
            let best = argmax(row);
            label[i] = if labels.len() == 1 { if best == 1 { labels[0] } else { 0 } } else { labels[best] };
        }
        scores[i * k..(i + 1) * k].iter_mut().zip(row.iter()).for_each(|(o, v)| *o = *v as f32);
    }
}
