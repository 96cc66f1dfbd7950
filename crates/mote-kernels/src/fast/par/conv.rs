//! [`conv2d_par`] and [`depthwise2d_par`]: convolutions split into tasks.

use super::Parallel;
use super::split::{Shared, for_each_part, part, task_count};
use crate::fast::activation::{Activation, activation_in_place};
use crate::fast::conv::{Conv2d, conv_pack_weights_len, conv2d, conv2d_scratch_len};
use crate::fast::conv_direct;
use crate::fast::conv_transpose::{self, conv_transpose_validate, conv_transpose2d, conv_transpose2d_scratch_len};
use crate::fast::cpu::Cpu;
use crate::fast::depthwise::{depthwise2d, depthwise2d_scratch_len};
use crate::fast::gemm::pack::{Im2col, Strided};
use crate::fast::gemm::{self, ASrc, BSrc, Bias, Gemm, MR, NR};

/// [`conv2d`] split into tasks on `par`. With at least as many (image, group) pairs as threads,
/// each task computes whole groups (its own input copy or packing in its scratch); otherwise
/// each group's output channels are split into panels of `MR` rows: a stride-phase copy of the
/// input is made once per group (in `scratch`) and read by every task, an im2col or pointwise
/// group packs its own blocks per task. Same arguments, panics and results (bit for bit) as
/// `conv2d`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_par(
    par: &dyn Parallel,
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    packed_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    if let Err(e) = g.validate() {
        panic!("conv2d: invalid geometry: {e}");
    }
    let (cg, mg, k) = (g.in_channels / g.group, g.out_channels / g.group, g.k());
    let (ip, op) = (g.in_plane(), g.out_plane());
    let units = g.batch * g.group;
    let work = units.saturating_mul(mg).saturating_mul(op).saturating_mul(k);
    let by_groups = units >= par.threads();
    let blocks = if by_groups { units } else { mg.div_ceil(MR) };
    let tasks = task_count(par, blocks, work);
    if tasks <= 1 {
        return conv2d(cpu, g, x, packed_w, bias, act, y, scratch);
    }
    assert!(x.len() >= g.batch * g.in_channels * ip, "conv2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= g.batch * g.out_channels * op, "conv2d: y shorter than [N, M, OH, OW]");
    assert!(packed_w.len() >= conv_pack_weights_len(g), "conv2d: packed weights shorter than conv_pack_weights_len");
    let need = conv2d_scratch_len(g);
    assert!(scratch.len() >= need, "conv2d: scratch shorter than conv2d_scratch_len");
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "conv2d: bias shorter than M");
    }
    let per = gemm::pack_a_len(mg, k);
    let direct = conv_direct::applies(g);
    // (image, group) pair `u` reads x[u * cg * ip..][..cg * ip] and writes y[u * mg * op..][..mg * op].
    if by_groups {
        let out = Shared::new(&mut y[..units * mg * op]);
        par.run(tasks, &mut scratch[..need], &|t, s| {
            let r = part(units, 1, tasks, t);
            // SAFETY: the outputs of pairs `r`; the pair ranges of distinct tasks are disjoint.
            let yt = unsafe { out.part(r.start * mg * op..r.end * mg * op) };
            for (u, yg) in r.clone().zip(yt.chunks_exact_mut(mg * op)) {
                let gi = u % g.group;
                let xg = &x[u * cg * ip..][..cg * ip];
                let (a, b) = (&packed_w[gi * per..][..per], bias.map(|b| &b[gi * mg..][..mg]));
                if direct {
                    conv_direct::pad_input(g, xg, s);
                    conv_direct::group_rows(cpu, g, 0..mg, a, b, act, s, yg);
                } else {
                    gemm_rows(cpu, g, 0..mg, xg, a, b, act, yg, s);
                }
            }
        });
        return;
    }
    for u in 0..units {
        let gi = u % g.group;
        let xg = &x[u * cg * ip..][..cg * ip];
        let (a, b) = (&packed_w[gi * per..][..per], bias.map(|b| &b[gi * mg..][..mg]));
        let out = Shared::new(&mut y[u * mg * op..][..mg * op]);
        if direct {
            // The phase planes by channels (every task its own), then the rows reading them all.
            let cp = conv_direct::channel_planes_len(g);
            let (planes, slack) = scratch.split_at_mut(cg * cp);
            slack[..NR].fill(0.0);
            let pads = task_count(par, cg, (cg * cp).saturating_mul(super::ELEMENT_WORK));
            let xps = Shared::new(planes);
            par.run(pads, &mut [], &|t, _| {
                let r = part(cg, 1, pads, t);
                // SAFETY: the planes of channels `r`; disjoint for distinct tasks.
                let planes_t = unsafe { xps.part(r.start * cp..r.end * cp) };
                conv_direct::pad_planes(g, &xg[r.start * ip..r.end * ip], planes_t);
            });
            let xp: &[f32] = scratch;
            par.run(tasks, &mut [], &|t, _| {
                let r = part(mg, MR, tasks, t);
                // SAFETY: output channels `r` of this group; disjoint for distinct tasks.
                let yt = unsafe { out.part(r.start * op..r.end * op) };
                conv_direct::group_rows(cpu, g, r, a, b, act, xp, yt);
            });
        } else {
            par.run(tasks, &mut scratch[..need], &|t, s| {
                let r = part(mg, MR, tasks, t);
                // SAFETY: output channels `r` of this group; disjoint for distinct tasks.
                let yt = unsafe { out.part(r.start * op..r.end * op) };
                gemm_rows(cpu, g, r, xg, a, b, act, yt, s);
            });
        }
    }
}

/// Output channels `rows` (`rows.start` a multiple of `MR`) of one group of a convolution that
/// runs as a GEMM over the input read in place (pointwise) or packed as im2col panels.
#[allow(clippy::too_many_arguments)]
fn gemm_rows(
    cpu: Cpu,
    g: &Conv2d,
    rows: core::ops::Range<usize>,
    xg: &[f32],
    a: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    if rows.is_empty() {
        return;
    }
    let (ip, op, k) = (g.in_plane(), g.out_plane(), g.k());
    let b = if g.is_pointwise() {
        BSrc::Strided(Strided { data: xg, rs: ip, cs: 1 })
    } else {
        BSrc::Im2col(Im2col { x: xg, g })
    };
    let problem = Gemm {
        m: rows.len(),
        n: op,
        k,
        a: ASrc::Packed(&a[rows.start / MR * k * MR..]),
        b,
        ldc: op,
        bias: bias.map_or(Bias::None, |b| Bias::PerRow(&b[rows.start..])),
        act,
    };
    gemm::gemm_run(cpu, &problem, y, scratch);
}

/// [`depthwise2d`] split into tasks on `par` by channel planes (`N * C` of them), each task
/// with its own scratch. Same arguments, panics and results (bit for bit) as `depthwise2d`.
#[allow(clippy::too_many_arguments)]
pub fn depthwise2d_par(
    par: &dyn Parallel,
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let planes = g.batch * g.in_channels;
    let (ip, op, kv) = (g.in_plane(), g.out_plane(), g.kernel[0] * g.kernel[1]);
    let work = planes.saturating_mul(op).saturating_mul(kv);
    let tasks = task_count(par, planes, work);
    if tasks <= 1 || g.validate().is_err() || !g.is_depthwise() {
        return depthwise2d(cpu, g, x, w, bias, act, y, scratch);
    }
    assert!(x.len() >= planes * ip, "depthwise2d: x shorter than [N, C, H, W]");
    let need = depthwise2d_scratch_len(g);
    assert!(scratch.len() >= need, "depthwise2d: scratch shorter than depthwise2d_scratch_len");
    let out = Shared::new(&mut y[..planes * op]);
    let c = g.in_channels;
    par.run(tasks, &mut scratch[..need], &|t, s| {
        let r = part(planes, 1, tasks, t);
        // SAFETY: output planes `r`; the plane ranges of distinct tasks are disjoint.
        let yt = unsafe { out.part(r.start * op..r.end * op) };
        // One call per run of channels of one image: each plane computed as the whole call would.
        let mut p = r.start;
        while p < r.end {
            let (c0, cnt) = (p % c, (c - p % c).min(r.end - p));
            let sub = Conv2d { batch: 1, in_channels: cnt, out_channels: cnt, group: cnt, ..*g };
            let yp = &mut yt[(p - r.start) * op..][..cnt * op];
            let (ws, bs) = (&w[c0 * kv..][..cnt * kv], bias.map(|b| &b[c0..][..cnt]));
            depthwise2d(cpu, &sub, &x[p * ip..][..cnt * ip], ws, bs, act, yp, s);
            p += cnt;
        }
    });
}

/// [`conv_transpose2d`](crate::fast::conv_transpose2d) split into tasks on `par`: each image
/// and group's output channels in blocks whose GEMM rows start at packed-A panels, every task
/// with its own scratch (bias rows, a band of products, packing). Same arguments, panics and
/// results (bit for bit) as `conv_transpose2d`.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose2d_par(
    par: &dyn Parallel,
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    packed_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let (cg, mg) = (g.in_channels / g.group.max(1), g.out_channels / g.group.max(1));
    let (ip, op, kv) = (g.in_plane(), g.out_plane(), g.kernel[0] * g.kernel[1]);
    let align = conv_transpose::channel_align(g);
    let work = mg.saturating_mul(kv).saturating_mul(cg).saturating_mul(ip);
    let tasks = task_count(par, mg.div_ceil(align), work);
    if tasks <= 1 || conv_transpose_validate(g).is_err() || op == 0 {
        return conv_transpose2d(cpu, g, x, packed_w, bias, act, y, scratch);
    }
    assert!(x.len() >= g.batch * g.in_channels * ip, "conv_transpose2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= g.batch * g.out_channels * op, "conv_transpose2d: y shorter than [N, M, OH, OW]");
    let need = conv_transpose2d_scratch_len(g);
    assert!(scratch.len() >= need, "conv_transpose2d: scratch shorter than conv_transpose2d_scratch_len");
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "conv_transpose2d: bias shorter than M");
    }
    let per = gemm::pack_a_len(mg * kv, cg);
    assert!(packed_w.len() >= g.group * per, "conv_transpose2d: packed weights too short");
    for u in 0..g.batch * g.group {
        let gi = u % g.group;
        let xg = &x[u * cg * ip..][..cg * ip];
        let (wg, bg) = (&packed_w[gi * per..][..per], bias.map(|b| &b[gi * mg..][..mg]));
        let out = Shared::new(&mut y[u * mg * op..][..mg * op]);
        par.run(tasks, &mut scratch[..need], &|t, s| {
            let r = part(mg, align, tasks, t);
            if r.is_empty() {
                return;
            }
            // SAFETY: output channels `r` of this image and group; disjoint for distinct tasks.
            let yc = unsafe { out.part(r.start * op..r.end * op) };
            conv_transpose::channels(cpu, g, xg, wg, bg, act, r, yc, s);
        });
    }
    if !conv_transpose::tiles_exactly(g) {
        // The activation over the whole output, in element ranges aligned as its vector loop.
        let y = &mut y[..g.batch * g.out_channels * op];
        let len = y.len();
        for_each_part(par, y, len, 64, len, &mut [], &|_, part, _| activation_in_place(cpu, act, part));
    }
}

/// [`blocked_conv2d`](crate::fast::blocked_conv2d) split into tasks on `par`: depthwise by
/// channel blocks (of every image), pointwise by panels of 16 output channels (per image), every
/// task with its own scratch. Same arguments, panics and results (bit for bit) as
/// `blocked_conv2d`.
#[allow(clippy::too_many_arguments)]
pub fn blocked_conv2d_par(
    par: &dyn Parallel,
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    use crate::fast::{BLOCK, NR, blocked_conv2d, blocked_conv2d_scratch_len, blocked_supported};
    let work = g.batch.saturating_mul(g.out_channels).saturating_mul(g.out_plane()).saturating_mul(g.k());
    let dw = g.is_depthwise();
    // Units: channel blocks of all images (depthwise), 16-channel output panels (pointwise),
    // output channel blocks (stem).
    let stem = crate::fast::blocked_reads_nchw(g);
    let width = if stem { BLOCK } else { NR };
    let units = if dw { g.batch * g.in_channels / BLOCK } else { g.out_channels.div_ceil(width) };
    let tasks = task_count(par, units, work);
    if tasks <= 1 || !blocked_supported(g) || (!dw && g.batch != 1) {
        return blocked_conv2d(cpu, g, x, w, bias, act, y, scratch);
    }
    let (ip, op) = (g.in_plane(), g.out_plane());
    assert!(x.len() >= g.batch * g.in_channels * ip, "blocked_conv2d: x shorter than its shape");
    let need = blocked_conv2d_scratch_len(g);
    assert!(scratch.len() >= need, "blocked_conv2d: scratch too short");
    let out = Shared::new(&mut y[..g.batch * g.out_channels * op]);
    let taps = g.kernel[0] * g.kernel[1];
    par.run(tasks, &mut scratch[..need], &|t, s| {
        let r = part(units, 1, tasks, t);
        if r.is_empty() {
            return;
        }
        if dw {
            // Blocks `r` of the flattened [N, C/8]: one call per run of blocks of one image.
            let blocks = g.in_channels / BLOCK;
            let mut b = r.start;
            while b < r.end {
                let (b0, cnt) = (b % blocks, (blocks - b % blocks).min(r.end - b));
                let c = cnt * BLOCK;
                let sub = Conv2d { batch: 1, in_channels: c, out_channels: c, group: c, ..*g };
                // SAFETY: output blocks `b..b + cnt`, inside this task's range; the ranges of
                // distinct tasks are disjoint.
                let yt = unsafe { out.part(b * BLOCK * op..(b + cnt) * BLOCK * op) };
                let (xs, ws) = (&x[b * BLOCK * ip..][..c * ip], &w[b0 * BLOCK * taps..][..c * taps]);
                blocked_conv2d(cpu, &sub, xs, ws, bias.map(|v| &v[b0 * BLOCK..][..c]), act, yt, s);
                b += cnt;
            }
        } else {
            // Output channels `m0..m1` (whole 16-channel panels, or 8-channel blocks of a stem;
            // the last panel may be 8 wide).
            let (m0, m1) = (r.start * width, (r.end * width).min(g.out_channels));
            let sub = Conv2d { out_channels: m1 - m0, ..*g };
            // SAFETY: output channel blocks `m0 / 8..m1 / 8` of the single image; disjoint
            // between tasks.
            let yt = unsafe { out.part(m0 * op..m1 * op) };
            // Packed-B panels (pointwise) or `[M / 8, C, kh, kw, 8]` (stem).
            let ws = if stem { &w[m0 * g.in_channels * taps..] } else { &w[m0 * g.in_channels..] };
            blocked_conv2d(cpu, &sub, x, ws, bias.map(|v| &v[m0..m1]), act, yt, s);
        }
    });
}
