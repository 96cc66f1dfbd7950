//! The int8 units of a QDQ graph in the training forward: each unit the compiler forms
//! (`mote_ir::q8`) produces, at its QuantizeLinear, the int8 values the runtime's `Q8*` step
//! produces, computed by the integer reference kernels with the lowering's own parameters
//! (`mote_ir::q8::params`; convolutions by the fast int8 kernel, which equals the reference bit
//! for bit). The unit's float nodes still run, so the backward pass differentiates
//! them (straight through the rounding, zero where the QuantizeLinear clamped).
//!
//! The weights are those of the current float masters: the fake-quantizing QuantizeLinear nodes
//! of constants are evaluated first and the units found with their results, as the compiler
//! finds them after folding.

use std::collections::HashMap;

use mote_interp::ops::{self, EvalCx, Inputs};
use mote_ir::ops::quant::QuantOp;
use mote_ir::q8::{self, Kind, QIn, Unit, params};
use mote_ir::{Graph, Op, Tensor, Value};
use mote_kernels::fast::cpu::Cpu;
use mote_kernels::fast::int8::{conv_pack, conv_pack_len, conv_scratch_len, conv2d as fast_conv2d};
use mote_kernels::reference::int8 as k8;

/// The units of one forward pass, by the index of the QuantizeLinear node that ends them.
#[derive(Debug)]
pub struct Units {
    plan: q8::Plan,
    by_quantize: HashMap<usize, usize>,
}

/// How the training forward computes a graph's int8 units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// int8 units, each computed in integers (bit for bit the runtime's steps).
    pub integer: usize,
    /// Nodes that read int8 values but run in float, in the compiled model too (no int8 kernel,
    /// or not the unit pattern): name and reason. The runtime's f32 kernels and the interpreter
    /// agree only within f32 rounding, so a later QuantizeLinear may differ by one quantum.
    pub float: Vec<(String, &'static str)>,
}

impl Units {
    /// Evaluates the QuantizeLinear nodes whose inputs are all constants into `values` (marking
    /// them in `done`) and finds the units with those results; `None` when there are none.
    pub fn find(g: &Graph, values: &mut [Option<Value>], done: &mut [bool]) -> Result<Option<Units>, String> {
        if !g.nodes.iter().any(|n| matches!(n.op, Op::Quant(QuantOp::Quantize { .. }))) {
            return Ok(None);
        }
        let cx = EvalCx::standalone(g);
        let mut known = mote_ir::infer::KnownValues::new();
        for (k, n) in g.nodes.iter().enumerate() {
            let constant = n.inputs.iter().flatten().all(|v| g.value(*v).init.is_some());
            if !matches!(n.op, Op::Quant(QuantOp::Quantize { .. })) || !constant || n.outputs.len() != 1 {
                continue;
            }
            let ins: Vec<Option<&Value>> =
                n.inputs.iter().map(|i| i.and_then(|id| values[id.index()].as_ref())).collect();
            let out = ops::eval(&n.op, &Inputs::new(ins), &cx, 1).map_err(|e| format!("`{}`: {}", n.name, e.0))?;
            if let (Some(Some(y)), Some(Value::Tensor(t))) = (n.outputs.first(), out.into_iter().next()) {
                known.insert(*y, t.clone());
                values[y.index()] = Some(Value::Tensor(t));
                done[k] = true;
            }
        }
        let plan = q8::plan(g, &known);
        if plan.units.is_empty() {
            return Ok(None);
        }
        let by_quantize = plan.units.iter().filter_map(|(&main, u)| Some((*u.absorbed.last()?, main))).collect();
        Ok(Some(Units { plan, by_quantize }))
    }

    /// What [`Units::run`] does for each unit.
    pub fn summary(&self, g: &Graph) -> Summary {
        let float = self.plan.float.iter().map(|&(k, why)| (g.nodes[k].name.clone(), why)).collect();
        Summary { integer: self.plan.units.len(), float }
    }

    /// The output of node `k` when it ends a unit computed in integers; `None` otherwise.
    pub fn run(&self, g: &Graph, k: usize, values: &[Option<Value>]) -> Option<Result<Tensor, String>> {
        let u = &self.plan.units[self.by_quantize.get(&k)?];
        Some(unit(g, u, values))
    }
}

/// The int8 tensor of `q` as the kernels see it (a uint8 value as `q - 128`) and its dims.
fn int8_of(g: &Graph, q: &QIn, values: &[Option<Value>]) -> Result<(Vec<i8>, Vec<usize>), String> {
    let Some(Value::Tensor(t)) = &values[q.src.index()] else {
        return Err(format!("`{}` is not computed", g.value(q.src).name));
    };
    let v = t.to_i64_vec().map_err(|e| e.to_string())?;
    let off = if q.flip { 128 } else { 0 };
    Ok((v.into_iter().map(|x| (x - off) as i8).collect(), t.shape().to_vec()))
}

/// NCHW `[n, c, h, w]` data as NHWC.
fn to_nhwc(x: &[i8], [n, c, h, w]: [usize; 4]) -> Vec<i8> {
    let mut y = vec![0i8; x.len()];
    for i in 0..n {
        for ch in 0..c {
            for p in 0..h * w {
                y[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
            }
        }
    }
    y
}

/// NHWC `[n, h, w, c]` data as NCHW.
fn to_nchw(x: &[i8], [n, h, w, c]: [usize; 4]) -> Vec<i8> {
    let mut y = vec![0i8; x.len()];
    for i in 0..n {
        for p in 0..h * w {
            for ch in 0..c {
                y[(i * c + ch) * h * w + p] = x[(i * h * w + p) * c + ch];
            }
        }
    }
    y
}

/// The int8 convolution of the runtime's step: the fast kernel on weights packed as the compiler
/// packs them (equal to `reference::int8::conv2d` bit for bit, tested in `mote-kernels`).
fn conv2d(g: &k8::Conv2d, x: &[i8], x_zp: i32, w: &[i8], rq: &k8::Requant<'_>, y: &mut [i8]) -> Result<(), String> {
    let bad = || format!("int8 convolution: inconsistent geometry {g:?}");
    let (xn, wn, yn) = g.lens();
    if x.len() != xn || w.len() != wn || y.len() != yn || [rq.bias, rq.mult, rq.shift].iter().any(|v| v.len() != g.m) {
        return Err(bad());
    }
    let mut packed = vec![0u8; conv_pack_len(g).ok_or_else(bad)?];
    conv_pack(g, w, &mut packed);
    let mut scratch = vec![0i32; conv_scratch_len(g).ok_or_else(bad)?];
    fast_conv2d(Cpu::detect(), g, x, x_zp, &packed, rq, y, &mut scratch);
    Ok(())
}

fn four(d: &[usize]) -> Result<[usize; 4], String> {
    <[usize; 4]>::try_from(d).map_err(|_| format!("expected a 4-D tensor, got {d:?}"))
}

/// One unit's output, as the graph's QuantizeLinear output type.
fn unit(g: &Graph, u: &Unit, values: &[Option<Value>]) -> Result<Tensor, String> {
    let main = &g.nodes[u.main];
    let y_dims = match main.outputs.first().copied().flatten().and_then(|v| values[v.index()].as_ref()) {
        Some(Value::Tensor(t)) => t.shape().to_vec(),
        _ => return Err(format!("`{}`'s output is not computed", main.name)),
    };
    let numel: usize = y_dims.iter().product();
    let lo_hi = params::lo_hi(u);
    let (x, xd) = int8_of(g, &u.inputs[0], values)?;
    let mut y = vec![0i8; numel];
    match &u.kind {
        Kind::Conv(a) => {
            let w = u.weight.as_ref().ok_or("int8 Conv without weights")?;
            let (geo, ohwi) = params::conv(u, a, &xd, &y_dims)?;
            let (bias, mult, shift) = params::requant(u, w, geo.m, false)?;
            let rq = k8::Requant { bias: &bias, mult: &mult, shift: &shift, zp: u.y.zp, lo: lo_hi.0, hi: lo_hi.1 };
            let mut yh = vec![0i8; numel];
            conv2d(&geo, &to_nhwc(&x, four(&xd)?), u.inputs[0].zp, &ohwi, &rq, &mut yh)?;
            y = to_nchw(&yh, [geo.n, geo.oh, geo.ow, geo.m]);
        }
        Kind::Dense { trans_b } => {
            let w = u.weight.as_ref().ok_or("int8 Gemm without weights")?;
            let (geo, w_mk) = params::dense(u, *trans_b, x.len(), &y_dims)?;
            let (bias, mult, shift) = params::requant(u, w, geo.m, w.scales.len() == 1)?;
            let rq = k8::Requant { bias: &bias, mult: &mult, shift: &shift, zp: u.y.zp, lo: lo_hi.0, hi: lo_hi.1 };
            conv2d(&geo, &x, u.inputs[0].zp, &w_mk, &rq, &mut y)?;
        }
        Kind::Add | Kind::Mul => {
            let (b, _) = int8_of(g, &u.inputs[1], values)?;
            if [x.len(), b.len()].iter().any(|&l| l != numel && l != 1) {
                return Err(format!("int8 {}: broadcasting other than by one value is not supported", main.op.name()));
            }
            match u.kind {
                Kind::Add => k8::add(&params::add(u, lo_hi)?, &x, &b, &mut y),
                _ => k8::mul(&params::mul(u, lo_hi)?, &x, &b, &mut y),
            }
        }
        Kind::AvgPool(win) | Kind::MaxPool(win) => {
            let geo = params::pool(win, &xd, &y_dims)?;
            let mut yh = vec![0i8; numel];
            let xh = to_nhwc(&x, four(&xd)?);
            if matches!(u.kind, Kind::MaxPool(_)) {
                k8::max_pool(&geo, &xh, lo_hi.0, lo_hi.1, &mut yh);
            } else {
                k8::avg_pool(&geo, &xh, lo_hi.0, lo_hi.1, &mut yh);
            }
            y = to_nchw(&yh, [geo.n, geo.oh, geo.ow, geo.c]);
        }
        Kind::Mean => {
            let [n, c, h, w] = four(&xd)?;
            if numel != n * c {
                return Err(format!("int8 Mean: output {y_dims:?} for input {xd:?}"));
            }
            let xh = to_nhwc(&x, [n, c, h, w]);
            k8::mean_hw(n, h * w, c, &xh, u.inputs[0].zp, params::mean(u)?, u.y.zp, &mut y);
        }
        Kind::Softmax => {
            let p = k8::SoftmaxParams::new(1.0, u.inputs[0].scale as f64)
                .ok_or_else(|| format!("int8 Softmax: input scale {} cannot be represented", u.inputs[0].scale))?;
            k8::softmax(&p, xd.last().copied().unwrap_or(1), &x, &mut y);
        }
        Kind::Lut => {
            let t = params::lut_table(u, lo_hi, |xs| {
                let t = Tensor::from_vec(vec![256], xs).map_err(|e| e.to_string())?;
                let v = Value::Tensor(t);
                let f = ops::eval(&main.op, &Inputs::new(vec![Some(&v)]), &EvalCx::standalone(g), 1)
                    .map_err(|e| format!("int8 table: {}", e.0))?;
                match f.first() {
                    Some(Value::Tensor(t)) => t.to_f64_vec().map_err(|e| e.to_string()),
                    _ => Err("int8 table: not a tensor".into()),
                }
            })?;
            if x.len() != numel {
                return Err(format!("int8 table: {} inputs for {numel} outputs", x.len()));
            }
            k8::lut(&t, &x, &mut y);
        }
        Kind::Concat(axis) => {
            let a = mote_ir::infer::normalize_axis(*axis, y_dims.len()).map_err(|e| e.0)?;
            let outer: usize = y_dims[..a].iter().product();
            let inner: usize = y_dims[a + 1..].iter().product();
            let mut at = 0;
            for q in &u.inputs {
                let (mut v, d) = int8_of(g, q, values)?;
                if d.len() != y_dims.len() || (0..d.len()).any(|i| i != a && d[i] != y_dims[i]) || at + d[a] > y_dims[a]
                {
                    return Err(format!("int8 Concat: input dims {d:?}, output {y_dims:?}"));
                }
                if let Some(t) = params::concat_table(q, &u.y, lo_hi) {
                    v = v.iter().map(|&e| t[(e as i32 + 128) as usize]).collect();
                }
                let run = d[a] * inner;
                for o in 0..outer {
                    let dst = (o * y_dims[a] + at) * inner;
                    y[dst..dst + run].copy_from_slice(&v[o * run..(o + 1) * run]);
                }
                at += d[a];
            }
        }
    }
    let to = |v: Vec<i8>| -> Result<Tensor, String> {
        if u.y.flip {
            Tensor::from_vec(y_dims.clone(), v.into_iter().map(|q| (q as i32 + 128) as u8).collect::<Vec<u8>>())
        } else {
            Tensor::from_vec(y_dims.clone(), v)
        }
        .map_err(|e| e.to_string())
    };
    to(y)
}
