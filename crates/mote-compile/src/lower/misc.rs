//! Reductions, LSTM and Resize.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::image::{CoordMode, ImageOp, NearestMode, ResizeMode};
use mote_ir::ops::reduce::{ReduceOp, reduced_axes};
use mote_ir::ops::rnn::RnnOp;
use mote_kernels::reference::image as k;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

pub fn reduce(l: &mut Lowerer<'_>, n: &Node, op: &ReduceOp) -> R<()> {
    if let ReduceOp::Arg { max, axis, select_last_index, .. } = op {
        let x = l.input(n, 0)?;
        if l.p.tensors[x].dtype != DType::F32 {
            bail!("{} on {} is not supported by the compiled path (f32 only)", n.op.name(), l.p.tensors[x].dtype);
        }
        let xd = l.p.tensors[x].dims.clone();
        let a = mote_ir::infer::normalize_axis(*axis, xd.len()).map_err(|e| e.0)?;
        if xd[a] == 0 {
            bail!("{} over an empty axis", n.op.name());
        }
        let y = l.output(n, 0)?;
        let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
        l.p.step(
            OpCode::ArgReduce,
            vec![Some(x)],
            vec![y],
            encode::arg_reduce(*max, *select_last_index, outer, xd[a], inner),
            &n.name,
        );
        return Ok(());
    }
    if let ReduceOp::Cumulative { prod, exclusive, reverse } = op {
        let x = l.input(n, 0)?;
        let a = l.konst(l.in_value(n, 1)?).ok_or("the axis must be constant to compile")?;
        let a = a.scalar_i64().map_err(|e| e.to_string())?;
        let (dt, xd) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
        if !(matches!(dt, DType::F32 | DType::F64) || dt.is_int()) {
            bail!("{} on {dt} is not supported by the compiled path (f32, f64, integers)", n.op.name());
        }
        let a = mote_ir::infer::normalize_axis(a, xd.len()).map_err(|e| e.0)?;
        let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
        let y = l.output(n, 0)?;
        let attrs = encode::cumulate(*prod, *exclusive, *reverse, outer, xd[a], inner);
        l.p.step(OpCode::Cumulate, vec![Some(x)], vec![y], attrs, &n.name);
        return Ok(());
    }
    if let ReduceOp::TopK { axis, largest, .. } = op {
        // Sorted or not, the interpreter returns the sorted order; so does the runtime.
        let x = l.input(n, 0)?;
        let k = l.konst(l.in_value(n, 1)?).ok_or("TopK's k must be constant to compile")?;
        let k = k.scalar_i64().map_err(|e| e.to_string())?;
        let (dt, xd) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
        if !(matches!(dt, DType::F32 | DType::F64) || dt.is_int()) {
            bail!("TopK on {dt} is not supported by the compiled path (f32, f64, integers)");
        }
        let a = mote_ir::infer::normalize_axis(*axis, xd.len()).map_err(|e| e.0)?;
        if k < 0 || k as usize > xd[a] {
            bail!("TopK: k = {k} must be in [0, {}]", xd[a]);
        }
        let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
        let (v, i) = (l.output(n, 0)?, l.output(n, 1)?);
        let attrs = encode::topk(*largest, outer, xd[a], inner, k as usize);
        l.p.step(OpCode::TopK, vec![Some(x)], vec![v, i], attrs, &n.name);
        return Ok(());
    }
    let ReduceOp::Reduce { kind, noop_with_empty_axes, .. } = op else {
        bail!("{} is not supported by the compiled path yet", n.op.name());
    };
    let x = l.input(n, 0)?;
    if !matches!(l.p.tensors[x].dtype, DType::F32 | DType::F64) {
        bail!("{} on {} is not supported by the compiled path (f32 and f64)", kind.name(), l.p.tensors[x].dtype);
    }
    let axes = match n.input(1) {
        Some(v) => {
            l.konst(v).ok_or("reduction axes must be constant to compile")?.to_i64_vec().map_err(|e| e.to_string())?
        }
        None => vec![],
    };
    let xd = l.p.tensors[x].dims.clone();
    let y = l.output(n, 0)?;
    let flags = reduced_axes(&axes, xd.len(), *noop_with_empty_axes)?.unwrap_or_else(|| vec![false; xd.len()]);
    if xd.len() > mote_format::MAX_RANK {
        bail!("rank {} is above the maximum {}", xd.len(), mote_format::MAX_RANK);
    }
    l.p.step(OpCode::Reduce, vec![Some(x)], vec![y], encode::reduce(*kind, &xd, &flags), &n.name);
    Ok(())
}

pub fn rnn(l: &mut Lowerer<'_>, n: &Node, op: &RnnOp) -> R<()> {
    let RnnOp::Lstm { attrs, input_forget } = op else {
        return super::recurrent::lower(l, n, op);
    };
    let dirs = attrs.direction.num_directions();
    let acts: Vec<_> = attrs.activations.iter().map(|a| a.kernel_act()).collect();
    if acts.len() != 3 * dirs || (dirs == 2 && acts[..3] != acts[3..]) {
        bail!("LSTM with different activations per direction is not supported by the compiled path");
    }
    let x0 = l.input(n, 0)?;
    if l.p.tensors[x0].dtype != DType::F32 || l.p.tensors[x0].dims.len() != 3 {
        bail!("LSTM on {} is not supported (3-D f32 only)", l.p.tensors[x0].dtype);
    }
    let bf = attrs.batch_first;
    let x = if bf { super::recurrent::swap01(l, x0, &format!("{}.x_tm", n.name)) } else { x0 };
    let xd = l.p.tensors[x].dims.clone();
    let (seq, batch) = (xd[0], xd[1]);
    if batch > mote_rt::ops::MAX_LSTM_BATCH {
        bail!("LSTM batch {batch} is above the runtime's {}", mote_rt::ops::MAX_LSTM_BATCH);
    }
    let mut ins = vec![Some(x)];
    for i in 1..8 {
        ins.push(if n.input(i).is_none() {
            None
        } else {
            let t = l.input(n, i)?;
            Some(if bf && (i == 5 || i == 6) {
                super::recurrent::swap01(l, t, &format!("{}.s{i}_tm", n.name))
            } else {
                t
            })
        });
    }
    let h = attrs.hidden_size;
    let mut outs = Vec::new();
    for (i, dims) in [vec![seq, dirs, batch, h], vec![dirs, batch, h], vec![dirs, batch, h]].into_iter().enumerate() {
        outs.push(super::recurrent::cell_output(l, n, i, dims, bf)?);
    }
    let reverse = attrs.direction == mote_ir::ops::rnn::Direction::Reverse;
    let attrs_w = encode::lstm(dirs, reverse, [acts[0], acts[1], acts[2]], attrs.clip, *input_forget);
    l.p.step(OpCode::Lstm, ins, outs.iter().map(|o| o.0).collect(), attrs_w, &n.name);
    super::recurrent::copy_out(l, n, &outs, [seq, dirs, batch, h])
}

pub fn image(l: &mut Lowerer<'_>, n: &Node, op: &ImageOp) -> R<()> {
    let ImageOp::Resize(a) = op else { return super::geo::lower(l, n, op) };
    let x = l.input(n, 0)?;
    if l.p.tensors[x].dtype != DType::F32 {
        bail!("Resize on {} is not supported by the compiled path (f32 only)", l.p.tensors[x].dtype);
    }
    let f64s = |l: &Lowerer<'_>, i: usize, what: &str| -> R<Option<Vec<f64>>> {
        match n.input(i) {
            None => Ok(None),
            Some(v) => {
                let t = l.konst(v).ok_or_else(|| format!("Resize {what} must be constant to compile"))?;
                Ok(if t.is_empty() { None } else { Some(t.to_f64_vec().map_err(|e| e.to_string())?) })
            }
        }
    };
    let (roi, scales) = (f64s(l, 1, "roi")?, f64s(l, 2, "scales")?);
    let sizes = match n.input(3) {
        None => None,
        Some(v) => {
            let t = l.konst(v).ok_or("Resize sizes must be constant to compile")?;
            if t.is_empty() { None } else { Some(t.to_i64_vec().map_err(|e| e.to_string())?) }
        }
    };
    let xd = l.p.tensors[x].dims.clone();
    let plan = a.plan(&xd, roi.as_deref(), scales.as_deref(), sizes.as_deref())?;
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * p.abs().max(q.abs());
    let active: Vec<usize> = a
        .axes(xd.len())?
        .into_iter()
        .filter(|&ax| {
            let (s, e) = plan.roi[ax];
            !(close(plan.scales[ax], 1.0) && plan.out_shape[ax] == xd[ax] && s.abs() <= 1e-9 && close(e, 1.0))
        })
        .collect();
    let y = l.output(n, 0)?;
    if active.is_empty() {
        let xs = super::elementwise::contiguous(&xd);
        super::shape::copy(l, x, y, &xd, (0, &xs), (0, &xs), &n.name);
        return Ok(());
    }
    let mut active = active;
    if a.mode == ResizeMode::Nearest {
        // Innermost axis first: its element gather then touches the smaller tensor, and the
        // outer axes copy whole rows (nearest sampling is exact in any order).
        active.reverse();
    }
    let mut cur = x;
    let mut shape = xd.clone();
    for (pass, &ax) in active.iter().enumerate() {
        let axis = k::Axis { in_len: shape[ax], out_len: plan.out_shape[ax], scale: plan.scales[ax] };
        if axis.in_len == 0 && axis.out_len > 0 {
            bail!("Resize cannot sample an empty axis");
        }
        let c = match a.coord {
            CoordMode::HalfPixel => k::Coord::HalfPixel,
            CoordMode::HalfPixelSymmetric => k::Coord::HalfPixelSymmetric,
            CoordMode::PytorchHalfPixel => k::Coord::PytorchHalfPixel,
            CoordMode::AlignCorners => k::Coord::AlignCorners,
            CoordMode::Asymmetric => k::Coord::Asymmetric,
            CoordMode::TfHalfPixelForNn => k::Coord::TfHalfPixelForNn,
            CoordMode::TfCropAndResize => k::Coord::TfCropAndResize { start: plan.roi[ax].0, end: plan.roi[ax].1 },
        };
        let (width, idx, w) = match a.mode {
            ResizeMode::Nearest => {
                let mode = match a.nearest {
                    NearestMode::RoundPreferFloor => k::Nearest::RoundPreferFloor,
                    NearestMode::RoundPreferCeil => k::Nearest::RoundPreferCeil,
                    NearestMode::Floor => k::Nearest::Floor,
                    NearestMode::Ceil => k::Nearest::Ceil,
                    NearestMode::Legacy => k::Nearest::Legacy,
                };
                let mut idx = Vec::with_capacity(axis.out_len);
                for j in 0..axis.out_len {
                    let (src, outside) = k::source_coord(c, axis, j);
                    idx.push(if outside { -1 } else { k::nearest_index(mode, src, axis) as i32 });
                }
                (1, idx, vec![1.0f32; axis.out_len])
            }
            ResizeMode::Linear | ResizeMode::Cubic => {
                let filter = if a.mode == ResizeMode::Cubic {
                    k::Filter::Cubic { a: a.cubic_coeff_a as f64 }
                } else {
                    k::Filter::Linear
                };
                let taps = k::Taps { filter, antialias: a.antialias, exclude_outside: a.exclude_outside };
                let width = taps.width(axis);
                let total =
                    axis.out_len.checked_mul(width).filter(|&t| t < 1 << 28).ok_or("Resize filter is too wide")?;
                let (mut idx, mut w64) = (vec![0usize; total], vec![0f64; total]);
                let mut outside = vec![false; axis.out_len];
                for j in 0..axis.out_len {
                    let (src, out) = k::source_coord(c, axis, j);
                    outside[j] = out;
                    taps.fill(src, axis, &mut idx[j * width..(j + 1) * width], &mut w64[j * width..(j + 1) * width]);
                }
                let mut idx: Vec<i32> = idx.iter().map(|&i| i as i32).collect();
                for j in 0..axis.out_len {
                    if outside[j] {
                        idx[j * width..(j + 1) * width].fill(-1);
                    }
                }
                (width, idx, w64.iter().map(|&v| v as f32).collect())
            }
        };
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let in_len = shape[ax];
        shape[ax] = axis.out_len;
        let last = pass + 1 == active.len();
        let out = if last { y } else { l.p.arena(DType::F32, shape.clone(), format!("{}.pass{pass}", n.name)) };
        let it = l.p.weight(
            DType::I32,
            vec![idx.len()],
            idx.iter().flat_map(|v| v.to_le_bytes()).collect(),
            format!("{}.idx{pass}", n.name),
        );
        let wt = l.weight_f32(vec![w.len()], &w, &format!("{}.w{pass}", n.name));
        let attrs = encode::resize(outer, in_len, axis.out_len, inner, width, a.extrapolation_value);
        l.p.step(OpCode::Resize, vec![Some(cur), Some(it), Some(wt)], vec![out], attrs, &n.name);
        cur = out;
    }
    Ok(())
}
