//! int8 lowering of QDQ graphs ([`plan`] finds the units): each unit becomes one `Q8*` step
//! with TFLite's integer-only arithmetic (fixed-point requantization, the fused activation as
//! a clamp), reading and writing the int8 tensors directly.
//!
//! 4-D int8 values the units produce are stored channels-last (NHWC: the `nhwc` set; their
//! logical dims stay NCHW). A unit reading an NCHW value, or any other op reading an NHWC one,
//! gets a transposed copy, made once. A Transpose between the two layouts of an int8 tensor is
//! a view of its bytes, so converted TFLite graphs (NHWC in, transposed to NCHW) need no copy.

pub use mote_ir::q8 as plan;

use std::collections::{HashMap, HashSet};

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::ops::nn::Window;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Node, Op, ValueId};
use mote_kernels::fast::int8::{Q8_PACK_VERSION, conv_pack, conv_pack_len};
use mote_kernels::reference::int8::{Conv2d, SoftmaxParams};
use mote_rt::ops::{Q8PoolKind, encode};

use super::elementwise::contiguous;
use super::{Lowerer, R, bail};
use plan::{Kind, Unit, params};

mod sparse;

/// The int8 state of a lowering.
#[derive(Debug, Default)]
pub struct State {
    pub plan: plan::Plan,
    /// int8 values stored channels-last.
    pub nhwc: HashSet<ValueId>,
    /// uint8 values stored as int8 `q - 128`.
    pub flipped: HashSet<ValueId>,
    /// Other representations made of a value: (value, channels-last, flipped) -> tensor.
    copies: HashMap<(ValueId, bool, bool), usize>,
}

/// Whether `v` is stored other than as the graph says (channels-last or flipped).
pub fn converted(l: &Lowerer<'_>, v: ValueId) -> bool {
    l.q8.nhwc.contains(&v) || l.q8.flipped.contains(&v)
}

/// `v`'s tensor channels-last or not (`nhwc`, 4-D values), as int8 `q - 128` or not (`flip`,
/// uint8 values): the stored tensor, or a converted copy made once.
pub fn view(l: &mut Lowerer<'_>, v: ValueId, nhwc: bool, flip: bool) -> R<usize> {
    let stored = (l.q8.nhwc.contains(&v), l.q8.flipped.contains(&v));
    let base = if stored != (false, false) {
        *l.vals.get(&v).ok_or_else(|| format!("value '{}' is used before it is computed", l.g.value(v).name))?
    } else {
        l.tensor_of(v)?
    };
    if stored == (nhwc, flip) {
        return Ok(base);
    }
    if let Some(&t) = l.q8.copies.get(&(v, nhwc, flip)) {
        return Ok(t);
    }
    let name = l.g.value(v).name.clone();
    let mut t = base;
    if stored.0 != nhwc {
        let d = four(&l.p.tensors[t].dims)?;
        // Stored [n, a, b, c] -> [n, c, a, b] (to NCHW) or [n, b, c, a] (to NHWC).
        let (out, src) = if nhwc {
            let [n, c, h, w] = d;
            ([n, h, w, c], [(c * h * w) as isize, w as isize, 1, (h * w) as isize])
        } else {
            let [n, h, w, c] = d;
            ([n, c, h, w], [(h * w * c) as isize, 1, (w * c) as isize, c as isize])
        };
        let y = l.p.arena(l.p.tensors[t].dtype, out.to_vec(), format!("{name}.{}", if nhwc { "nhwc" } else { "nchw" }));
        super::shape::copy(l, t, y, &out, (0, &src), (0, &contiguous(&out)), "relayout");
        t = y;
    }
    if stored.1 != flip {
        // uint8 <-> int8 `q - 128`: the top bit flips (a table over the bits).
        let dims = l.p.tensors[t].dims.clone();
        let x = l.p.alias(t, dims.clone(), format!("{name}.bits"));
        l.p.tensors[x].dtype = DType::I8;
        let table: Vec<u8> = (0..256u32).map(|i| ((i + 128) as u8) ^ 0x80).collect();
        let tab = l.p.weight(DType::I8, vec![256], table, format!("{name}.flip"));
        let y = l.p.arena(DType::I8, dims.clone(), format!("{name}.{}", if flip { "i8" } else { "u8" }));
        l.p.step(OpCode::Q8Lut, vec![Some(x), Some(tab)], vec![y], vec![], "flip");
        t = l.p.alias(y, dims, format!("{name}.flipped"));
        l.p.tensors[t].dtype = if flip { DType::I8 } else { DType::U8 };
    }
    l.q8.copies.insert((v, nhwc, flip), t);
    Ok(t)
}

fn four(d: &[usize]) -> R<[usize; 4]> {
    <[usize; 4]>::try_from(d).map_err(|_| format!("expected a 4-D tensor, got {d:?}"))
}

/// A Transpose between NCHW and NHWC of an int8 tensor as a view (returns false when `n` is
/// another Transpose).
pub fn transpose(l: &mut Lowerer<'_>, n: &Node) -> R<bool> {
    let Op::Shape(ShapeOp::Transpose { perm: Some(perm) }) = &n.op else { return Ok(false) };
    let (Some(x), Some(Some(y))) = (n.input(0), n.outputs.first()) else { return Ok(false) };
    if l.konst(x).is_some() || !matches!(l.logical_shape(x)?.0, DType::I8 | DType::U8) || l.g.outputs.contains(y) {
        return Ok(false);
    }
    let name = l.g.value(*y).name.clone();
    let flipped = l.q8.flipped.contains(&x);
    let nhwc_in = l.q8.nhwc.contains(&x);
    let to_nhwc = perm == &[0, 3, 1, 2] && !nhwc_in && l.dims(x)?.len() == 4;
    if !(to_nhwc || perm == &[0, 2, 3, 1] && nhwc_in) {
        return Ok(false);
    }
    // NHWC data read as NCHW (stored channels-last: these bytes), or the reverse.
    let t = if nhwc_in || flipped { l.vals[&x] } else { l.tensor_of(x)? };
    let a = l.p.alias(t, l.p.tensors[t].dims.clone(), name);
    l.vals.insert(*y, a);
    if to_nhwc {
        l.q8.nhwc.insert(*y);
    }
    if flipped {
        l.q8.flipped.insert(*y);
    }
    Ok(true)
}

/// Lowers one int8 unit.
pub fn lower_unit(l: &mut Lowerer<'_>, u: &Unit) -> R<()> {
    let name = l.g.nodes[u.main].name.clone();
    let lo_hi = params::lo_hi(u);
    let y_dims = l.logical_shape(u.y.src)?.1;
    match &u.kind {
        Kind::Conv(a) => conv(l, u, a, &name, lo_hi, &y_dims),
        Kind::Dense { trans_b } => dense(l, u, *trans_b, &name, lo_hi, &y_dims),
        Kind::Add | Kind::Mul => binary(l, u, &name, lo_hi, &y_dims),
        Kind::AvgPool(w) | Kind::MaxPool(w) => pool(l, u, w, &name, lo_hi, &y_dims),
        Kind::Mean => mean(l, u, &name, &y_dims),
        Kind::Lut => lut(l, u, &name, lo_hi, &y_dims),
        Kind::Concat(axis) => concat(l, u, *axis, &name, lo_hi, &y_dims),
        Kind::Softmax => {
            let x = view(l, u.inputs[0].src, false, u.inputs[0].flip)?;
            let p = SoftmaxParams::new(1.0, u.inputs[0].scale as f64)
                .ok_or_else(|| format!("int8 Softmax: input scale {} cannot be represented", u.inputs[0].scale))?;
            let xd = l.p.tensors[x].dims.clone();
            let x = l.p.alias(x, xd.clone(), format!("{name}.x"));
            let y = out(l, u, xd, false)?;
            l.p.step(OpCode::Q8Softmax, vec![Some(x)], vec![y], encode::q8softmax(&p), &name);
            Ok(())
        }
    }
}

/// The arena tensor of the unit's output (physical dims `dims`; `nhwc` marks the layout).
fn out(l: &mut Lowerer<'_>, u: &Unit, dims: Vec<usize>, nhwc: bool) -> R<usize> {
    let y = l.p.arena(DType::I8, dims, l.g.value(u.y.src).name.clone());
    l.vals.insert(u.y.src, y);
    if nhwc {
        l.q8.nhwc.insert(u.y.src);
    }
    if u.y.flip {
        l.q8.flipped.insert(u.y.src);
    }
    Ok(y)
}

fn i32s(l: &mut Lowerer<'_>, v: &[i32], name: String) -> usize {
    l.p.weight(DType::I32, vec![v.len()], v.iter().flat_map(|x| x.to_le_bytes()).collect(), name)
}

/// Emits the Q8Conv step.
#[allow(clippy::too_many_arguments)]
fn emit_conv(
    l: &mut Lowerer<'_>,
    u: &Unit,
    g: &Conv2d,
    x: usize,
    w_ohwi: Vec<i8>,
    (bias, mult, shift): (Vec<i32>, Vec<i32>, Vec<i32>),
    y: usize,
    (lo, hi): (i32, i32),
    name: &str,
) {
    let y_out = (u.y.zp, lo, hi);
    if sparse::try_emit(l, g, x, u.inputs[0].zp, &w_ohwi, (&bias, &mult, &shift), y, y_out, name) {
        return;
    }
    let mut packed = vec![0u8; conv_pack_len(g).unwrap_or(0)];
    conv_pack(g, &w_ohwi, &mut packed);
    let wt = l.p.weight(DType::I8, vec![g.m, g.kh, g.kw, g.c / g.groups], packed, format!("{name}.w"));
    l.p.tensors[wt].packed = Some(Q8_PACK_VERSION);
    let b = i32s(l, &bias, format!("{name}.bias"));
    let m = i32s(l, &mult, format!("{name}.mult"));
    let s = i32s(l, &shift, format!("{name}.shift"));
    let attrs = encode::q8conv(g, u.inputs[0].zp, u.y.zp, lo, hi);
    l.p.step(OpCode::Q8Conv, vec![Some(x), Some(wt), Some(b), Some(m), Some(s)], vec![y], attrs, name);
}

fn conv(
    l: &mut Lowerer<'_>,
    u: &Unit,
    a: &mote_ir::ops::nn::ConvAttrs,
    name: &str,
    lo_hi: (i32, i32),
    y_dims: &[usize],
) -> R<()> {
    let w = u.weight.as_ref().ok_or("int8 Conv without weights")?;
    let (g, ohwi) = params::conv(u, a, &l.logical_shape(u.inputs[0].src)?.1, y_dims)?;
    let x = view(l, u.inputs[0].src, true, u.inputs[0].flip)?;
    let rq = params::requant(u, w, g.m, false)?;
    let y = out(l, u, vec![g.n, g.oh, g.ow, g.m], true)?;
    emit_conv(l, u, &g, x, ohwi, rq, y, lo_hi, name);
    Ok(())
}

fn dense(l: &mut Lowerer<'_>, u: &Unit, trans_b: bool, name: &str, lo_hi: (i32, i32), y_dims: &[usize]) -> R<()> {
    let w = u.weight.as_ref().ok_or("int8 Gemm without weights")?;
    let xt = view(l, u.inputs[0].src, false, u.inputs[0].flip)?;
    let (g, w_mk) = params::dense(u, trans_b, l.p.tensors[xt].numel(), y_dims)?;
    let (rows, k, m) = (g.ow, g.c, g.m);
    let x = l.p.alias(xt, vec![1, 1, rows, k], format!("{name}.x"));
    let rq = params::requant(u, w, m, w.scales.len() == 1)?;
    let y = out(l, u, vec![rows, m], false)?;
    let y4 = l.p.alias(y, vec![1, 1, rows, m], format!("{name}.y"));
    emit_conv(l, u, &g, x, w_mk, rq, y4, lo_hi, name);
    Ok(())
}

fn binary(l: &mut Lowerer<'_>, u: &Unit, name: &str, (lo, hi): (i32, i32), y_dims: &[usize]) -> R<()> {
    let (a, b) = (u.inputs[0], u.inputs[1]);
    let numel: usize = y_dims.iter().product();
    let four_d = y_dims.len() == 4
        && [a, b].iter().all(|q| l.dims(q.src).is_ok_and(|d| d == y_dims))
        && [a, b].iter().any(|q| l.q8.nhwc.contains(&q.src));
    let (at, bt, y) = if four_d {
        let (at, bt) = (view(l, a.src, true, a.flip)?, view(l, b.src, true, b.flip)?);
        let [n, c, h, w] = four(y_dims)?;
        (at, bt, out(l, u, vec![n, h, w, c], true)?)
    } else {
        let (at, bt) = (view(l, a.src, false, a.flip)?, view(l, b.src, false, b.flip)?);
        for t in [at, bt] {
            let k = l.p.tensors[t].numel();
            if k != numel && k != 1 {
                bail!("int8 {}: broadcasting other than by one value is not supported", l.g.nodes[u.main].op.name());
            }
        }
        (at, bt, out(l, u, y_dims.to_vec(), false)?)
    };
    let attrs = match u.kind {
        Kind::Add => encode::q8add(&params::add(u, (lo, hi))?),
        _ => encode::q8mul(&params::mul(u, (lo, hi))?),
    };
    l.p.step(OpCode::Q8Binary, vec![Some(at), Some(bt)], vec![y], attrs, name);
    Ok(())
}

fn pool(l: &mut Lowerer<'_>, u: &Unit, win: &Window, name: &str, (lo, hi): (i32, i32), y_dims: &[usize]) -> R<()> {
    let g = params::pool(win, &l.logical_shape(u.inputs[0].src)?.1, y_dims)?;
    let x = view(l, u.inputs[0].src, true, u.inputs[0].flip)?;
    let kind = if matches!(u.kind, Kind::MaxPool(_)) { Q8PoolKind::Max } else { Q8PoolKind::Average };
    let y = out(l, u, vec![g.n, g.oh, g.ow, g.c], true)?;
    l.p.step(OpCode::Q8Pool, vec![Some(x)], vec![y], encode::q8pool(kind, &g, lo, hi), name);
    Ok(())
}

fn mean(l: &mut Lowerer<'_>, u: &Unit, name: &str, y_dims: &[usize]) -> R<()> {
    let x = view(l, u.inputs[0].src, true, u.inputs[0].flip)?;
    let [n, h, w, c] = four(&l.p.tensors[x].dims)?;
    let mult = params::mean(u)?;
    // [N, 1, 1, C] has the bytes of [N, C, 1, 1] and [N, C]: the output is plain.
    let y = out(l, u, y_dims.to_vec(), false)?;
    let y4 = l.p.alias(y, vec![n, 1, 1, c], format!("{name}.y"));
    let g = Conv2d {
        n,
        h,
        w,
        c,
        m: c,
        groups: c,
        kh: h,
        kw: w,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        oh: 1,
        ow: 1,
        ..Default::default()
    };
    let kind = Q8PoolKind::Mean(u.inputs[0].zp, mult, u.y.zp);
    l.p.step(OpCode::Q8Pool, vec![Some(x)], vec![y4], encode::q8pool(kind, &g, -128, 127), name);
    Ok(())
}

/// A one-input function as a table: `table[q + 128]` is the function of the dequantized `q`,
/// evaluated by the reference interpreter and quantized as QuantizeLinear does (so the step is
/// exactly the float-simulated graph), then clamped by the fused activation.
fn lut(l: &mut Lowerer<'_>, u: &Unit, name: &str, lo_hi: (i32, i32), y_dims: &[usize]) -> R<()> {
    let x = u.inputs[0];
    let op = l.g.nodes[u.main].op.clone();
    let table = params::lut_table(u, lo_hi, |xs| {
        let mut g = mote_ir::Graph::new("lut");
        let tt = mote_ir::TensorType::concrete(DType::F32, &[256]);
        let (i, o) = (g.add_value("x", mote_ir::ValueType::Tensor(tt)), g.add_value("y", mote_ir::ValueType::Unknown));
        g.inputs.push(i);
        g.outputs.push(o);
        g.add_node("f", op, vec![Some(i)], vec![Some(o)]);
        let t = mote_ir::Tensor::from_vec(vec![256], xs).map_err(|e| e.to_string())?;
        let f = mote_interp::run(&g, vec![mote_ir::Value::Tensor(t)]).map_err(|e| format!("int8 table: {e}"))?;
        f[0].as_tensor().ok_or("int8 table: not a tensor")?.to_f64_vec().map_err(|e| e.to_string())
    })?;
    let table: Vec<u8> = table.iter().map(|&v| v as u8).collect();
    let tab = l.p.weight(DType::I8, vec![256], table, format!("{name}.table"));
    let nhwc_in = l.q8.nhwc.contains(&x.src);
    let xt = view(l, x.src, nhwc_in, x.flip)?;
    let dims = if nhwc_in { l.p.tensors[xt].dims.clone() } else { y_dims.to_vec() };
    let y = out(l, u, dims, nhwc_in)?;
    l.p.step(OpCode::Q8Lut, vec![Some(xt), Some(tab)], vec![y], vec![], name);
    Ok(())
}

/// Concat of int8 tensors: each input copied into its slice of the output, after a table that
/// requantizes it (`QuantizeLinear(DequantizeLinear(q))`, exactly the float-simulated graph)
/// when its scale or zero point differ from the output's. Channels-last when an input is.
fn concat(l: &mut Lowerer<'_>, u: &Unit, axis: i64, name: &str, (lo, hi): (i32, i32), y_dims: &[usize]) -> R<()> {
    let r = y_dims.len();
    let a = mote_ir::infer::normalize_axis(axis, r).map_err(|e| e.0)?;
    let nhwc = r == 4 && u.inputs.iter().any(|q| l.q8.nhwc.contains(&q.src));
    let (dims, pa) = if nhwc {
        let [n, c, h, w] = four(y_dims)?;
        (vec![n, h, w, c], [0, 3, 1, 2][a])
    } else {
        (y_dims.to_vec(), a)
    };
    let y = out(l, u, dims.clone(), nhwc)?;
    let ys = contiguous(&dims);
    let mut at = 0usize;
    for (k, q) in u.inputs.iter().enumerate() {
        let mut x = view(l, q.src, nhwc, q.flip)?;
        let xd = l.p.tensors[x].dims.clone();
        if xd.len() != dims.len() || (0..xd.len()).any(|i| i != pa && xd[i] != dims[i]) {
            bail!("int8 Concat: input {k} has dims {xd:?}, the output {dims:?}");
        }
        if let Some(table) = params::concat_table(q, &u.y, (lo, hi)) {
            let table: Vec<u8> = table.iter().map(|&v| v as u8).collect();
            let tab = l.p.weight(DType::I8, vec![256], table, format!("{name}.requant{k}"));
            let t = l.p.arena(DType::I8, xd.clone(), format!("{name}.in{k}"));
            l.p.step(OpCode::Q8Lut, vec![Some(x), Some(tab)], vec![t], vec![], name);
            x = t;
        }
        super::shape::copy(l, x, y, &xd, (0, &contiguous(&xd)), (at * ys[pa] as usize, &ys), name);
        at += xd[pa];
    }
    Ok(())
}

/// Plans the int8 units of the lowerer's graph: records them, skips the nodes they replace,
/// keeps every int8 source alive until its unit, and drops fused activations they absorbed.
pub fn setup(l: &mut Lowerer<'_>) {
    let plan = plan::plan(l.g, &l.known);
    if plan.units.is_empty() {
        return;
    }
    for u in plan.units.values() {
        for x in &u.inputs {
            let e = l.last_use.entry(x.src).or_insert(u.main);
            *e = (*e).max(u.main);
        }
    }
    l.fused.retain(|p, (_, c)| !plan.units.contains_key(p) && !plan.skip.contains(c));
    // Activations fused: the float ones and the int8 units' clamps.
    l.n_fused = l.fused.len() + plan.units.values().filter(|u| u.absorbed.len() == 2).count();
    l.absorbed.extend(plan.skip.iter().copied());
    l.q8.plan = plan;
}

/// Whether the graph has int8 units.
pub fn active(l: &Lowerer<'_>) -> bool {
    !l.q8.plan.units.is_empty()
}
