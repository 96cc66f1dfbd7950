//! Element-wise ops: unary functions, broadcasting binary ops, Clip, Where, Cast, Sum/Max/Min/Mean.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};
use mote_rt::ops::{Act, BinaryCode, CLIP, UnaryCode, encode};

use super::fuse::clip_bounds;
use super::{Lowerer, R, bail};

/// Row-major element strides of `dims`.
pub fn contiguous(dims: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; dims.len()];
    let mut acc = 1isize;
    for d in (0..dims.len()).rev() {
        s[d] = acc;
        acc *= dims[d] as isize;
    }
    s
}

/// Strides that read a tensor of `dims` broadcast (numpy rules) to `out`.
pub fn broadcast_strides(dims: &[usize], out: &[usize]) -> R<Vec<isize>> {
    if dims.len() > out.len() {
        bail!("cannot broadcast {dims:?} to {out:?}");
    }
    let own = contiguous(dims);
    let lead = out.len() - dims.len();
    let mut s = vec![0isize; out.len()];
    for (k, &d) in dims.iter().enumerate() {
        let o = out[lead + k];
        if d == o {
            s[lead + k] = if d == 1 { 0 } else { own[k] };
        } else if d != 1 {
            bail!("cannot broadcast {dims:?} to {out:?}");
        }
    }
    Ok(s)
}

fn binary_code(b: Binary, dtype: DType) -> R<BinaryCode> {
    use BinaryCode as C;
    let code = match b {
        Binary::Add => C::Add,
        Binary::Sub => C::Sub,
        Binary::Mul => C::Mul,
        Binary::Div => C::Div,
        Binary::Pow => C::Pow,
        Binary::PRelu => C::PRelu,
        Binary::Mod { fmod: true } => C::Fmod,
        Binary::Mod { fmod: false } => C::Mod,
        Binary::Equal => C::Equal,
        Binary::Less => C::Less,
        Binary::LessOrEqual => C::LessOrEqual,
        Binary::Greater => C::Greater,
        Binary::GreaterOrEqual => C::GreaterOrEqual,
        Binary::And => C::And,
        Binary::Or => C::Or,
        Binary::Xor => C::Xor,
        Binary::BitwiseAnd => C::BitwiseAnd,
        Binary::BitwiseOr => C::BitwiseOr,
        Binary::BitwiseXor => C::BitwiseXor,
        Binary::BitShift { left: true } => C::BitShiftLeft,
        Binary::BitShift { left: false } => C::BitShiftRight,
    };
    if code.output_type(dtype).is_none() {
        bail!(
            "{b:?} on {dtype} is not supported by the compiled path (f32, f64 and integer arithmetic and comparisons, bool logic, integer bitwise ops)"
        );
    }
    Ok(code)
}

/// Emits `y = a op b` for tensors `a`, `b`, `y` (broadcast to y's dims).
pub fn emit_binary(l: &mut Lowerer<'_>, code: BinaryCode, a: usize, b: usize, y: usize, act: Act, name: &str) -> R<()> {
    let out = l.p.tensors[y].dims.clone();
    let sa = broadcast_strides(&l.p.tensors[a].dims, &out)?;
    let sb = broadcast_strides(&l.p.tensors[b].dims, &out)?;
    let attrs = encode::binary(code, &out, &sa, &sb, &contiguous(&out), act);
    l.p.step(OpCode::Binary, vec![Some(a), Some(b)], vec![y], attrs, name);
    Ok(())
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ElementwiseOp) -> R<()> {
    match op {
        ElementwiseOp::Unary(Unary::Not) => {
            // Not(x) = Xor(x, true).
            let x = l.input(n, 0)?;
            if l.p.tensors[x].dtype != DType::Bool {
                bail!("Not needs a bool tensor");
            }
            let t = l.p.weight(DType::Bool, vec![], vec![1], "true");
            let y = l.output(n, 0)?;
            emit_binary(l, BinaryCode::Xor, x, t, y, Act::NONE, &n.name)?;
        }
        ElementwiseOp::Unary(Unary::BitwiseNot) => {
            // BitwiseNot(x) = BitwiseXor(x, all ones).
            let x = l.input(n, 0)?;
            let dt = l.p.tensors[x].dtype;
            if !dt.is_int() {
                bail!("BitwiseNot on {dt} is not supported by the compiled path (integers only)");
            }
            let ones = l.p.weight(dt, vec![], vec![0xff; dt.size().unwrap_or(1)], "all_ones");
            let y = l.output_in_place(n, 0, 0)?;
            emit_binary(l, BinaryCode::BitwiseXor, x, ones, y, Act::NONE, &n.name)?;
        }
        ElementwiseOp::Unary(u @ (Unary::Abs | Unary::Neg | Unary::Sign | Unary::Relu))
            if l.dtype(l.in_value(n, 0)?)?.is_int() =>
        {
            int_unary(l, n, *u)?
        }
        ElementwiseOp::Unary(u) => {
            let x = l.input(n, 0)?;
            if !matches!(l.p.tensors[x].dtype, DType::F32 | DType::F64) {
                bail!("{} on {} is not supported by the compiled path (f32 and f64)", u.name(), l.p.tensors[x].dtype);
            }
            let (code, p0, p1) = UnaryCode::of(*u).ok_or_else(|| format!("{} has no runtime kernel", u.name()))?;
            let y = l.output_in_place(n, 0, 0)?;
            l.p.step(OpCode::Unary, vec![Some(x)], vec![y], encode::unary(code, p0, p1), &n.name);
        }
        ElementwiseOp::Clip if l.dtype(l.in_value(n, 0)?)? != DType::F32 => {
            // min(max(x, lo), hi) as binary steps (integers and f64: bounds of x's type).
            let x = l.input(n, 0)?;
            let dt = l.p.tensors[x].dtype;
            if BinaryCode::Max.output_type(dt).is_none() {
                bail!("Clip on {dt} is not supported by the compiled path");
            }
            let y = l.output(n, 0)?;
            let mut cur = x;
            for (i, code) in [(1, BinaryCode::Max), (2, BinaryCode::Min)] {
                if n.input(i).is_some() {
                    let bound = l.input(n, i)?;
                    emit_binary(l, code, cur, bound, y, Act::NONE, &n.name)?;
                    cur = y;
                }
            }
            if cur == x {
                let z = l.p.weight(dt, vec![], vec![0; dt.size().unwrap_or(1)], "zero");
                emit_binary(l, BinaryCode::Add, x, z, y, Act::NONE, &n.name)?;
            }
        }
        ElementwiseOp::Clip => {
            let x = l.input(n, 0)?;
            let (lo, hi) = clip_bounds(l, n).ok_or("Clip bounds must be constant f32 scalars")?;
            let y = l.output_in_place(n, 0, 0)?;
            l.p.step(OpCode::Unary, vec![Some(x)], vec![y], encode::unary(CLIP, lo, hi), &n.name);
        }
        ElementwiseOp::Binary(Binary::Equal) if l.dtype(l.in_value(n, 0)?)? == DType::String => {
            super::text::string_equal(l, n)?
        }
        ElementwiseOp::Binary(b) => {
            let (a, bb) = (l.input(n, 0)?, l.input(n, 1)?);
            let code = binary_code(*b, l.p.tensors[a].dtype)?;
            let out_dims = l.dims(n.outputs[0].ok_or("output 0 is missing")?)?;
            let same = l.p.tensors[a].dims == out_dims && l.p.tensors[a].dtype == l.dtype(n.outputs[0].ok_or("")?)?;
            let y = if same { l.output_in_place(n, 0, 0)? } else { l.output(n, 0)? };
            let act = l.fused_act(y);
            let (a, bb) = (l.blocked_operand(a, y), l.blocked_operand(bb, y));
            emit_binary(l, code, a, bb, y, act, &n.name)?;
        }
        ElementwiseOp::Variadic(v) => {
            let k = n.inputs.iter().flatten().count();
            if k == 0 {
                bail!("no inputs");
            }
            let code = match v {
                Variadic::Sum | Variadic::Mean => BinaryCode::Add,
                Variadic::Max => BinaryCode::Max,
                Variadic::Min => BinaryCode::Min,
            };
            let y = l.output(n, 0)?;
            if code.output_type(l.p.tensors[y].dtype).is_none()
                || (*v == Variadic::Mean && l.p.tensors[y].dtype != DType::F32)
            {
                bail!("{v:?} on {} is not supported by the compiled path", l.p.tensors[y].dtype);
            }
            // y = x0 + 0 (a broadcast copy), then y = y op xi in place.
            let x0 = l.input(n, 0)?;
            let dt = l.p.tensors[y].dtype;
            let zero = l.p.weight(dt, vec![], vec![0; dt.size().unwrap_or(1)], "zero");
            emit_binary(l, BinaryCode::Add, x0, zero, y, Act::NONE, &n.name)?;
            for i in 1..k {
                let xi = l.input(n, i)?;
                emit_binary(l, code, y, xi, y, Act::NONE, &n.name)?;
            }
            if *v == Variadic::Mean {
                let inv = l.weight_f32(vec![], &[1.0 / k as f32], "inv_count");
                emit_binary(l, BinaryCode::Mul, y, inv, y, Act::NONE, &n.name)?;
            }
        }
        ElementwiseOp::Where => {
            let (c, x, yv) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
            let o = l.output(n, 0)?;
            let out = l.p.tensors[o].dims.clone();
            let s: Vec<Vec<isize>> =
                [c, x, yv].iter().map(|&t| broadcast_strides(&l.p.tensors[t].dims, &out)).collect::<R<_>>()?;
            let attrs = encode::where_(&out, [&s[0], &s[1], &s[2], &contiguous(&out)]);
            l.p.step(OpCode::Where, vec![Some(c), Some(x), Some(yv)], vec![o], attrs, &n.name);
        }
        ElementwiseOp::Cast { saturate, round_mode, .. } | ElementwiseOp::CastLike { saturate, round_mode } => {
            let x = l.input(n, 0)?;
            let y = l.output(n, 0)?;
            let (from, to) = (l.p.tensors[x].dtype, l.p.tensors[y].dtype);
            if from == DType::String || to == DType::String {
                bail!("Cast from {from} to {to} is not supported by the compiled path (no strings)");
            }
            l.p.step(OpCode::Cast, vec![Some(x)], vec![y], encode::cast(*saturate, *round_mode), &n.name);
        }
    }
    Ok(())
}

/// A scalar weight of integer type `dt` holding `v` (two's complement, truncated).
fn int_scalar(l: &mut Lowerer<'_>, dt: DType, v: i64, name: &str) -> usize {
    let size = dt.size().unwrap_or(1);
    l.p.weight(dt, vec![], v.to_le_bytes()[..size].to_vec(), name)
}

/// Abs, Neg, Sign and Relu on integers as binary steps with the interpreter's wrapping
/// semantics: Neg = 0 - x, Abs = max(x, 0 - x) (unsigned: x), Relu = max(x, 0),
/// Sign = min(max(x, -1), 1) (unsigned: min(x, 1)).
fn int_unary(l: &mut Lowerer<'_>, n: &Node, u: Unary) -> R<()> {
    let x = l.input(n, 0)?;
    let dt = l.p.tensors[x].dtype;
    let signed = matches!(dt, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    if !signed && !matches!(dt, DType::U8 | DType::U16 | DType::U32 | DType::U64) {
        bail!("{} on {dt} is not supported by the compiled path", u.name());
    }
    let y = l.output(n, 0)?;
    let zero = int_scalar(l, dt, 0, "zero");
    match (u, signed) {
        (Unary::Neg, _) => emit_binary(l, BinaryCode::Sub, zero, x, y, Act::NONE, &n.name)?,
        (Unary::Abs, true) => {
            emit_binary(l, BinaryCode::Sub, zero, x, y, Act::NONE, &n.name)?;
            emit_binary(l, BinaryCode::Max, y, x, y, Act::NONE, &n.name)?;
        }
        (Unary::Abs | Unary::Relu, _) => emit_binary(l, BinaryCode::Max, x, zero, y, Act::NONE, &n.name)?,
        (_, true) => {
            let (lo, hi) = (int_scalar(l, dt, -1, "minus_one"), int_scalar(l, dt, 1, "one"));
            emit_binary(l, BinaryCode::Max, x, lo, y, Act::NONE, &n.name)?;
            emit_binary(l, BinaryCode::Min, y, hi, y, Act::NONE, &n.name)?;
        }
        (_, false) => {
            let one = int_scalar(l, dt, 1, "one");
            emit_binary(l, BinaryCode::Min, x, one, y, Act::NONE, &n.name)?;
        }
    }
    Ok(())
}
