//! The integer GEMM against the reference `gemm_i32` / `conv_i32`: random shapes (across the
//! register tile, panel and column-block edges), u8 and i8 operands, values and zero points at
//! the ends of their ranges, B plain, transposed, packed, or the im2col view of an image.

use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use crate::fast::qgemm::{Im2col, Packed, Plain, QElem, qgemm, qgemm_scratch_len, qpack_b, qpack_b_len};
use crate::reference::quant::{ConvAxis, conv_i32, gemm_i32};

/// Deterministic bytes from a seed, with the range ends frequent.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            match s % 8 {
                0 => 0,
                1 => 255,
                2 => 127,
                3 => 128,
                _ => (s >> 24) as u8,
            }
        })
        .collect()
}

fn widen<T: QElem>(v: &[T]) -> Vec<i32> {
    v.iter().map(|x| x.widen()).collect()
}

/// `C` through the kernel, gathered into a dense `m x n` matrix.
fn run<A: QElem>(m: usize, n: usize, k: usize, a: &[A], za: &[i32], b: &impl crate::fast::qgemm::BSource) -> Vec<i32> {
    let mut c = vec![i32::MIN; m * n];
    let mut seen = vec![0u8; m * n];
    let mut scratch = vec![0i16; qgemm_scratch_len(k, n)];
    qgemm(
        m,
        n,
        k,
        a,
        |i| za[i],
        b,
        &mut scratch,
        |i, j0, v| {
            for (d, &x) in v.iter().enumerate() {
                c[i * n + j0 + d] = x;
                seen[i * n + j0 + d] += 1;
            }
        },
    );
    assert!(seen.iter().all(|&s| s == 1), "every element stored once");
    c
}

fn check<A: QElem, B: QElem>(m: usize, n: usize, k: usize, seed: u64, per_row: bool, per_col: bool) {
    let a: Vec<A> = bytes(seed, m * k).into_iter().map(A::from_bits).collect();
    let b: Vec<B> = bytes(seed ^ 0x55, k * n).into_iter().map(B::from_bits).collect();
    let zs = bytes(seed ^ 0xaa, m + n + 2);
    let za: Vec<i32> = (0..m).map(|i| A::from_bits(zs[if per_row { i } else { m + n }]).widen()).collect();
    let zb: Vec<i32> = (0..n).map(|j| B::from_bits(zs[if per_col { m + j } else { m + n + 1 }]).widen()).collect();
    // The reference on zero-point-corrected values.
    let ai: Vec<i32> = widen(&a).iter().enumerate().map(|(x, &v)| v - za[x / k.max(1)]).collect();
    let bi: Vec<i32> = widen(&b).iter().enumerate().map(|(x, &v)| v - zb[x % n.max(1)]).collect();
    let mut want = vec![0i32; m * n];
    gemm_i32(&ai, &bi, m, k, n, &mut want);

    let plain = Plain { data: &b, rs: n, cs: 1, zb: |j: usize| zb[j] };
    assert_eq!(run(m, n, k, &a, &za, &plain), want, "plain B");
    // The same B stored transposed.
    let bt: Vec<B> = (0..n * k).map(|x| b[(x % k) * n + x / k]).collect();
    let trans = Plain { data: &bt, rs: 1, cs: k, zb: |j: usize| zb[j] };
    assert_eq!(run(m, n, k, &a, &za, &trans), want, "transposed B");
    let mut packed = vec![0u8; qpack_b_len(k, n)];
    qpack_b(&b, k, n, n, 1, &mut packed);
    let pb = Packed::<B, _> { data: &packed, zb: |j: usize| zb[j], _elem: core::marker::PhantomData };
    assert_eq!(run(m, n, k, &a, &za, &pb), want, "packed B");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn qgemm_matches_the_reference(
        m in 0usize..11, n in 0usize..300, k in 0usize..40, seed in any::<u64>(),
        per_row in any::<bool>(), per_col in any::<bool>(), kinds in 0u8..4,
    ) {
        match kinds {
            0 => check::<u8, u8>(m, n, k, seed, per_row, per_col),
            1 => check::<u8, i8>(m, n, k, seed, per_row, per_col),
            2 => check::<i8, u8>(m, n, k, seed, per_row, per_col),
            _ => check::<i8, i8>(m, n, k, seed, per_row, per_col),
        }
    }

    #[test]
    fn im2col_qgemm_matches_the_reference_conv(
        c in 1usize..4, mo in 1usize..6, rank in 1usize..4, size in 1usize..9, kernel in 1usize..4,
        stride in 1usize..3, dilation in 1usize..3, pad in 0isize..3, seed in any::<u64>(), signed in any::<bool>(),
    ) {
        let span = (kernel - 1) * dilation + 1;
        prop_assume!(size as isize + 2 * pad >= span as isize);
        let out = (size as isize + 2 * pad - span as isize) as usize / stride + 1;
        let unit = ConvAxis { input: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0, output: 1 };
        let ax = ConvAxis { input: size, kernel, stride, dilation, pad_begin: pad, output: out };
        let mut axes = [unit; 3];
        for a in axes.iter_mut().skip(3 - rank) {
            *a = ax;
        }
        let plane = size.pow(rank as u32);
        let kvol = kernel.pow(rank as u32);
        let xb = bytes(seed, c * plane);
        let wb = bytes(seed ^ 3, mo * c * kvol);
        let zs = bytes(seed ^ 9, mo + 1);
        let xz = if signed { zs[mo] as i8 as i32 } else { zs[mo] as i32 };
        let wz: Vec<i32> = zs[..mo].iter().map(|&z| z as i8 as i32).collect();
        let w: Vec<i8> = wb.iter().map(|&v| v as i8).collect();
        let wi: Vec<i32> = w.iter().enumerate().map(|(i, &v)| v as i32 - wz[i / (c * kvol)]).collect();
        let (xi, got) = if signed {
            let x: Vec<i8> = xb.iter().map(|&v| v as i8).collect();
            let src = Im2col { x: &x, channels: c, axes, zp: xz };
            let got = run(mo, src.cols(), src.rows(), &w, &wz, &src);
            (x.iter().map(|&v| v as i32 - xz).collect::<Vec<_>>(), got)
        } else {
            let src = Im2col { x: &xb, channels: c, axes, zp: xz };
            let got = run(mo, src.cols(), src.rows(), &w, &wz, &src);
            (xb.iter().map(|&v| v as i32 - xz).collect::<Vec<_>>(), got)
        };
        let mut want = vec![0i32; mo * out.pow(rank as u32)];
        conv_i32(&xi, &wi, None, c, mo, 1, axes, &mut want);
        prop_assert_eq!(got, want);
    }
}
