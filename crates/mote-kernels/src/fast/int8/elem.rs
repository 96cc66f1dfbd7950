//! The element-wise int8 Add and Mul drivers: the ISA kernel does a prefix of whole vectors,
//! the reference the rest (and every case the kernels do not cover: zero points outside the
//! int8 range, a left shift over 30, `lo > hi`, both operands broadcast).

use super::kernels::Q8;
use super::with_q8;
use crate::fast::Cpu;
use crate::reference::int8 as r;
use crate::reference::int8::{AddParams, MulParams};

/// `true` when `v` is an int8 value.
fn is_i8(v: i32) -> bool {
    (-128..=127).contains(&v)
}

/// `(a, b)` with `a` full length (`y.len()` values) and `b` full length or one value, swapping
/// them when only `a` broadcasts; `None` when neither is full length.
fn order<'a>(a: &'a [i8], b: &'a [i8], n: usize) -> Option<(&'a [i8], &'a [i8], bool)> {
    if a.len() == n && (b.len() == n || b.len() == 1) {
        Some((a, b, false))
    } else if b.len() == n && a.len() == 1 {
        Some((b, a, true))
    } else {
        None
    }
}

/// Element-wise int8 Add (a length-1 operand broadcasts): equal to [`r::add`] on every path.
pub fn add(cpu: Cpu, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) {
    let n = y.len();
    let simple = is_i8(p.a_zp) && is_i8(p.b_zp) && p.left_shift <= 30 && p.lo <= p.hi;
    let Some((a, b, swapped)) = order(a, b, n).filter(|_| simple && n > 0) else {
        return r::add(p, a, b, y);
    };
    // The sum of the two scaled inputs is symmetric: swapping the operands and their
    // parameters gives the same bits.
    let q =
        if swapped { AddParams { a_zp: p.b_zp, b_zp: p.a_zp, a_mult: p.b_mult, b_mult: p.a_mult, ..*p } } else { *p };
    let done = with_q8!(cpu, k => k.add(&q, a, b, y));
    let bt = if b.len() == 1 { b } else { &b[done..] };
    r::add(&q, &a[done..], bt, &mut y[done..]);
}

/// Element-wise int8 Mul (a length-1 operand broadcasts): equal to [`r::mul`] on every path.
pub fn mul(cpu: Cpu, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) {
    let n = y.len();
    let simple = is_i8(p.a_zp) && is_i8(p.b_zp) && p.lo <= p.hi;
    let Some((a, b, swapped)) = order(a, b, n).filter(|_| simple && n > 0) else {
        return r::mul(p, a, b, y);
    };
    let q = if swapped { MulParams { a_zp: p.b_zp, b_zp: p.a_zp, ..*p } } else { *p };
    let done = with_q8!(cpu, k => k.mul(&q, a, b, y));
    let bt = if b.len() == 1 { b } else { &b[done..] };
    r::mul(&q, &a[done..], bt, &mut y[done..]);
}
