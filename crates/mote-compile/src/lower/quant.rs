//! Quantization ops: QuantizeLinear and DequantizeLinear (per tensor, per axis, blocked; every
//! quantized type of the runtime, sub-byte and float8/float4 included) as `Quantize` /
//! `Dequantize`; DynamicQuantizeLinear as `DynamicQuantize`; MatMulInteger and QLinearMatMul as
//! one batched `QGemm` (a constant B packed for it); ConvInteger and QLinearConv as `QConv`.
//!
//! The QLinear ops requantize in float as the reference interpreter (and ONNX) does: the
//! multiplier `a_scale * b_scale / y_scale`, each operation rounded to the scales' type, is an
//! f32 tensor (per tensor, per row or per column): folded into a weight when the scales are
//! constants, computed by element-wise steps before the product when they are run-time values.
//! Zero points may be constant or computed.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::ops::nn::ConvAttrs;
use mote_ir::ops::quant::QuantOp;
use mote_ir::{Node, bf16, f16};
use mote_kernels::fast::qgemm::{QElem, QPACK_FORMAT_VERSION, qpack_b, qpack_b_len};
use mote_rt::ops::{Act, BinaryCode, EpilogueAttrs, MAX_QGEMM_BATCH_RANK, Per, QMode, encode};

use mote_core::lowp::RoundMode;

use super::elementwise::emit_binary;
use super::{Lowerer, R, bail};

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &QuantOp) -> R<()> {
    match op {
        QuantOp::Quantize { axis, block_size, precision, saturate, .. } => {
            if precision.is_some_and(|p| p != DType::F32) {
                bail!(
                    "QuantizeLinear with precision {} is not supported by the compiled path (f32)",
                    precision.unwrap()
                );
            }
            linear(l, n, true, *axis, *block_size, *saturate)
        }
        QuantOp::Dequantize { axis, block_size, .. } => linear(l, n, false, *axis, *block_size, true),
        QuantOp::DynamicQuantize => {
            let x = l.input(n, 0)?;
            if l.p.tensors[x].dtype != DType::F32 {
                bail!("DynamicQuantizeLinear on {} (f32 only)", l.p.tensors[x].dtype);
            }
            let (y, s, z) = (l.output(n, 0)?, l.output(n, 1)?, l.output(n, 2)?);
            l.p.step(OpCode::DynamicQuantize, vec![Some(x)], vec![y, s, z], vec![], &n.name);
            Ok(())
        }
        QuantOp::MatMulInteger => matmul(l, n, [0, 1, 2, 3], None),
        QuantOp::QLinearMatMul => matmul(l, n, [0, 3, 2, 5], Some([1, 4, 6, 7])),
        QuantOp::ConvInteger(a) => conv(l, n, a, [0, 1, 2, 3], None),
        QuantOp::QLinearConv(a) => conv(l, n, a, [0, 3, 2, 5], Some([1, 4, 6, 7])),
    }
}

/// Whether the runtime's Quantize / Dequantize take `d` as the quantized type.
fn quantized(d: DType) -> bool {
    matches!(d, DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32)
        || d.is_small_int()
        || (d.is_low_precision_float() && d != DType::F8E8M0)
}

fn linear(l: &mut Lowerer<'_>, n: &Node, quantize: bool, axis: i64, block: usize, saturate: bool) -> R<()> {
    let (x, s) = (l.input(n, 0)?, l.input(n, 1)?);
    let z = match n.input(2) {
        Some(_) => Some(l.input(n, 2)?),
        None => None,
    };
    // Dequantize with f16/bf16 scales computes in f32 and rounds once to the output type, as the
    // reference does: the scales widen exactly, the f32 result is cast.
    let half = |d: DType| matches!(d, DType::F16 | DType::BF16);
    let s = if !quantize && half(l.p.tensors[s].dtype) {
        cast(l, s, DType::F32, &format!("{}.scale_f32", n.name))
    } else {
        s
    };
    if l.p.tensors[s].dtype != DType::F32 {
        bail!("quantization scales must be f32 to compile (f16 and bf16 for DequantizeLinear)");
    }
    let xd = l.p.tensors[x].dims.clone();
    let numel: usize = xd.iter().product();
    let scales = l.p.tensors[s].numel();
    let sd = l.p.tensors[s].dims.clone();
    let y_out = l.output(n, 0)?;
    let y = match l.p.tensors[y_out].dtype {
        d if !quantize && half(d) => l.p.arena(DType::F32, xd.clone(), format!("{}.f32", n.name)),
        _ => y_out,
    };
    let (xt, yt) = (l.p.tensors[x].dtype, l.p.tensors[y].dtype);
    let (float, q) = if quantize { (xt, yt) } else { (yt, xt) };
    if float != DType::F32 || !quantized(q) {
        bail!(
            "{} from {xt} to {yt} is not supported by the compiled path (f32 <-> integers, float8, float4)",
            n.op.name()
        );
    }
    let per_tensor = scales == 1 && (sd.is_empty() || sd == [1] || block > 0);
    let (outer, len, inner, per_axis, block) = if per_tensor {
        (1, numel, 1, false, 0)
    } else {
        let a = mote_ir::infer::normalize_axis(axis, xd.len()).map_err(|e| e.0)?;
        let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
        if block == 0 {
            (outer, xd[a], inner, true, 0)
        } else {
            let mut want = xd.clone();
            want[a] = xd[a].div_ceil(block);
            if sd != want {
                bail!("blocked scale must have shape {want:?}, got {sd:?}");
            }
            (outer, xd[a], inner, false, block)
        }
    };
    let code = if quantize { OpCode::Quantize } else { OpCode::Dequantize };
    let attrs = encode::quant(outer, len, inner, per_axis, block, saturate || !quantize);
    l.p.step(code, vec![Some(x), Some(s), z], vec![y], attrs, &n.name);
    if y != y_out {
        l.p.step(OpCode::Cast, vec![Some(y)], vec![y_out], encode::cast(true, RoundMode::default()), &n.name);
    }
    Ok(())
}

/// Rounds to the scales' type (f16, bf16) or leaves f32.
fn round_to(dt: DType, v: f32) -> f32 {
    match dt {
        DType::F16 => f16::from_f32(v).to_f32(),
        DType::BF16 => bf16::from_f32(v).to_f32(),
        _ => v,
    }
}

/// A scale input's number of values and type (f32, f16, bf16).
fn scale_len(l: &mut Lowerer<'_>, n: &Node, i: usize, what: &str) -> R<(usize, DType)> {
    let t = l.input(n, i)?;
    let dt = l.p.tensors[t].dtype;
    if !matches!(dt, DType::F32 | DType::F16 | DType::BF16) {
        bail!("{what} of type {dt} is not supported by the compiled path (f32, f16, bf16)");
    }
    Ok((l.p.tensors[t].numel(), dt))
}

/// The f32 multiplier `a * b / y` of the scale inputs `[a, b, y]` (rounded as the reference:
/// each operation in the scales' type `dt`), `len` values: a weight when the scales are
/// constants, else steps that compute it at run time.
fn multiplier(l: &mut Lowerer<'_>, n: &Node, idx: [usize; 3], dt: DType, len: usize) -> R<usize> {
    let consts: Option<Vec<Vec<f32>>> =
        idx.iter().map(|&i| l.konst(l.in_value(n, i).ok()?)?.to_f32_vec().ok()).collect();
    if let Some(c) = consts {
        let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
        let vals: Vec<f32> =
            (0..len).map(|i| round_to(dt, round_to(dt, at(&c[0], i) * at(&c[1], i)) / c[2][0])).collect();
        return Ok(l.weight_f32(vec![len], &vals, &format!("{}.multiplier", n.name)));
    }
    let name = &n.name;
    let f32_of = |l: &mut Lowerer<'_>, i: usize| -> R<usize> {
        let t = l.input(n, i)?;
        let flat = l.p.alias(t, vec![l.p.tensors[t].numel()], format!("{name}.scale{i}"));
        Ok(if dt == DType::F32 { flat } else { cast(l, flat, DType::F32, &format!("{name}.scale{i}_f32")) })
    };
    let (a, b, y) = (f32_of(l, idx[0])?, f32_of(l, idx[1])?, f32_of(l, idx[2])?);
    let round = |l: &mut Lowerer<'_>, t: usize, what: &str| {
        if dt == DType::F32 {
            t
        } else {
            let r = cast(l, t, dt, &format!("{name}.{what}_rounded"));
            cast(l, r, DType::F32, &format!("{name}.{what}_f32"))
        }
    };
    let prod = l.p.arena(DType::F32, vec![len], format!("{name}.scale_product"));
    emit_binary(l, BinaryCode::Mul, a, b, prod, Act::NONE, name)?;
    let prod = round(l, prod, "scale_product");
    let mult = l.p.arena(DType::F32, vec![len], format!("{name}.multiplier"));
    emit_binary(l, BinaryCode::Div, prod, y, mult, Act::NONE, name)?;
    Ok(round(l, mult, "multiplier"))
}

/// A Cast step of `x` to a new tensor of type `to`.
fn cast(l: &mut Lowerer<'_>, x: usize, to: DType, name: &str) -> usize {
    let y = l.p.arena(to, l.p.tensors[x].dims.clone(), name);
    l.p.step(OpCode::Cast, vec![Some(x)], vec![y], encode::cast(true, RoundMode::default()), name);
    y
}

/// An 8-bit operand's optional zero point: its tensor and whether it is one value or `len`
/// values (then `per`).
fn zero_point(
    l: &mut Lowerer<'_>,
    n: &Node,
    i: usize,
    dt: DType,
    len: usize,
    per: Per,
    what: &str,
) -> R<(Option<usize>, Per)> {
    if n.input(i).is_none() {
        return Ok((None, Per::Tensor));
    }
    let z = l.input(n, i)?;
    let t = &l.p.tensors[z];
    if t.dtype != dt {
        bail!("{what} has type {}, its operand {dt}", t.dtype);
    }
    match t.numel() {
        1 => Ok((Some(z), Per::Tensor)),
        k if k == len && t.dims.len() <= 1 => Ok((Some(z), per)),
        _ => bail!("{what} must be one value or {len} values, got shape {:?}", t.dims),
    }
}

fn int8(l: &Lowerer<'_>, t: usize, what: &str) -> R<DType> {
    let d = l.p.tensors[t].dtype;
    if !matches!(d, DType::U8 | DType::I8) {
        bail!("{what} must be u8 or i8 to compile, got {d}");
    }
    Ok(d)
}

/// MatMulInteger / QLinearMatMul: inputs `[a, b, a_zp, b_zp]` at `io`, and for QLinearMatMul
/// `[a_scale, b_scale, y_scale, y_zp]` at `q`.
fn matmul(l: &mut Lowerer<'_>, n: &Node, io: [usize; 4], q: Option<[usize; 4]>) -> R<()> {
    let (a, b) = (l.input(n, io[0])?, l.input(n, io[1])?);
    let (at, bt) = (int8(l, a, "A")?, int8(l, b, "B")?);
    let (mut ad, mut bd) = (l.p.tensors[a].dims.clone(), l.p.tensors[b].dims.clone());
    if ad.is_empty() || bd.is_empty() {
        bail!("{} of a scalar", n.op.name());
    }
    let b1 = bd.len() == 1;
    if ad.len() == 1 {
        ad.insert(0, 1);
    }
    if b1 {
        bd.push(1);
    }
    let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
    let (k2, nn) = (bd[bd.len() - 2], bd[bd.len() - 1]);
    if k != k2 {
        bail!("inner dims differ: {ad:?} x {bd:?}");
    }
    let (batch, sa, sb) =
        super::nn::batch_strides(&ad[..ad.len() - 2], &bd[..bd.len() - 2], m * k, k * nn, MAX_QGEMM_BATCH_RANK)?;
    let (za, za_per) = zero_point(l, n, io[2], at, m, Per::Row, "a_zero_point")?;
    let (zb, zb_per) = zero_point(l, n, io[3], bt, nn, Per::Col, "b_zero_point")?;
    let y = l.output(n, 0)?;
    let (mult, yz, ep) = match q {
        None => (None, None, EpilogueAttrs { mode: QMode::Int32, bias: Per::Tensor, mult: Per::Tensor }),
        Some([sa_i, sb_i, sy_i, yz_i]) => {
            let (av, dt) = scale_len(l, n, sa_i, "a_scale")?;
            let (bv, _) = scale_len(l, n, sb_i, "b_scale")?;
            let (yv, _) = scale_len(l, n, sy_i, "y_scale")?;
            if yv != 1 {
                bail!("y_scale must be one value");
            }
            let per = match (av, bv) {
                (1, 1) => Per::Tensor,
                (x, 1) if x == m => Per::Row,
                (1, x) if x == nn => Per::Col,
                _ => bail!("a_scale ({av}) and b_scale ({bv}) must be per tensor, or one of them per row / column"),
            };
            let mult = multiplier(l, n, [sa_i, sb_i, sy_i], dt, av.max(bv))?;
            let yz = l.input(n, yz_i)?;
            let yt = int8(l, y, "the output")?;
            if l.p.tensors[yz].dtype != yt || l.p.tensors[yz].numel() != 1 {
                bail!("y_zero_point must be one {yt} value");
            }
            (Some(mult), Some(yz), EpilogueAttrs { mode: QMode::Float, bias: Per::Tensor, mult: per })
        }
    };
    // A constant B without batch dims of its own is packed for the kernel.
    let bvalue = l.in_value(n, io[1])?;
    let b = match l.konst(bvalue).cloned() {
        Some(bc) if sb.iter().all(|&s| s == 0) => {
            let bytes = super::tensor_bytes(&bc)?;
            let mut packed = vec![0u8; qpack_b_len(k, nn)];
            match bt {
                DType::U8 => qpack_b(&bytes, k, nn, nn, 1, &mut packed),
                _ => qpack_b(&bytes.iter().map(|&v| i8::from_bits(v)).collect::<Vec<_>>(), k, nn, nn, 1, &mut packed),
            }
            let name = format!("{}.qpacked", l.g.value(bvalue).name);
            let t = l.p.weight(bt, l.p.tensors[b].dims.clone(), packed, name);
            l.p.tensors[t].packed = Some(QPACK_FORMAT_VERSION);
            t
        }
        _ => b,
    };
    let attrs = encode::qgemm((m, nn, k), za_per, zb_per, ep, &batch, &sa, &sb);
    l.p.step(OpCode::QGemm, vec![Some(a), Some(b), za, zb, None, mult, yz], vec![y], attrs, &n.name);
    Ok(())
}

/// ConvInteger / QLinearConv: inputs `[x, w, x_zp, w_zp]` at `io`, and for QLinearConv
/// `[x_scale, w_scale, y_scale, y_zp]` at `q` (and the bias, input 8).
fn conv(l: &mut Lowerer<'_>, n: &Node, a: &ConvAttrs, io: [usize; 4], q: Option<[usize; 4]>) -> R<()> {
    let (x, w) = (l.input(n, io[0])?, l.input(n, io[1])?);
    let (xt, wt) = (int8(l, x, "x")?, int8(l, w, "w")?);
    let (xd, wd) = (l.p.tensors[x].dims.clone(), l.p.tensors[w].dims.clone());
    if !(3..=5).contains(&xd.len()) || wd.len() != xd.len() {
        bail!("{} on rank {} is not supported (1 to 3 spatial dims)", n.op.name(), xd.len());
    }
    let r = a.window.resolve(&xd[2..], &wd[2..]).map_err(|e| e.0)?;
    let m = wd[0];
    let (xz, _) = zero_point(l, n, io[2], xt, 1, Per::Tensor, "x_zero_point")?;
    let (wz, wz_per) = zero_point(l, n, io[3], wt, m, Per::Row, "w_zero_point")?;
    let y = l.output(n, 0)?;
    let (bias, mult, yz, ep) = match q {
        None => (None, None, None, EpilogueAttrs { mode: QMode::Int32, bias: Per::Tensor, mult: Per::Tensor }),
        Some([sx_i, sw_i, sy_i, yz_i]) => {
            let (xv, dt) = scale_len(l, n, sx_i, "x_scale")?;
            let (wv, _) = scale_len(l, n, sw_i, "w_scale")?;
            let (yv, _) = scale_len(l, n, sy_i, "y_scale")?;
            if xv != 1 || yv != 1 {
                bail!("x_scale and y_scale must be one value");
            }
            let per = match wv {
                1 => Per::Tensor,
                x if x == m => Per::Row,
                x => bail!("w_scale must have 1 or {m} values, got {x}"),
            };
            let mult = multiplier(l, n, [sx_i, sw_i, sy_i], dt, wv)?;
            let yz = l.input(n, yz_i)?;
            let yt = int8(l, y, "the output")?;
            if l.p.tensors[yz].dtype != yt || l.p.tensors[yz].numel() != 1 {
                bail!("y_zero_point must be one {yt} value");
            }
            let (bias, bias_per) = match n.input(8) {
                Some(_) => {
                    let b = l.input(n, 8)?;
                    if l.p.tensors[b].dtype != DType::I32 || l.p.tensors[b].dims != [m] {
                        bail!("B must be i32 [{m}]");
                    }
                    (Some(b), Per::Row)
                }
                None => (None, Per::Tensor),
            };
            (bias, Some(mult), Some(yz), EpilogueAttrs { mode: QMode::Float, bias: bias_per, mult: per })
        }
    };
    let attrs = encode::qconv(a.group, &r.kernel, &r.strides, &r.dilations, &r.pads_begin, wz_per, ep);
    l.p.step(OpCode::QConv, vec![Some(x), Some(w), xz, wz, bias, mult, yz], vec![y], attrs, &n.name);
    Ok(())
}
