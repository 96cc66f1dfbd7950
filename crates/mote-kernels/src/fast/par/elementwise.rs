//! [`binary_par`]: element-wise binary ops split into tasks by element ranges.

use super::Parallel;
use super::split::{Shared, part, task_count};
use crate::fast::activation::Activation;
use crate::fast::cpu::Cpu;
use crate::fast::elementwise::{BinaryOp, Rhs, binary, binary_in_place};

/// Elements per block of a split: a multiple of every vector width, so each element takes the
/// same (vector or scalar-tail) path as in one call.
const ALIGN: usize = 64;

/// [`binary`] (with `a`) or [`binary_in_place`] (`a == None`: `y` is the first operand) split
/// into tasks on `par` by ranges of elements (whole channel planes for a per-channel `rhs`).
/// Same panics and results (bit for bit) as those.
pub fn binary_par(
    par: &dyn Parallel,
    cpu: Cpu,
    op: BinaryOp,
    a: Option<&[f32]>,
    rhs: Rhs<'_>,
    act: Activation,
    y: &mut [f32],
) {
    let n = y.len();
    let (units, align) = match rhs {
        Rhs::PerChannel { plane, .. } if plane > 0 => (n / plane, 1),
        Rhs::PerChannel { .. } => (0, 1),
        _ => (n, ALIGN),
    };
    let tasks = task_count(par, units.div_ceil(align), n.saturating_mul(super::ELEMENT_WORK));
    let whole = match rhs {
        Rhs::Same(b) => b.len() == n,
        Rhs::Scalar(_) => true,
        Rhs::PerChannel { values, plane } => {
            values.len().checked_mul(plane).is_some_and(|p| p > 0 && n.is_multiple_of(p))
        }
        // Not split (one call on the calling thread).
        Rhs::PerChannelBlocked { .. } => false,
    };
    if tasks <= 1 || !whole || a.is_some_and(|a| a.len() != n) {
        return match a {
            Some(a) => binary(cpu, op, a, rhs, act, y),
            None => binary_in_place(cpu, op, y, rhs, act),
        };
    }
    let out = Shared::new(y);
    par.run(tasks, &mut [], &|t, _| {
        let r = part(units, align, tasks, t);
        match rhs {
            Rhs::PerChannel { values, plane } => {
                // Planes `r`, one call per run of channels of one image.
                let c = values.len();
                let mut p = r.start;
                while p < r.end {
                    let (c0, cnt) = (p % c, (c - p % c).min(r.end - p));
                    // SAFETY: planes `p..p + cnt`, inside this task's range `r`; the ranges of
                    // distinct tasks are disjoint.
                    let yt = unsafe { out.part(p * plane..(p + cnt) * plane) };
                    let rhs_t = Rhs::PerChannel { values: &values[c0..c0 + cnt], plane };
                    match a {
                        Some(a) => binary(cpu, op, &a[p * plane..(p + cnt) * plane], rhs_t, act, yt),
                        None => binary_in_place(cpu, op, yt, rhs_t, act),
                    }
                    p += cnt;
                }
            }
            _ => {
                // SAFETY: elements `r`; the ranges of distinct tasks are disjoint.
                let yt = unsafe { out.part(r.clone()) };
                let rhs_t = match rhs {
                    Rhs::Same(b) => Rhs::Same(&b[r.clone()]),
                    other => other,
                };
                match a {
                    Some(a) => binary(cpu, op, &a[r], rhs_t, act, yt),
                    None => binary_in_place(cpu, op, yt, rhs_t, act),
                }
            }
        }
    });
}
