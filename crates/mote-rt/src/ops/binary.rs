//! `Binary`: numpy-broadcasting element-wise ops. The compiler resolves broadcasting into element
//! strides (0 on broadcast dims) over the output's dims, so one strided walk serves same-shape,
//! scalar, per-channel and general cases; contiguous inner runs get tight loops.
//!
//! Attributes: `[code, rank, dims[rank], a_strides[rank], b_strides[rank], y_strides[rank],
//! act(3)]`. f32 arithmetic codes may carry a fused activation; comparisons take f32 and give
//! bool; logic ops take and give bool.

use mote_core::DType;
use mote_format::StepRef;

use mote_kernels::fast::{self, BinaryOp, Cpu, Parallel, Rhs};

use super::act::Act;
use super::strided::View;
use super::{Io, inp, out, same, want};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Stable codes of the binary ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BinaryCode {
    Add = 1,
    Sub = 2,
    Mul = 3,
    Div = 4,
    Pow = 5,
    Max = 6,
    Min = 7,
    /// `x < 0 ? slope * x : x` with `b` the slope.
    PRelu = 8,
    /// C `fmod`: the sign of the dividend.
    Fmod = 9,
    /// Python `%`: the sign of the divisor.
    Mod = 10,
    /// `a << b` (unsigned integers; shifts of the width or more give 0).
    BitShiftLeft = 11,
    /// `a >> b` (unsigned integers; shifts of the width or more give 0).
    BitShiftRight = 12,
    Equal = 20,
    Less = 21,
    LessOrEqual = 22,
    Greater = 23,
    GreaterOrEqual = 24,
    And = 30,
    Or = 31,
    Xor = 32,
    /// Bitwise ops on integers (on bool: the logic ops).
    BitwiseAnd = 33,
    BitwiseOr = 34,
    BitwiseXor = 35,
}

impl BinaryCode {
    const ALL: [BinaryCode; 23] = [
        BinaryCode::Add,
        BinaryCode::Sub,
        BinaryCode::Mul,
        BinaryCode::Div,
        BinaryCode::Pow,
        BinaryCode::Max,
        BinaryCode::Min,
        BinaryCode::PRelu,
        BinaryCode::Fmod,
        BinaryCode::Mod,
        BinaryCode::BitShiftLeft,
        BinaryCode::BitShiftRight,
        BinaryCode::Equal,
        BinaryCode::Less,
        BinaryCode::LessOrEqual,
        BinaryCode::Greater,
        BinaryCode::GreaterOrEqual,
        BinaryCode::And,
        BinaryCode::Or,
        BinaryCode::Xor,
        BinaryCode::BitwiseAnd,
        BinaryCode::BitwiseOr,
        BinaryCode::BitwiseXor,
    ];

    pub fn from_code(c: u32) -> Option<BinaryCode> {
        BinaryCode::ALL.iter().copied().find(|b| *b as u32 == c)
    }

    /// The output element type for inputs of type `t`, if the op accepts `t`: arithmetic on
    /// f32, f64 and the integers (Pow and PRelu: floats only), shifts on unsigned integers,
    /// comparisons of floats and integers, logic on bool, bitwise ops on integers and bool.
    pub fn output_type(self, t: DType) -> Option<DType> {
        use DType::*;
        let int = matches!(t, I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64);
        let float = matches!(t, F32 | F64);
        match self as u32 {
            5 | 8 => float.then_some(t),
            11 | 12 => matches!(t, U8 | U16 | U32 | U64).then_some(t),
            0..20 => (float || int).then_some(t),
            20..30 => (float || int).then_some(Bool),
            30..33 => (t == Bool).then_some(Bool),
            _ => (int || t == Bool).then_some(t),
        }
    }
}

/// The broadcast operand's shape relative to the full one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Same,
    Scalar,
    PerChannel {
        plane: usize,
    },
    /// One value per channel of a channel-blocked `[.., C/8, plane, 8]`.
    PerChannelBlocked {
        plane: usize,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Binary {
    code: BinaryCode,
    view: View<3>,
    act: Act,
    /// The inputs' element type.
    ty: DType,
}

impl Binary {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Binary, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let code = BinaryCode::from_code(w.u32()?).ok_or(StepFault::Attrs)?;
        let mut view = View::<3>::decode(&mut w)?;
        let act = Act::decode(&mut w)?;
        w.end()?;
        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        let tout = code.output_type(a.dtype).ok_or(StepFault::DType)?;
        want(&b, a.dtype)?;
        want(&y, tout)?;
        if act != Act::NONE && tout != DType::F32 {
            return Err(StepFault::Attrs);
        }
        view.check(0, a.numel())?;
        view.check(1, b.numel())?;
        view.check(2, y.numel())?;
        if view.numel()? != y.numel() {
            return Err(StepFault::Shape);
        }
        view.collapse();
        Ok(Binary { code, view, act, ty: a.dtype })
    }

    /// `a` is walked exactly as `y` (so `y` may be `a`'s bytes).
    pub fn a_is_dense(&self) -> bool {
        let v = &self.view;
        (0..v.rank).all(|d| v.dims[d] == 1 || v.strides[0][d] == v.strides[2][d])
    }

    /// The fast kernel's view of this step: the full operand's side (`false`: a), the other
    /// operand's form (same shape, scalar, per channel of `[.., C, plane]`), when it has one.
    fn fast_form(&self) -> Option<(bool, Form)> {
        let v = &self.view;
        let (r, d, [sa, sb, sy]) = (v.rank, &v.dims, &v.strides);
        let form = |full: &[isize; crate::ops::MAX_VIEW_RANK],
                    other: &[isize; crate::ops::MAX_VIEW_RANK]|
         -> Option<Form> {
            if full[..r] != sy[..r] {
                return None;
            }
            match r {
                1 if full[0] == 1 && other[0] == 1 => Some(Form::Same),
                1 if full[0] == 1 && other[0] == 0 => Some(Form::Scalar),
                2 if full[..2] == [d[1] as isize, 1] && other[..2] == [1, 0] => Some(Form::PerChannel { plane: d[1] }),
                3 if full[..3] == [(d[1] * d[2]) as isize, d[2] as isize, 1] && other[..3] == [0, 1, 0] => {
                    Some(Form::PerChannel { plane: d[2] })
                }
                3 if d[2] == 8 && full[..3] == [(d[1] * 8) as isize, 8, 1] && other[..3] == [8, 0, 1] => {
                    Some(Form::PerChannelBlocked { plane: d[1] })
                }
                4 if d[3] == 8
                    && full[..4] == [(d[1] * d[2] * 8) as isize, (d[2] * 8) as isize, 8, 1]
                    && other[..4] == [0, 8, 0, 1] =>
                {
                    Some(Form::PerChannelBlocked { plane: d[2] })
                }
                _ => None,
            }
        };
        form(sa, sb).map(|f| (false, f)).or_else(|| form(sb, sa).filter(|f| *f != Form::Same).map(|f| (true, f)))
    }

    /// Runs on the fast kernel when the op and layout allow; returns whether it did.
    fn run_fast(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu, par: &dyn Parallel) -> bool {
        if self.ty != DType::F32 {
            return false;
        }
        let (Ok(a), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return false };
        if y.numel() == 0 {
            return true;
        }
        let Some((swapped, form)) = self.fast_form() else { return false };
        let op = match (self.code, swapped) {
            (BinaryCode::Add, _) => BinaryOp::Add,
            (BinaryCode::Mul, _) => BinaryOp::Mul,
            (BinaryCode::Sub, false) => BinaryOp::Sub,
            (BinaryCode::Sub, true) => BinaryOp::RevSub,
            (BinaryCode::Div, false) => BinaryOp::Div,
            (BinaryCode::Div, true) => BinaryOp::RevDiv,
            _ => return false,
        };
        let (full, other) = if swapped { (b, a) } else { (a, b) };
        if same(&other, &y) {
            return false;
        }
        let ov = inp::<f32>(mem, &other);
        let ys = out::<f32>(mem, &y);
        let n = ys.len();
        // The view checks bound every operand's extent: these slices are in range.
        let rhs = match form {
            Form::Same => Rhs::Same(&ov[..n]),
            Form::Scalar => Rhs::Scalar(ov[0]),
            Form::PerChannel { plane } => Rhs::PerChannel { values: &ov[..self.view.dims[self.view.rank - 2]], plane },
            Form::PerChannelBlocked { plane } => {
                // Channels: the blocks (the outer dim of rank 3, the second of rank 4) times 8.
                let blocks = self.view.dims[self.view.rank - 3];
                Rhs::PerChannelBlocked { values: &ov[..blocks * 8], plane }
            }
        };
        let a = if same(&full, &y) { None } else { Some(&inp::<f32>(mem, &full)[..n]) };
        fast::binary_par(par, cpu, op, a, rhs, self.act.fast(), ys);
        true
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu, par: &dyn Parallel) -> Result<(), &'static str> {
        if self.run_fast(mem, io, cpu, par) {
            return Ok(());
        }
        let (Ok(a), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        let in_place = same(&a, &y);
        macro_rules! arith {
            ($t:ty, $o:ty, |$p:ident, $q:ident| $e:expr) => {{
                let ys = out::<$o>(mem, &y);
                let (av, bv): (&[$t], &[$t]) = (if in_place { &[] } else { inp(mem, &a) }, inp(mem, &b));
                self.view.for_runs(|[ao, bo, yo], n, [sa, sb, sy]| {
                    let f = |$p: $t, $q: $t| -> $o { $e };
                    if in_place {
                        // y aliases a with the same strides: read a through y.
                        for i in 0..n as isize {
                            let yi = (yo as isize + i * sy) as usize;
                            ys[yi] = f(ys[yi] as $t, bv[(bo as isize + i * sb) as usize]);
                        }
                    } else if sa == 1 && sb == 1 && sy == 1 {
                        for ((o, &p), &q) in ys[yo..yo + n].iter_mut().zip(&av[ao..ao + n]).zip(&bv[bo..bo + n]) {
                            *o = f(p, q);
                        }
                    } else if sa == 1 && sb == 0 && sy == 1 {
                        let q = bv[bo];
                        for (o, &p) in ys[yo..yo + n].iter_mut().zip(&av[ao..ao + n]) {
                            *o = f(p, q);
                        }
                    } else if sa == 0 && sb == 1 && sy == 1 {
                        let p = av[ao];
                        for (o, &q) in ys[yo..yo + n].iter_mut().zip(&bv[bo..bo + n]) {
                            *o = f(p, q);
                        }
                    } else {
                        for i in 0..n as isize {
                            ys[(yo as isize + i * sy) as usize] =
                                f(av[(ao as isize + i * sa) as usize], bv[(bo as isize + i * sb) as usize]);
                        }
                    }
                });
            }};
        }
        macro_rules! ints {
            ($t:ty) => {{
                if matches!(self.code, BinaryCode::Div | BinaryCode::Mod | BinaryCode::Fmod)
                    && inp::<$t>(mem, &b).contains(&0)
                {
                    return Err("integer division by zero");
                }
                match self.code as u32 {
                    11 | 12 => {
                        let left = self.code == BinaryCode::BitShiftLeft;
                        arith!($t, $t, |p, q| shift(left, p as u128, q as u128, <$t>::BITS) as $t)
                    }
                    20..30 => arith!($t, u8, |p, q| compare(self.code, p as i128, q as i128) as u8),
                    _ => arith!($t, $t, |p, q| int_arith(self.code, p as i128, q as i128) as $t),
                }
            }};
        }
        macro_rules! floats {
            ($t:ty) => {{
                use BinaryCode as C;
                match self.code {
                    C::Add => arith!($t, $t, |p, q| p + q),
                    C::Sub => arith!($t, $t, |p, q| p - q),
                    C::Mul => arith!($t, $t, |p, q| p * q),
                    C::Div => arith!($t, $t, |p, q| p / q),
                    C::Pow => arith!($t, $t, |p, q| num_traits::Float::powf(p, q)),
                    C::Max => arith!($t, $t, |p, q| if p.is_nan() || q.is_nan() { <$t>::NAN } else { p.max(q) }),
                    C::Min => arith!($t, $t, |p, q| if p.is_nan() || q.is_nan() { <$t>::NAN } else { p.min(q) }),
                    C::PRelu => arith!($t, $t, |p, q| if p < 0.0 { q * p } else { p }),
                    C::Fmod => arith!($t, $t, |p, q| p % q),
                    C::Mod => arith!($t, $t, |p, q| {
                        let r = p % q;
                        if r != 0.0 && ((r < 0.0) != (q < 0.0)) { r + q } else { r }
                    }),
                    C::Equal => arith!($t, u8, |p, q| (p == q) as u8),
                    C::Less => arith!($t, u8, |p, q| (p < q) as u8),
                    C::LessOrEqual => arith!($t, u8, |p, q| (p <= q) as u8),
                    C::Greater => arith!($t, u8, |p, q| (p > q) as u8),
                    // Only GreaterOrEqual is left: decode checked the code against the type.
                    _ => arith!($t, u8, |p, q| (p >= q) as u8),
                }
            }};
        }
        use BinaryCode as C;
        match self.ty {
            DType::F32 => floats!(f32),
            DType::F64 => floats!(f64),
            DType::Bool => match self.code {
                C::And | C::BitwiseAnd => arith!(u8, u8, |p, q| (p != 0 && q != 0) as u8),
                C::Or | C::BitwiseOr => arith!(u8, u8, |p, q| (p != 0 || q != 0) as u8),
                _ => arith!(u8, u8, |p, q| ((p != 0) != (q != 0)) as u8),
            },
            DType::I8 => ints!(i8),
            DType::U8 => ints!(u8),
            DType::I16 => ints!(i16),
            DType::U16 => ints!(u16),
            DType::I32 => ints!(i32),
            DType::U32 => ints!(u32),
            DType::I64 => ints!(i64),
            _ => ints!(u64),
        }
        if self.act != Act::NONE {
            self.act.apply_all(out::<f32>(mem, &y));
        }
        Ok(())
    }
}

/// Integer arithmetic with C / numpy semantics, in i128 (the caller wraps to the element type).
fn int_arith(code: BinaryCode, p: i128, q: i128) -> i128 {
    match code {
        BinaryCode::Add => p + q,
        BinaryCode::Sub => p - q,
        BinaryCode::Mul => p.wrapping_mul(q),
        BinaryCode::Div => p / q,
        BinaryCode::Fmod => p % q,
        BinaryCode::Mod => p.rem_euclid(q) + if q < 0 && p.rem_euclid(q) != 0 { q } else { 0 },
        BinaryCode::Max => p.max(q),
        BinaryCode::Min => p.min(q),
        BinaryCode::BitwiseAnd => p & q,
        BinaryCode::BitwiseOr => p | q,
        BinaryCode::BitwiseXor => p ^ q,
        _ => 0,
    }
}

/// An unsigned shift of a `bits`-wide value; shifts of the width or more give 0.
fn shift(left: bool, p: u128, q: u128, bits: u32) -> u128 {
    if q >= bits as u128 {
        0
    } else if left {
        p << q
    } else {
        p >> q
    }
}

fn compare(code: BinaryCode, p: i128, q: i128) -> bool {
    match code {
        BinaryCode::Equal => p == q,
        BinaryCode::Less => p < q,
        BinaryCode::LessOrEqual => p <= q,
        BinaryCode::Greater => p > q,
        _ => p >= q,
    }
}
