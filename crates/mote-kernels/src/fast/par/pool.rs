//! [`pool2d_par`] and [`global_avg_pool_par`]: pooling split into tasks by planes.

use super::Parallel;
use super::split::{Shared, part, task_count};
use crate::fast::cpu::Cpu;
use crate::fast::pool::{Pool2d, PoolKind, global_avg_pool, pool2d, pool2d_scratch_len};

/// [`pool2d`] split into tasks on `par` by planes, each task with its own scratch. Same
/// arguments, panics and results (bit for bit) as `pool2d`.
pub fn pool2d_par(
    par: &dyn Parallel,
    cpu: Cpu,
    kind: PoolKind,
    g: &Pool2d,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let (ip, op) = (g.input[0] * g.input[1], g.output[0] * g.output[1]);
    let work = g.planes.saturating_mul(op).saturating_mul(g.kernel[0] * g.kernel[1]);
    let tasks = task_count(par, g.planes, work);
    if tasks <= 1 || g.validate().is_err() {
        return pool2d(cpu, kind, g, x, y, scratch);
    }
    assert!(x.len() >= g.planes * ip, "pool2d: x shorter than [planes, H, W]");
    let need = pool2d_scratch_len(g);
    assert!(scratch.len() >= need, "pool2d: scratch shorter than pool2d_scratch_len");
    let out = Shared::new(&mut y[..g.planes * op]);
    par.run(tasks, &mut scratch[..need], &|t, s| {
        let r = part(g.planes, 1, tasks, t);
        // SAFETY: output planes `r`; the plane ranges of distinct tasks are disjoint.
        let yt = unsafe { out.part(r.start * op..r.end * op) };
        let sub = Pool2d { planes: r.len(), ..*g };
        pool2d(cpu, kind, &sub, &x[r.start * ip..r.end * ip], yt, s);
    });
}

/// [`global_avg_pool`] split into tasks on `par` by planes. Same arguments, panics and results
/// (bit for bit) as `global_avg_pool`.
pub fn global_avg_pool_par(par: &dyn Parallel, cpu: Cpu, planes: usize, plane: usize, x: &[f32], y: &mut [f32]) {
    let tasks = task_count(par, planes, planes.saturating_mul(plane).saturating_mul(super::ELEMENT_WORK));
    if tasks <= 1 {
        return global_avg_pool(cpu, planes, plane, x, y);
    }
    assert!(x.len() >= planes * plane, "global_avg_pool: x shorter than planes * plane");
    let out = Shared::new(&mut y[..planes]);
    par.run(tasks, &mut [], &|t, _| {
        let r = part(planes, 1, tasks, t);
        // SAFETY: outputs `r`; the ranges of distinct tasks are disjoint.
        let yt = unsafe { out.part(r.clone()) };
        global_avg_pool(cpu, r.len(), plane, &x[r.start * plane..r.end * plane], yt);
    });
}
