//! [`gemm_par`]: the GEMM split into row panels (or, for one row, column panels) of C.

use super::Parallel;
use super::split::{Shared, part, task_count};
use crate::fast::activation::Activation;
use crate::fast::cpu::Cpu;
use crate::fast::gemm::{self, Bias, MR, NR, Operand, gemm_scratch_len};

/// [`gemm()`](crate::fast::gemm()) split into tasks on `par`: C's rows in panels of `MR` (each
/// task packs its own blocks of a strided operand into its scratch), or, when `m == 1`, C's
/// columns in panels of `NR`. Same arguments, panics and results (bit for bit) as `gemm`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_par(
    par: &dyn Parallel,
    cpu: Cpu,
    (m, n, k): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
    ldc: usize,
    bias: Bias<'_>,
    act: Activation,
    scratch: &mut [f32],
) {
    let work = m.saturating_mul(n).saturating_mul(k.max(1));
    let by_rows = m > MR;
    let (len, align) = if by_rows { (m, MR) } else { (n, NR) };
    let tasks = if by_rows || m == 1 { task_count(par, len.div_ceil(align), work) } else { 1 };
    if tasks <= 1 || ldc < n {
        return gemm::gemm(cpu, (m, n, k), a, b, c, ldc, bias, act, scratch);
    }
    let need = gemm_scratch_len(m, n, k, matches!(a, Operand::Packed(_)), matches!(b, Operand::Packed(_)));
    assert!(scratch.len() >= need, "gemm: scratch shorter than gemm_scratch_len");
    assert!(c.len() >= (m - 1) * ldc + n, "gemm: C shorter than (m - 1) * ldc + n");
    let out = Shared::new(c);
    par.run(tasks, &mut scratch[..need], &|t, s| {
        let r = part(len, align, tasks, t);
        if r.is_empty() {
            return;
        }
        if by_rows {
            let a_t = match a {
                Operand::Packed(p) => Operand::Packed(tail(p, r.start / MR * k * MR)),
                Operand::Strided { data, rs, cs } => Operand::Strided { data: tail(data, r.start * rs), rs, cs },
            };
            let bias_t = match bias {
                Bias::PerRow(v) => Bias::PerRow(&v[r.start..]),
                other => other,
            };
            // SAFETY: rows `r` of C; the row ranges of distinct tasks are disjoint.
            let c_t = unsafe { out.part(r.start * ldc..(r.end - 1) * ldc + n) };
            gemm::gemm(cpu, (r.len(), n, k), a_t, b, c_t, ldc, bias_t, act, s);
        } else {
            let b_t = match b {
                Operand::Packed(p) => Operand::Packed(tail(p, r.start / NR * k * NR)),
                Operand::Strided { data, rs, cs } => Operand::Strided { data: tail(data, r.start * cs), rs, cs },
            };
            let bias_t = match bias {
                Bias::PerCol(v) => Bias::PerCol(&v[r.start..]),
                other => other,
            };
            // SAFETY: columns `r` of C's only row; the ranges of distinct tasks are disjoint.
            let c_t = unsafe { out.part(r.clone()) };
            gemm::gemm(cpu, (1, r.len(), k), a, b_t, c_t, r.len(), bias_t, act, s);
        }
    });
}

/// `v[from..]`, empty past the end (an operand with `k == 0` holds nothing; one too short for
/// its part still fails `gemm`'s own checks).
fn tail(v: &[f32], from: usize) -> &[f32] {
    v.get(from..).unwrap_or(&[])
}
