//! Neural-network ops: Conv, ConvTranspose, pooling, BatchNorm (inference), Gemm, MatMul,
//! Softmax, Dropout (inference).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::infer::normalize_axis;
use mote_ir::ops::nn::{GlobalPool, NnOp, PoolKind, SoftmaxKind};
use mote_kernels::reference::reduce::Reduction;
use mote_rt::ops::{BiasKind, encode};

use super::{Lowerer, R, bail, layout, sparse};

fn f32_only(l: &Lowerer<'_>, t: usize, what: &str) -> R<()> {
    match l.p.tensors[t].dtype {
        DType::F32 => Ok(()),
        d => bail!("{what} on {d} is not supported by the compiled path (f32 only)"),
    }
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &NnOp) -> R<()> {
    match op {
        NnOp::Conv(_)
            if let Some(c) = layout::blocked_geometry(l, n)
                && let Some(side) = l.blocked_sides(n) =>
        {
            blocked_conv(l, n, &c, side)?;
        }
        NnOp::Conv(a) if let Some((batch, p, sw)) = sparse::conv(l, n, a) => {
            let x = l.input(n, 0)?;
            let b = match n.input(2) {
                Some(_) => Some(l.input(n, 2)?),
                None => None,
            };
            let y = l.output(n, 0)?;
            let act = l.fused_act(y);
            sparse::emit(l, n, &sw, false, batch, p, x, b, y, act)?;
        }
        NnOp::Conv(a) => {
            let (x, w) = (l.input(n, 0)?, l.input(n, 1)?);
            f32_only(l, x, "Conv")?;
            let b = match n.input(2) {
                Some(_) => Some(l.input(n, 2)?),
                None => None,
            };
            let (xd, wd) = (l.p.tensors[x].dims.clone(), l.p.tensors[w].dims.clone());
            if xd.len() < 3 || xd.len() > 5 {
                bail!("Conv on rank {} is not supported (1 to 3 spatial dims)", xd.len());
            }
            let r = a.window.resolve(&xd[2..], &wd[2..]).map_err(|e| e.0)?;
            let y = l.output(n, 0)?;
            let act = l.fused_act(y);
            let w = pack_conv_weights(l, n, w, a.group, &r, &l.p.tensors[y].dims.clone())?;
            let attrs = encode::conv(a.group, &r.kernel, &r.strides, &r.dilations, &r.pads_begin, act);
            l.p.step(OpCode::Conv, vec![Some(x), Some(w), b], vec![y], attrs, &n.name);
        }
        NnOp::ConvTranspose(a) => {
            let (x, w) = (l.input(n, 0)?, l.input(n, 1)?);
            f32_only(l, x, "ConvTranspose")?;
            let b = match n.input(2) {
                Some(_) => Some(l.input(n, 2)?),
                None => None,
            };
            let (xd, wd) = (l.p.tensors[x].dims.clone(), l.p.tensors[w].dims.clone());
            let rank = xd.len().saturating_sub(2);
            if !(1..=3).contains(&rank) {
                bail!("ConvTranspose on rank {} is not supported (1 to 3 spatial dims)", xd.len());
            }
            let out_shape =
                a.output_shape.as_ref().map(|s| if s.len() > rank { s[s.len() - rank..].to_vec() } else { s.clone() });
            let mut pads = Vec::with_capacity(rank);
            for i in 0..rank {
                let op = a.output_padding.get(i).copied().unwrap_or(0);
                let (pb, _, _) = a
                    .window
                    .transpose_axis(i, rank, xd[2 + i], wd[2 + i], op, out_shape.as_ref().map(|s| s[i]))
                    .map_err(|e| e.0)?;
                pads.push(pb);
            }
            let strides: Vec<usize> = (0..rank).map(|i| a.window.stride(i)).collect();
            let dil: Vec<usize> = (0..rank).map(|i| a.window.dilation(i)).collect();
            let y = l.output(n, 0)?;
            let act = l.fused_act(y);
            let attrs = encode::conv(a.group, &wd[2..], &strides, &dil, &pads, act);
            let win = Win { kernel: &wd[2..], strides: &strides, dilations: &dil, pads: &pads };
            let w = pack_conv_transpose_weights(l, n, w, a.group, &win, &l.p.tensors[y].dims.clone())?;
            l.p.step(OpCode::ConvTranspose, vec![Some(x), Some(w), b], vec![y], attrs, &n.name);
        }
        NnOp::Pool(a) => {
            let x = l.input(n, 0)?;
            f32_only(l, x, "pooling")?;
            let xd = l.p.tensors[x].dims.clone();
            if !(3..=5).contains(&xd.len()) {
                bail!("pooling on rank {} is not supported (1 to 3 spatial dims)", xd.len());
            }
            let kernel = a.window.kernel_shape.clone().ok_or("kernel_shape is missing")?;
            let r = a.window.resolve(&xd[2..], &kernel).map_err(|e| e.0)?;
            if n.outputs.iter().skip(1).flatten().next().is_some() {
                let PoolKind::Max { col_major } = a.kind else { bail!("only MaxPool has an Indices output") };
                let (y, ind) = (l.output(n, 0)?, l.output(n, 1)?);
                let attrs = encode::max_pool_indices(
                    &r.kernel,
                    &r.strides,
                    &r.dilations,
                    &r.pads_begin,
                    &r.pads_end,
                    col_major,
                );
                l.p.step(OpCode::MaxPoolIndices, vec![Some(x)], vec![y, ind], attrs, &n.name);
                return Ok(());
            }
            let (kind, cip, p) = match a.kind {
                PoolKind::Max { .. } => (0, false, 0.0),
                PoolKind::Average { count_include_pad } => (1, count_include_pad, 0.0),
                PoolKind::Lp { p } => (2, false, p),
            };
            let y = l.output(n, 0)?;
            let attrs = encode::pool(kind, &r.kernel, &r.strides, &r.dilations, &r.pads_begin, &r.pads_end, cip, p);
            l.p.step(OpCode::Pool, vec![Some(x)], vec![y], attrs, &n.name);
        }
        NnOp::GlobalPool(gp) => {
            let x = l.input(n, 0)?;
            f32_only(l, x, "global pooling")?;
            let xd = l.p.tensors[x].dims.clone();
            if !(3..=5).contains(&xd.len()) {
                bail!("global pooling on rank {} is not supported (1 to 3 spatial dims)", xd.len());
            }
            if xd.len() == 5 && l.blocked_sides(n).is_some_and(|(x, _)| x) {
                // A blocked input: reduce H and W of [N, C/8, H, W, 8]; [N, C, 1, 1] is the
                // same bytes as [N, C/8, 1, 1, 8].
                let kind = match gp {
                    GlobalPool::Max => Reduction::Max,
                    GlobalPool::Average => Reduction::Mean,
                    GlobalPool::Lp { .. } => bail!("blocked global Lp pooling is not planned"),
                };
                let y = l.output(n, 0)?;
                let view = l.p.alias(y, vec![xd[0], xd[1], 1, 1, xd[4]], format!("{}.blocked_view", n.name));
                let attrs = encode::reduce(kind, &xd, &[false, false, true, true, false]);
                l.p.step(OpCode::Reduce, vec![Some(x)], vec![view], attrs, &n.name);
                return Ok(());
            }
            let sp = xd[2..].to_vec();
            let ones = vec![1; sp.len()];
            let zeros = vec![0isize; sp.len()];
            let (kind, p) = match gp {
                GlobalPool::Max => (0, 0.0),
                GlobalPool::Average => (1, 0.0),
                GlobalPool::Lp { p } => (2, *p),
            };
            let y = l.output(n, 0)?;
            let attrs = encode::pool(kind, &sp, &ones, &ones, &zeros, &zeros, false, p);
            l.p.step(OpCode::Pool, vec![Some(x)], vec![y], attrs, &n.name);
        }
        NnOp::BatchNorm { epsilon, training: false, .. } => {
            let x = l.input(n, 0)?;
            f32_only(l, x, "BatchNormalization")?;
            let mut p = Vec::new();
            for i in 1..5 {
                let v = l.in_value(n, i)?;
                let t = l.konst(v).ok_or("BatchNormalization parameters must be constant to compile")?;
                p.push(t.to_f64_vec().map_err(|e| e.to_string())?);
            }
            let c = p[0].len();
            if p.iter().any(|v| v.len() != c) {
                bail!("BatchNormalization parameters differ in length");
            }
            let scale: Vec<f32> = (0..c).map(|i| (p[0][i] / (p[3][i] + *epsilon as f64).sqrt()) as f32).collect();
            let shift: Vec<f32> =
                (0..c).map(|i| (p[1][i] - p[2][i] * (p[0][i] / (p[3][i] + *epsilon as f64).sqrt())) as f32).collect();
            let (s, b) = (
                l.weight_f32(vec![c], &scale, &format!("{}.scale", n.name)),
                l.weight_f32(vec![c], &shift, &format!("{}.shift", n.name)),
            );
            let xd = l.p.tensors[x].dims.clone();
            let outer = xd.first().copied().unwrap_or(1);
            let inner: usize = xd.iter().skip(2).product();
            if xd.get(1).copied().unwrap_or(1) != c {
                bail!("BatchNormalization has {c} channels but the input is {xd:?}");
            }
            let y = l.output_in_place(n, 0, 0)?;
            let act = l.fused_act(y);
            l.p.step(
                OpCode::BatchNorm,
                vec![Some(x), Some(s), Some(b)],
                vec![y],
                encode::affine(outer, c, inner, act),
                &n.name,
            );
        }
        NnOp::BatchNorm { epsilon, momentum, training: true } => super::train::batch_norm(l, n, *epsilon, *momentum)?,
        NnOp::Gemm { alpha, beta, trans_a, trans_b } => {
            // B's tensor is made after the sparse choice: a sparse B is stored only compressed.
            let a = l.input(n, 0)?;
            f32_only(l, a, "Gemm")?;
            let (ad, bd) = (l.p.tensors[a].dims.clone(), l.dims(l.in_value(n, 1)?)?);
            if ad.len() != 2 || bd.len() != 2 {
                bail!("Gemm needs 2-D A and B");
            }
            let (m, k) = if *trans_a { (ad[1], ad[0]) } else { (ad[0], ad[1]) };
            let nn = if *trans_b { bd[0] } else { bd[1] };
            let (c, kind) = match n.input(2) {
                None => (None, BiasKind::None),
                Some(_) => {
                    let c = l.input(n, 2)?;
                    let cd = l.p.tensors[c].dims.clone();
                    let numel: usize = cd.iter().product();
                    let kind = match (cd.as_slice(), numel) {
                        (_, 1) => BiasKind::Scalar,
                        ([x], _) if *x == nn => BiasKind::PerColumn,
                        ([1, x], _) if *x == nn => BiasKind::PerColumn,
                        ([x, 1], _) if *x == m => BiasKind::PerRow,
                        ([x, y], _) if *x == m && *y == nn => BiasKind::Full,
                        _ => bail!("Gemm bias of shape {cd:?} does not broadcast to [{m}, {nn}]"),
                    };
                    (Some(c), kind)
                }
            };
            let y = l.output(n, 0)?;
            let act = l.fused_act(y);
            let per_output = matches!(kind, BiasKind::None)
                || (kind == BiasKind::PerColumn
                    && c.is_some_and(|c| l.p.tensors[c].dims.iter().product::<usize>() == nn));
            if *alpha == 1.0
                && (*beta == 1.0 || kind == BiasKind::None)
                && per_output
                && !*trans_a
                && let Some(sw) = sparse::product_weight(l, n, 1, *trans_b, m)
            {
                let c = match c {
                    Some(c) => Some(l.p.alias(c, vec![nn], format!("{}.bias", n.name))),
                    None => None,
                };
                return sparse::emit(l, n, &sw, true, m, 1, a, c, y, act);
            }
            let b = l.input(n, 1)?;
            let fast = *alpha == 1.0
                && (*beta == 1.0 || kind == BiasKind::None)
                && matches!(kind, BiasKind::None | BiasKind::PerColumn | BiasKind::PerRow);
            let b = if fast { pack_b(l, n, 1, b, k, nn, *trans_b)? } else { b };
            let g = encode::GemmAttrs {
                m,
                n: nn,
                k,
                trans_a: *trans_a,
                trans_b: *trans_b,
                alpha: *alpha,
                beta: *beta,
                bias: kind,
                batch: vec![],
                a_strides: vec![],
                b_strides: vec![],
                act,
            };
            l.p.step(OpCode::Gemm, vec![Some(a), Some(b), c], vec![y], encode::gemm(&g), &n.name);
        }
        NnOp::MatMul => matmul(l, n)?,
        NnOp::Softmax(a) => {
            let x = l.input(n, 0)?;
            f32_only(l, x, "Softmax")?;
            let xd = l.p.tensors[x].dims.clone();
            let ax = normalize_axis(a.axis, xd.len()).map_err(|e| e.0)?;
            let outer: usize = xd[..ax].iter().product();
            let (len, inner) =
                if a.coerce_2d { (xd[ax..].iter().product(), 1) } else { (xd[ax], xd[ax + 1..].iter().product()) };
            let kind = match a.kind {
                SoftmaxKind::Softmax => 0,
                SoftmaxKind::LogSoftmax => 1,
                SoftmaxKind::Hardmax => 2,
            };
            let y = l.output(n, 0)?;
            l.p.step(OpCode::Softmax, vec![Some(x)], vec![y], encode::softmax(kind, outer, len, inner), &n.name);
        }
        NnOp::Dropout { .. } => {
            // Inference mode (training_mode absent or constant false): y = x whatever the ratio,
            // and the mask is all true.
            // Training mode with a constant ratio of 0 keeps every element too (deterministic);
            // random draws stay refused.
            let is = |i: usize, v: f64| {
                n.input(i).is_some_and(|id| l.konst(id).is_some_and(|t| t.to_f64_vec().ok() == Some(vec![v])))
            };
            if n.input(2).is_some() && !is(2, 0.0) && !is(1, 0.0) {
                bail!("Dropout in training mode is only compiled with a constant ratio of 0 (random masks are not)");
            }
            let x = l.input(n, 0)?;
            let dims = l.p.tensors[x].dims.clone();
            let t = l.p.alias(x, dims, "dropout");
            l.bind(n, 0, t)?;
            if n.outputs.get(1).copied().flatten().is_some() {
                let mask = l.output(n, 1)?;
                if l.p.tensors[mask].dtype != DType::Bool {
                    bail!("Dropout's mask must be bool");
                }
                l.p.step(OpCode::Fill, vec![], vec![mask], encode::fill(1), &n.name);
            }
        }
        NnOp::InstanceNorm { .. }
        | NnOp::LayerNorm { .. }
        | NnOp::GroupNorm { .. }
        | NnOp::RmsNorm { .. }
        | NnOp::Lrn { .. }
        | NnOp::LpNorm { .. }
        | NnOp::MeanVarianceNorm { .. } => super::norm::lower(l, n, op)?,
        NnOp::DeformConv(_) | NnOp::Col2Im(_) | NnOp::MaxUnpool(_) => super::sliding::lower(l, n, op)?,
        NnOp::Einsum(eq) => super::linalg::einsum(l, n, eq)?,
        NnOp::Det => super::linalg::det(l, n)?,
    }
    Ok(())
}

/// MatMul with numpy broadcasting over batch dims, as one batched Gemm.
fn matmul(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    // B's tensor is made after the sparse choice: a sparse B is stored only compressed.
    let a = l.input(n, 0)?;
    f32_only(l, a, "MatMul")?;
    let (mut ad, mut bd) = (l.p.tensors[a].dims.clone(), l.dims(l.in_value(n, 1)?)?);
    if ad.is_empty() || bd.is_empty() {
        bail!("MatMul of a scalar");
    }
    let (a1, b1) = (ad.len() == 1, bd.len() == 1);
    if a1 {
        ad.insert(0, 1);
    }
    if b1 {
        bd.push(1);
    }
    let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
    let (k2, nn) = (bd[bd.len() - 2], bd[bd.len() - 1]);
    if k != k2 {
        bail!("MatMul inner dims differ: {ad:?} x {bd:?}");
    }
    let (batch, a_strides, b_strides) =
        batch_strides(&ad[..ad.len() - 2], &bd[..bd.len() - 2], m * k, k * nn, mote_rt::ops::MAX_GEMM_BATCH_RANK)?;
    let y = l.output(n, 0)?;
    let act = l.fused_act(y);
    // A constant 2-D B: every row of A (over its batch dims) times B, possibly sparse.
    let rows: usize = ad[..ad.len() - 1].iter().product();
    if !b1
        && bd.len() == 2
        && let Some(sw) = sparse::product_weight(l, n, 1, false, rows)
    {
        return sparse::emit(l, n, &sw, true, rows, 1, a, None, y, act);
    }
    let b = l.input(n, 1)?;
    let b = if batch.is_empty() && !b1 { pack_b(l, n, 1, b, k, nn, false)? } else { b };
    let g = encode::GemmAttrs {
        m,
        n: nn,
        k,
        trans_a: false,
        trans_b: false,
        alpha: 1.0,
        beta: 0.0,
        bias: BiasKind::None,
        batch,
        a_strides,
        b_strides,
        act,
    };
    l.p.step(OpCode::Gemm, vec![Some(a), Some(b)], vec![y], encode::gemm(&g), &n.name);
    Ok(())
}

/// Numpy matmul broadcasting of batch dims `ab` and `bb`: the batch dims that are not 1 and
/// each operand's element stride along them (0 where it broadcasts), at most `max_rank` of them.
pub(super) fn batch_strides(
    ab: &[usize],
    bb: &[usize],
    amat: usize,
    bmat: usize,
    max_rank: usize,
) -> R<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let r = ab.len().max(bb.len());
    let pad = |v: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, r - v.len()).chain(v.iter().copied()).collect() };
    let (pa, pb) = (pad(ab), pad(bb));
    let mut batch = Vec::with_capacity(r);
    for i in 0..r {
        batch.push(match (pa[i], pb[i]) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => bail!("batch dims {ab:?} and {bb:?} do not broadcast"),
        });
    }
    let strides = |p: &[usize], mat: usize| -> Vec<usize> {
        let mut s = vec![0; r];
        let mut acc = mat;
        for i in (0..r).rev() {
            s[i] = if p[i] == 1 { 0 } else { acc };
            acc *= p[i];
        }
        s
    };
    let (sa, sb) = (strides(&pa, amat), strides(&pb, bmat));
    let keep: Vec<usize> = (0..r).filter(|&i| batch[i] != 1).collect();
    if keep.len() > max_rank {
        bail!("{} batch dims are more than the {max_rank} supported", keep.len());
    }
    Ok((
        keep.iter().map(|&i| batch[i]).collect(),
        keep.iter().map(|&i| sa[i]).collect(),
        keep.iter().map(|&i| sb[i]).collect(),
    ))
}

/// Conv node `n` in the channel-blocked layout (geometry `c`), with `Reorder` steps for the
/// sides (`(input, output)` blocked) that are NCHW.
fn blocked_conv(
    l: &mut Lowerer<'_>,
    n: &Node,
    c: &mote_kernels::fast::Conv2d,
    (x_blocked, y_blocked): (bool, bool),
) -> R<()> {
    use mote_kernels::fast::{BLOCKED_FORMAT_VERSION, blocked_pack_weights, blocked_pack_weights_len};
    let x = l.input(n, 0)?;
    let xb = if x_blocked || mote_kernels::fast::blocked_reads_nchw(c) {
        x
    } else {
        let dims = layout::blocked_dims(&l.p.tensors[x].dims);
        let t = l.p.arena(DType::F32, dims, format!("{}.blocked", l.p.tensors[x].name));
        l.p.step(OpCode::Reorder, vec![Some(x)], vec![t], encode::reorder(true), &n.name);
        t
    };
    let wv = l.in_value(n, 1)?;
    let wc = l.konst(wv).ok_or("blocked Conv weights must be constant")?;
    let wdims = wc.shape().to_vec();
    let data = wc.to_f32_vec().map_err(|e| e.to_string())?;
    let mut packed = vec![0f32; blocked_pack_weights_len(c)];
    blocked_pack_weights(c, &data, &mut packed);
    let w = l.p.packed_weight(wdims, &packed, BLOCKED_FORMAT_VERSION, format!("{}.blocked", l.g.value(wv).name));
    let b = match n.input(2) {
        Some(_) => Some(l.input(n, 2)?),
        None => None,
    };
    let y = l.output(n, 0)?;
    let act = l.fused_act(y);
    let yb = if y_blocked {
        y
    } else {
        let dims = layout::blocked_dims(&l.p.tensors[y].dims);
        l.p.arena(DType::F32, dims, format!("{}.blocked", l.p.tensors[y].name))
    };
    let pads = [c.pads[0] as isize, c.pads[1] as isize];
    let attrs = encode::conv(c.group, &c.kernel, &c.strides, &c.dilations, &pads, act);
    l.p.step(OpCode::ConvBlocked, vec![Some(xb), Some(w), b], vec![yb], attrs, &n.name);
    if !y_blocked {
        l.p.step(OpCode::Reorder, vec![Some(yb)], vec![y], encode::reorder(false), &n.name);
    }
    Ok(())
}

/// Packs a constant Conv weight for the fast kernels when the runtime will take the packed path
/// (2-D or 1-D, non-negative pads, not depthwise); otherwise returns `w` unchanged.
fn pack_conv_weights(
    l: &mut Lowerer<'_>,
    n: &Node,
    w: usize,
    group: usize,
    r: &mote_ir::ops::nn::Resolved,
    ydims: &[usize],
) -> R<usize> {
    let Some(wv) = n.input(1) else { return Ok(w) };
    if l.konst(wv).is_none() {
        return Ok(w);
    }
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let win = Win { kernel: &r.kernel, strides: &r.strides, dilations: &r.dilations, pads: &r.pads_begin };
    let Some(g) = geometry(&xd, ydims, group, &win) else { return Ok(w) };
    let Some(c) = mote_rt::ops::fast_geometry(&g) else { return Ok(w) };
    if c.is_depthwise() {
        return Ok(w);
    }
    let data = l.konst(wv).ok_or("weights vanished")?.to_f32_vec().map_err(|e| e.to_string())?;
    let mut packed = vec![0f32; mote_kernels::fast::conv_pack_weights_len(&c)];
    mote_kernels::fast::conv_pack_weights(&c, &data, &mut packed);
    Ok(packed_weight(l, w, wv, &packed))
}

/// Packs a constant ConvTranspose weight for the fast kernel when the runtime will take the
/// packed path (2-D or 1-D, non-negative pads); otherwise returns `w` unchanged.
fn pack_conv_transpose_weights(
    l: &mut Lowerer<'_>,
    n: &Node,
    w: usize,
    group: usize,
    win: &Win<'_>,
    ydims: &[usize],
) -> R<usize> {
    let Some(wv) = n.input(1) else { return Ok(w) };
    if l.konst(wv).is_none() {
        return Ok(w);
    }
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let Some(g) = geometry(&xd, ydims, group, win) else { return Ok(w) };
    let Some(c) = mote_rt::ops::fast_transpose_geometry(&g) else { return Ok(w) };
    let data = l.konst(wv).ok_or("weights vanished")?.to_f32_vec().map_err(|e| e.to_string())?;
    let kv: usize = c.kernel.iter().product();
    if data.len() != c.in_channels * c.out_channels / c.group * kv {
        bail!("ConvTranspose weights hold {} values, not [C, M/group, kernel...]", data.len());
    }
    let mut packed = vec![0f32; mote_kernels::fast::conv_transpose_pack_weights_len(&c)];
    mote_kernels::fast::conv_transpose_pack_weights(&c, &data, &mut packed);
    Ok(packed_weight(l, w, wv, &packed))
}

/// A convolution window per spatial axis (kernel, strides, dilations, begin pads).
struct Win<'a> {
    kernel: &'a [usize],
    strides: &'a [usize],
    dilations: &'a [usize],
    pads: &'a [isize],
}

/// The runtime's geometry of a 1-D or 2-D convolution with non-negative pads, `None` otherwise.
fn geometry(xd: &[usize], ydims: &[usize], group: usize, win: &Win<'_>) -> Option<mote_rt::ops::ConvGeometry> {
    use mote_kernels::reference::nn::Spatial;
    use mote_kernels::reference::nn::conv::Channels;
    let rank = xd.len().checked_sub(2)?;
    if rank > 2 || win.pads.iter().any(|&p| p < 0) || ydims.len() != xd.len() {
        return None;
    }
    let o = 3 - rank;
    let mut sp =
        Spatial { input: [1; 3], output: [1; 3], kernel: [1; 3], strides: [1; 3], dilations: [1; 3], pads: [0; 3] };
    for i in 0..rank {
        sp.input[o + i] = xd[2 + i];
        sp.output[o + i] = ydims[2 + i];
        sp.kernel[o + i] = *win.kernel.get(i)?;
        sp.strides[o + i] = *win.strides.get(i)?;
        sp.dilations[o + i] = *win.dilations.get(i)?;
        sp.pads[o + i] = *win.pads.get(i)?;
    }
    let ch = Channels { batch: xd[0], in_channels: xd[1], out_channels: ydims[1], group };
    Some(mote_rt::ops::ConvGeometry { ch, sp, act: mote_rt::ops::Act::NONE })
}

/// Stores `packed` (packed from the constant `wv`, stored as tensor `w`) as a packed weight.
fn packed_weight(l: &mut Lowerer<'_>, w: usize, wv: mote_ir::ValueId, packed: &[f32]) -> usize {
    let dims = l.p.tensors[w].dims.clone();
    l.p.packed_weight(dims, packed, mote_kernels::fast::PACK_FORMAT_VERSION, format!("{}.packed", l.g.value(wv).name))
}

/// Packs a constant B (`[k, n]`, or `[n, k]` when transposed) for the fast GEMM; otherwise
/// returns `b` unchanged.
fn pack_b(l: &mut Lowerer<'_>, n: &Node, input: usize, b: usize, k: usize, nn: usize, trans: bool) -> R<usize> {
    let Some(bv) = n.input(input) else { return Ok(b) };
    let Some(bc) = l.konst(bv) else { return Ok(b) };
    if bc.dtype() != DType::F32 {
        return Ok(b);
    }
    let data = bc.to_f32_vec().map_err(|e| e.to_string())?;
    let (rs, cs) = if trans { (1, k) } else { (nn, 1) };
    let mut packed = vec![0f32; mote_kernels::fast::pack_b_len(k, nn)];
    mote_kernels::fast::pack_b(k, nn, &data, rs, cs, &mut packed);
    let dims = l.p.tensors[b].dims.clone();
    Ok(l.p.packed_weight(
        dims,
        &packed,
        mote_kernels::fast::PACK_FORMAT_VERSION,
        format!("{}.packed", l.g.value(bv).name),
    ))
}
