//! QuantizeLinear and DequantizeLinear as straight-through estimators: a QuantizeLinear passes
//! `dy / scale` where its input was not clamped, a DequantizeLinear passes `dy * scale` to its
//! integer input, so a Q/DQ pair passes the gradient through unchanged inside the range.

use mote_ir::DType;
use mote_ir::ops::quant::QuantOp;

use super::Ctx;

/// Each element's scale (per tensor or along `axis`) for a tensor of `shape`.
fn scales(cx: &Ctx<'_>, shape: &[usize], axis: i64) -> Result<Vec<f32>, String> {
    let s = cx.ins.get(1).copied().flatten().ok_or("scale is missing")?;
    let s = s.to_f32_vec().map_err(|e| e.to_string())?;
    let n: usize = shape.iter().product();
    if s.len() == 1 {
        return Ok(vec![s[0]; n]);
    }
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) || shape[a as usize] != s.len() {
        return Err(format!("{} scales do not fit axis {axis} of {shape:?}", s.len()));
    }
    let inner: usize = shape[a as usize + 1..].iter().product();
    Ok((0..n).map(|i| s[(i / inner) % s.len()]).collect())
}

fn range(d: DType) -> Option<(f32, f32)> {
    Some(match d {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (-2_147_483_648.0, 2_147_483_647.0),
        _ => return None,
    })
}

pub fn backward(op: &QuantOp, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    match op {
        QuantOp::Quantize { axis, block_size: 0, .. } => {
            let (x, shape) = cx.input(0)?;
            let y = cx.outs.first().copied().flatten().ok_or("output is missing")?;
            let (lo, hi) =
                range(y.dtype()).ok_or_else(|| format!("no gradient through a {} QuantizeLinear", y.dtype()))?;
            let z = match cx.ins.get(2).copied().flatten() {
                Some(z) => z.to_f32_vec().map_err(|e| e.to_string())?,
                None => vec![0.0],
            };
            let s = scales(cx, shape, *axis)?;
            let per = s.len() / z.len().max(1);
            let gx = (0..x.len())
                .map(|i| {
                    let zp = if z.len() == 1 { z[0] } else { z[(i / per.max(1)) % z.len()] };
                    let v = x[i] / s[i] + zp;
                    if v >= lo - 0.5 && v <= hi + 0.5 { gy[i] / s[i] } else { 0.0 }
                })
                .collect();
            Ok(vec![Some(gx), None, None])
        }
        QuantOp::Dequantize { axis, block_size: 0, .. } => {
            let x = cx.ins.first().copied().flatten().ok_or("input is missing")?;
            let s = scales(cx, x.shape(), *axis)?;
            Ok(vec![Some(gy.iter().zip(&s).map(|(g, s)| g * s).collect()), None, None])
        }
        _ => Err("no gradient for this quantization op".into()),
    }
}
