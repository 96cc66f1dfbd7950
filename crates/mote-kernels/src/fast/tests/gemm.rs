use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

use super::util::{act_ref, activation, assert_close, dim, values};
use crate::fast::{Activation, Bias, Cpu, Operand, gemm, gemm_scratch_len, pack_a, pack_a_len, pack_b, pack_b_len};
use crate::reference::nn::gemm::matmul_acc;

#[derive(Clone, Copy, Debug)]
enum BiasKind {
    None,
    Row,
    Col,
}

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    a_trans: bool,
    b_trans: bool,
    a_packed: bool,
    b_packed: bool,
    ldc_pad: usize,
    bias: BiasKind,
    act: Activation,
    seed: u64,
}

fn run_case(c: Case) {
    let Case { m, n, k, .. } = c;
    let a = values(c.seed, m * k);
    let b = values(c.seed ^ 1, k * n);
    let bias = values(c.seed ^ 2, m.max(n));
    // Oracle: reference product (row-major), then bias and activation in f64.
    let mut want = vec![0.0f32; m * n];
    matmul_acc(m, k, n, &a, (k, 1), &b, (n, 1), &mut want);
    let mut scale = vec![0.0f32; m * n];
    let (aa, ba): (Vec<f32>, Vec<f32>) = (a.iter().map(|v| v.abs()).collect(), b.iter().map(|v| v.abs()).collect());
    matmul_acc(m, k, n, &aa, (k, 1), &ba, (n, 1), &mut scale);
    for i in 0..m {
        for j in 0..n {
            let bv = match c.bias {
                BiasKind::None => 0.0,
                BiasKind::Row => bias[i],
                BiasKind::Col => bias[j],
            };
            want[i * n + j] = act_ref(c.act, want[i * n + j] + bv);
            scale[i * n + j] += bv.abs();
        }
    }
    // Operands as the case asks: transposed copies are read through strides.
    let a_t: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
    let b_t: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
    let (a_src, a_rs, a_cs) = if c.a_trans { (&a_t, 1, m) } else { (&a, k, 1) };
    let (b_src, b_rs, b_cs) = if c.b_trans { (&b_t, 1, k) } else { (&b, n, 1) };
    let mut pa = vec![f32::NAN; pack_a_len(m, k)];
    pack_a(m, k, a_src, a_rs, a_cs, &mut pa);
    let mut pb = vec![f32::NAN; pack_b_len(k, n)];
    pack_b(k, n, b_src, b_rs, b_cs, &mut pb);
    let a_op = if c.a_packed { Operand::Packed(&pa) } else { Operand::Strided { data: a_src, rs: a_rs, cs: a_cs } };
    let b_op = if c.b_packed { Operand::Packed(&pb) } else { Operand::Strided { data: b_src, rs: b_rs, cs: b_cs } };
    let bias_arg = match c.bias {
        BiasKind::None => Bias::None,
        BiasKind::Row => Bias::PerRow(&bias[..m]),
        BiasKind::Col => Bias::PerCol(&bias[..n]),
    };
    let ldc = n + c.ldc_pad;
    let rtol = 2.5e-7 * (k as f32 + 4.0);
    for cpu in Cpu::available() {
        let mut scratch = vec![f32::NAN; gemm_scratch_len(m, n, k, c.a_packed, c.b_packed)];
        let mut out = vec![f32::NAN; m * ldc];
        gemm(cpu, (m, n, k), a_op, b_op, &mut out, ldc, bias_arg, c.act, &mut scratch);
        let got: Vec<f32> = (0..m * n).map(|i| out[(i / n) * ldc + i % n]).collect();
        assert_close(&format!("gemm {:?} {c:?}", cpu.isa()), &got, &want, &scale, rtol);
        // The padding between rows is untouched.
        for i in 0..m {
            assert!(out[i * ldc + n..(i + 1) * ldc].iter().all(|v| v.is_nan()), "gemm wrote past n");
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        (dim(40), dim(40), dim(40)),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (
            0usize..3,
            prop::sample::select(vec![BiasKind::None, BiasKind::Row, BiasKind::Col]),
            activation(),
            any::<u64>(),
        ),
    )
        .prop_map(|((m, n, k), (a_trans, b_trans, a_packed, b_packed), (ldc_pad, bias, act, seed))| Case {
            m,
            n,
            k,
            a_trans,
            b_trans,
            a_packed,
            b_packed,
            ldc_pad,
            bias,
            act,
            seed,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn gemm_matches_reference(c in case()) {
        run_case(c);
    }
}

fn base(m: usize, n: usize, k: usize) -> Case {
    Case {
        m,
        n,
        k,
        a_trans: false,
        b_trans: false,
        a_packed: false,
        b_packed: false,
        ldc_pad: 1,
        bias: BiasKind::Row,
        act: Activation::Relu,
        seed: 7,
    }
}

#[test]
fn gemm_crosses_every_block_boundary() {
    // K > KC (accumulating K blocks), M > MC, N > NC, each with packed and strided operands.
    for (m, n, k) in [(150, 37, 300), (7, 4100, 3), (13, 20, 513), (145, 4097, 2)] {
        for (a_packed, b_packed) in [(false, false), (true, false), (false, true), (true, true)] {
            run_case(Case { a_packed, b_packed, ..base(m, n, k) });
        }
    }
}

#[test]
fn gemm_with_k_zero_stores_bias_and_activation() {
    for bias in [BiasKind::None, BiasKind::Row, BiasKind::Col] {
        run_case(Case { bias, act: Activation::Sigmoid, ..base(5, 9, 0) });
    }
}

#[test]
fn gemm_reads_b_in_place_only_when_rows_hold_a_panel() {
    // k = 1 with a transposed B gives a row-major B with row stride 1 (< NR): it must be packed.
    run_case(Case { b_trans: true, ..base(3, 20, 1) });
    // Row stride exactly NR, and B read in place with an edge panel and several K blocks.
    run_case(base(5, 16, 3));
    run_case(Case { bias: BiasKind::Col, ..base(48, 37, 600) });
    // k = 0: B is an empty slice, nothing may be read from it.
    run_case(Case { bias: BiasKind::Col, ..base(1, 32, 0) });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]
    /// One row against packed B (the `gemv` path) gives the bits the micro-kernel gives for
    /// that row of a two-row product.
    #[test]
    fn one_row_is_bit_identical_to_the_micro_kernel(
        (n, k) in (dim(90), dim(300)),
        bias in prop::sample::select(vec![BiasKind::None, BiasKind::Row, BiasKind::Col]),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let a = values(seed, 2 * k);
        let b = values(seed ^ 1, k * n);
        let bv = values(seed ^ 2, n.max(2));
        let mut pb = vec![0.0; pack_b_len(k, n)];
        pack_b(k, n, &b, n, 1, &mut pb);
        let bias_of = |m: usize| match bias {
            BiasKind::None => Bias::None,
            BiasKind::Row => Bias::PerRow(&bv[..m]),
            BiasKind::Col => Bias::PerCol(&bv[..n]),
        };
        for cpu in Cpu::available() {
            let mut two = vec![f32::NAN; 2 * n];
            let mut scratch = vec![0.0; gemm_scratch_len(2, n, k, false, true)];
            gemm(cpu, (2, n, k), Operand::row_major(&a, k), Operand::Packed(&pb), &mut two, n, bias_of(2), act, &mut scratch);
            let mut one = vec![f32::NAN; n];
            gemm(cpu, (1, n, k), Operand::row_major(&a[..k], k), Operand::Packed(&pb), &mut one, n, bias_of(1), act, &mut scratch);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&one), bits(&two[..n]), "{:?}", cpu.isa());
        }
    }
}
