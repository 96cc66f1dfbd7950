//! `NonMaxSuppression` (61): greedy per-class suppression of overlapping boxes, with an output
//! whose length depends on the data.
//!
//! Inputs `boxes [B, S, 4]`, `scores [B, C, S]` (f32), optional `max_output_boxes_per_class`
//! (i64, one value; absent: 0), `iou_threshold` (f32, one value; absent: 0), `score_threshold`
//! (f32, one value; absent: none). Outputs `selected [B * C * S, 3]` (i64 `[batch, class,
//! box]` triples, the first `count` rows valid) and `count [1]` (i64). The compiler marks
//! `selected` with a SIGNATURE record of kind Bounded (axis 0, `count`), so the host presents
//! `count` rows. Attributes `[center_point_box]`. Scratch: `2 S` u32 (candidates, kept).
//!
//! Per batch entry and class: the boxes above the score threshold, highest score first (equal
//! scores: lower index first), each kept unless its IoU with a kept box exceeds the threshold,
//! at most `max_output_boxes_per_class` of them (as the reference interpreter).

use core::cmp::Ordering;

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::image::nms_suppresses;

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Nms {
    center: bool,
    /// B, C, S.
    dims: [usize; 3],
}

impl Nms {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Nms, StepFault> {
        io.arity(2, 5, 2)?;
        let mut w = Words::new(step);
        let center = w.bool()?;
        w.end()?;
        let (b, s, sel, count) = (io.input(0)?, io.input(1)?, io.output(0)?, io.output(1)?);
        for t in [b, s] {
            want(&t, DType::F32)?;
        }
        want(&sel, DType::I64)?;
        want(&count, DType::I64)?;
        for t in [b, s, sel, count] {
            want_numel(&t, t.numel())?;
        }
        let (bd, sd) = (b.dims(), s.dims());
        if b.rank != 3 || s.rank != 3 || bd[2] != 4 || sd[0] != bd[0] || sd[2] != bd[1] {
            return Err(StepFault::Shape);
        }
        let dims = [bd[0] as usize, sd[1] as usize, bd[1] as usize];
        let cap = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or(StepFault::Shape)?;
        if sel.rank != 2 || sel.dims()[0] as usize != cap || sel.dims()[1] != 3 || count.numel() != 1 {
            return Err(StepFault::Shape);
        }
        for (i, dt) in [(2, DType::I64), (3, DType::F32), (4, DType::F32)] {
            if let Some(t) = io.opt(i) {
                want(&t, dt)?;
                want_numel(&t, 1)?;
            }
        }
        Ok(Nms { center, dims })
    }

    pub fn scratch_bytes(&self) -> usize {
        8 * self.dims[2]
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(b), Ok(s), Ok(sel), Ok(count)) = (io.input(0), io.input(1), io.output(0), io.output(1)) else {
            return;
        };
        let [nb, nc, ns] = self.dims;
        let (boxes, scores) = (inp::<f32>(mem, &b), inp::<f32>(mem, &s));
        let max_out = io.opt(2).map_or(0, |t| inp::<i64>(mem, &t)[0]).clamp(0, ns as i64) as usize;
        let iou = io.opt(3).map_or(0.0, |t| inp::<f32>(mem, &t)[0]);
        let score_th = io.opt(4).map(|t| inp::<f32>(mem, &t)[0]);
        // SAFETY: u32 and f32 have the same size and alignment, and every bit pattern is a u32.
        let (_, idx, _) = unsafe { scratch.align_to_mut::<u32>() };
        if idx.len() < 2 * ns {
            return;
        }
        let (cand, kept) = idx.split_at_mut(ns);
        let (sel, mut n) = (out::<i64>(mem, &sel), 0usize);
        for bi in 0..nb {
            let bx = &boxes[bi * ns * 4..][..ns * 4];
            for c in 0..nc {
                let sc = &scores[(bi * nc + c) * ns..][..ns];
                let mut m = 0;
                for i in 0..ns {
                    if score_th.is_none_or(|t| sc[i] > t) {
                        cand[m] = i as u32;
                        m += 1;
                    }
                }
                // Highest score first; equal (or unordered) scores keep the lower index first.
                cand[..m].sort_unstable_by(|&i, &j| {
                    let (i, j) = (i as usize, j as usize);
                    sc[j].partial_cmp(&sc[i]).unwrap_or(Ordering::Equal).then(i.cmp(&j))
                });
                let mut k = 0;
                for &i in &cand[..m] {
                    if k >= max_out {
                        break;
                    }
                    let a = &bx[i as usize * 4..][..4];
                    if kept[..k].iter().all(|&j| !nms_suppresses(a, &bx[j as usize * 4..][..4], self.center, iou)) {
                        kept[k] = i;
                        k += 1;
                        sel[3 * n..3 * n + 3].copy_from_slice(&[bi as i64, c as i64, i as i64]);
                        n += 1;
                    }
                }
            }
        }
        out::<i64>(mem, &count)[0] = n as i64;
    }
}

/// NonMaxSuppression attributes.
#[cfg(feature = "alloc")]
pub fn encode_nms(center_point_box: bool) -> alloc::vec::Vec<u32> {
    alloc::vec![center_point_box as u32]
}
