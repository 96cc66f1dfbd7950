//! Quantization-aware training on a QDQ graph (the form `mote quantize` writes): every
//! `DequantizeLinear` of a constant integer weight or bias becomes `DequantizeLinear(
//! QuantizeLinear(W))` of a float master copy `W`, which training updates. The forward pass is
//! the QDQ graph's own arithmetic with the same scales and zero points; gradients pass the
//! QuantizeLinear/DequantizeLinear pairs straight through (zero where the value was clamped).
//! Scales stay those of calibration.
//!
//! The training forward ([`crate::forward`]) computes every int8 unit of such a graph with the
//! integer reference kernels ([`int8`]), so its outputs are bit for bit the compiled int8 model's.

pub mod int8;

use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, Graph, Op, Tensor, ValueType};

/// The QDQ graph `q` with float master weights (see the module doc); how many it made.
pub fn prepare(q: &Graph) -> Result<(Graph, usize), String> {
    let mut g = q.clone();
    let mut made = 0;
    let mut k = 0;
    while k < g.nodes.len() {
        k += 1;
        let k = k - 1;
        let Op::Quant(QuantOp::Dequantize { axis, block_size: 0, .. }) = g.nodes[k].op else { continue };
        let Some(Some(c)) = g.nodes[k].inputs.first().copied() else { continue };
        let Some(t) = g.value(c).init.clone() else { continue };
        if !matches!(t.dtype(), DType::I8 | DType::U8 | DType::I32) {
            continue;
        }
        let scale = g.nodes[k].inputs.get(1).copied().flatten();
        let zp = g.nodes[k].inputs.get(2).copied().flatten();
        let (Some(s), zpv) = (scale.and_then(|s| g.value(s).init.clone()), zp.and_then(|z| g.value(z).init.clone()))
        else {
            continue;
        };
        let real = dequantize(&t, &s, zpv.as_ref(), axis).map_err(|e| format!("`{}`: {e}", g.value(c).name))?;
        let name = g.value(c).name.clone();
        let w = g.add_const(format!("{name}/float"), real);
        let qv =
            g.add_value(format!("{name}/fake"), ValueType::Tensor(mote_ir::TensorType::concrete(t.dtype(), t.shape())));
        let op =
            QuantOp::Quantize { axis, block_size: 0, output_dtype: Some(t.dtype()), precision: None, saturate: true };
        g.add_node(format!("{name}/fake_quant"), op.into(), vec![Some(w), scale, zp], vec![Some(qv)]);
        // The new node must run before the DequantizeLinear: move it there.
        let node = g.nodes.pop().expect("just added");
        g.nodes.insert(k, node);
        g.nodes[k + 1].inputs[0] = Some(qv);
        made += 1;
    }
    Ok((g, made))
}

/// `(t - zp) * scale`, per tensor or along `axis`.
fn dequantize(t: &Tensor, s: &Tensor, zp: Option<&Tensor>, axis: i64) -> Result<Tensor, String> {
    let v = t.to_f32_vec().map_err(|e| e.to_string())?;
    let s = s.to_f32_vec().map_err(|e| e.to_string())?;
    let z = match zp {
        Some(z) => z.to_f32_vec().map_err(|e| e.to_string())?,
        None => vec![0.0],
    };
    let shape = t.shape();
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    let per = s.len() > 1;
    let (len, inner) = if per && (0..r).contains(&a) {
        (shape[a as usize], shape[a as usize + 1..].iter().product::<usize>())
    } else {
        (1, 1)
    };
    if per && s.len() != len {
        return Err(format!("{} scales for an axis of {len}", s.len()));
    }
    let out: Vec<f32> = v
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = if per { (i / inner) % len } else { 0 };
            (x - z.get(c).or(z.first()).copied().unwrap_or(0.0)) * s[c]
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), out).map_err(|e| e.to_string())
}

/// How the training forward computes the int8 units of `g` (with its current weights).
pub fn units(g: &Graph) -> Result<int8::Summary, String> {
    let mut values: Vec<Option<mote_ir::Value>> =
        g.values.iter().map(|v| v.init.clone().map(mote_ir::Value::Tensor)).collect();
    let mut done = vec![false; g.nodes.len()];
    Ok(int8::Units::find(g, &mut values, &mut done)?.map(|u| u.summary(g)).unwrap_or_default())
}
