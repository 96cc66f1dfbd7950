//! Fully connected layers at batch 1: a 1x1 convolution over one or two rows of activations
//! (`n * h * w <= 2`) runs as matrix-vector products where the path has a kernel for them
//! (AVX-512 VNNI), from the same packed weights as [`super::conv2d`]'s GEMM, with the same bits.

use crate::fast::Cpu;
use crate::fast::cpu::Q8Path;
use crate::reference::int8::{Conv2d, Requant};

/// Rows of activations up to which the matrix-vector kernel beats the GEMM's 4-row tiles.
const MAX_ROWS: usize = 2;

/// Runs the convolution `g` as matrix-vector products if it is a fully connected layer this
/// path has a kernel for (`true`), else does nothing (`false`). Arguments as [`super::conv2d`].
pub(crate) fn try_gemv(
    cpu: Cpu,
    g: &Conv2d,
    x: &[i8],
    x_zp: i32,
    packed: &[u8],
    out: &Requant<'_>,
    y: &mut [i8],
) -> bool {
    let rows = g.n * g.h * g.w;
    let fc = !g.is_depthwise()
        && g.groups == 1
        && (g.kh, g.kw, g.sh, g.sw, g.pad_top, g.pad_left) == (1, 1, 1, 1, 0, 0)
        && (g.oh, g.ow) == (g.h, g.w)
        && rows <= MAX_ROWS
        && (-128..=127).contains(&x_zp)
        && out.lo <= out.hi;
    if !fc || cpu.q8() != Q8Path::Avx512Vnni {
        return false;
    }
    gemv_rows(cpu, g, rows, x, x_zp, packed, out, y)
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn gemv_rows(
    cpu: Cpu,
    g: &Conv2d,
    rows: usize,
    x: &[i8],
    x_zp: i32,
    packed: &[u8],
    out: &Requant<'_>,
    y: &mut [i8],
) -> bool {
    use crate::arch::x86_64::int8::VnniQ8;
    use crate::fast::int8::kernels::Rq;
    let (c, m) = (g.c, g.m);
    let rq =
        Rq { cb: &out.bias[..m], mult: &out.mult[..m], shift: &out.shift[..m], zp: out.zp, lo: out.lo, hi: out.hi };
    for r in 0..rows {
        let yr = &mut y[r * m..][..m];
        crate::arch::x86_64::int8_gemv::gemv(VnniQ8::new(cpu), &x[r * c..][..c], x_zp, packed, m, &rq, yr);
    }
    true
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
fn gemv_rows(_: Cpu, _: &Conv2d, _: usize, _: &[i8], _: i32, _: &[u8], _: &Requant<'_>, _: &mut [i8]) -> bool {
    false
}
