//! The `*_par` kernels on real threads against the single-threaded kernels: bit-identical for
//! 2 and 3 threads, every task run once; and the split helpers cover every output exactly once.

use proptest::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec;
use std::vec::Vec;

use super::conv::geometry;
use super::util::{activation, dim, values};
use crate::fast::par::{DEFAULT_GRAIN, TASKS_PER_THREAD, for_each_part, part, task_count};
use crate::fast::{
    Activation, Bias, BinaryOp, Conv2d, Cpu, Operand, Parallel, Pool2d, PoolKind, Rhs, Sequential, binary,
    binary_in_place, binary_par, conv_pack_weights, conv_pack_weights_len, conv2d, conv2d_par, conv2d_scratch_len,
    depthwise2d, depthwise2d_par, depthwise2d_scratch_len, gemm, gemm_par, gemm_scratch_len, global_avg_pool,
    global_avg_pool_par, pack_a, pack_a_len, pack_b, pack_b_len, pool2d, pool2d_par, pool2d_scratch_len,
};

/// Runs the tasks on `threads` scoped threads, each claiming indices from a shared counter
/// (so the assignment of tasks to threads varies), every thread with its own NaN-filled scratch;
/// splits everything (grain 1) and records how often each index ran.
pub(super) struct Threads {
    threads: usize,
    runs: Mutex<Vec<usize>>,
}

impl Threads {
    pub(super) fn new(threads: usize) -> Threads {
        Threads { threads, runs: Mutex::new(Vec::new()) }
    }

    /// Asserts every task of every run so far ran exactly once.
    pub(super) fn check_once(&self) {
        let runs = self.runs.lock().unwrap();
        assert!(runs.iter().all(|&c| c == 1), "task run counts {runs:?}");
    }
}

// SAFETY: every index is claimed once from the counter; the scope joins every thread before
// `run` returns; each thread has its own scratch of `local.len()` floats (the caller's is `local`).
unsafe impl Parallel for Threads {
    fn threads(&self) -> usize {
        self.threads
    }

    fn grain(&self) -> usize {
        1
    }

    fn run(&self, n_tasks: usize, local: &mut [f32], task: &(dyn Fn(usize, &mut [f32]) + Sync)) {
        let next = AtomicUsize::new(0);
        let counts: Vec<AtomicUsize> = (0..n_tasks).map(|_| AtomicUsize::new(0)).collect();
        let work = |scratch: &mut [f32]| {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n_tasks {
                    break;
                }
                counts[i].fetch_add(1, Ordering::Relaxed);
                task(i, scratch);
            }
        };
        let len = local.len();
        std::thread::scope(|s| {
            for _ in 1..self.threads {
                s.spawn(|| work(&mut vec![f32::NAN; len]));
            }
            work(local);
        });
        self.runs.lock().unwrap().extend(counts.iter().map(|c| c.load(Ordering::Relaxed)));
    }
}

pub(super) fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn parts_cover_every_index_once_in_aligned_blocks(
        len in 0usize..2000,
        align in 0usize..40,
        parts in 0usize..9,
    ) {
        let mut next = 0;
        for i in 0..parts.max(1) + 2 {
            let r = part(len, align, parts, i);
            prop_assert_eq!(r.start, next, "part {} starts where the previous ended", i);
            prop_assert!(r.start <= r.end && r.end <= len);
            if r.end < len {
                prop_assert!(r.end.is_multiple_of(align.max(1)), "bound {} not aligned", r.end);
            }
            if i >= parts.max(1) {
                prop_assert!(r.is_empty());
            }
            next = r.end;
        }
        prop_assert_eq!(next, len);
        // Balanced: part sizes in blocks differ by at most one.
        let blocks: Vec<usize> =
            (0..parts.max(1)).map(|i| part(len, align, parts, i).len().div_ceil(align.max(1))).collect();
        let (lo, hi) = (blocks.iter().min().unwrap(), blocks.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "{:?}", blocks);
    }
}

#[test]
fn task_count_respects_threads_blocks_and_grain() {
    let t = Threads::new(3);
    assert_eq!(task_count(&t, 10, 100), 3 * TASKS_PER_THREAD);
    assert_eq!(task_count(&t, 2, 100), 2);
    assert_eq!(task_count(&t, 0, 100), 1);
    assert_eq!(task_count(&Sequential, 10, usize::MAX), 1);
    struct Coarse;
    // SAFETY: delegates to Sequential.
    unsafe impl Parallel for Coarse {
        fn threads(&self) -> usize {
            4
        }
        fn run(&self, n: usize, local: &mut [f32], task: &(dyn Fn(usize, &mut [f32]) + Sync)) {
            Sequential.run(n, local, task)
        }
    }
    assert_eq!(task_count(&Coarse, 100, DEFAULT_GRAIN * 2), 2);
    assert_eq!(task_count(&Coarse, 100, usize::MAX), 4 * TASKS_PER_THREAD);
    assert_eq!(task_count(&Coarse, 100, DEFAULT_GRAIN - 1), 1);
}

#[derive(Clone, Copy, Debug)]
struct GemmCase {
    m: usize,
    n: usize,
    k: usize,
    a_trans: bool,
    a_packed: bool,
    b_packed: bool,
    ldc_pad: usize,
    bias: u8,
    act: Activation,
    seed: u64,
}

fn gemm_case(c: GemmCase) {
    let GemmCase { m, n, k, .. } = c;
    let a = values(c.seed, m * k);
    let b = values(c.seed ^ 1, k * n);
    let bias = values(c.seed ^ 2, m.max(n));
    let (a_rs, a_cs) = if c.a_trans { (1, m) } else { (k, 1) };
    let mut pa = vec![f32::NAN; pack_a_len(m, k)];
    pack_a(m, k, &a, a_rs, a_cs, &mut pa);
    let mut pb = vec![f32::NAN; pack_b_len(k, n)];
    pack_b(k, n, &b, n, 1, &mut pb);
    let a_op = if c.a_packed { Operand::Packed(&pa) } else { Operand::Strided { data: &a, rs: a_rs, cs: a_cs } };
    let b_op = if c.b_packed { Operand::Packed(&pb) } else { Operand::row_major(&b, n) };
    let bias_arg = match c.bias {
        0 => Bias::None,
        1 => Bias::PerRow(&bias[..m]),
        _ => Bias::PerCol(&bias[..n]),
    };
    let ldc = n + c.ldc_pad;
    let len = gemm_scratch_len(m, n, k, c.a_packed, c.b_packed);
    for cpu in Cpu::available() {
        let mut want = vec![f32::NAN; m * ldc];
        gemm(cpu, (m, n, k), a_op, b_op, &mut want, ldc, bias_arg, c.act, &mut vec![f32::NAN; len]);
        for threads in [2, 3] {
            let par = Threads::new(threads);
            let mut got = vec![f32::NAN; m * ldc];
            gemm_par(&par, cpu, (m, n, k), a_op, b_op, &mut got, ldc, bias_arg, c.act, &mut vec![f32::NAN; len]);
            assert_eq!(bits(&got), bits(&want), "gemm_par {threads} threads {:?} {c:?}", cpu.isa());
            par.check_once();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn gemm_par_is_bit_identical(
        (m, n, k) in (prop_oneof![dim(40), 60usize..160], prop_oneof![dim(40), 200usize..700], dim(300)),
        (a_trans, a_packed, b_packed, ldc_pad) in (any::<bool>(), any::<bool>(), any::<bool>(), 0usize..3),
        (bias, act, seed) in (0u8..3, activation(), any::<u64>()),
    ) {
        gemm_case(GemmCase { m, n, k, a_trans, a_packed, b_packed, ldc_pad, bias, act, seed });
    }
}

#[test]
fn gemm_par_one_row_splits_columns() {
    // An FC layer: m = 1, columns split in NR panels, B packed or in place, k across blocks.
    for (n, k, b_packed) in [(1000, 1280, true), (1000, 300, false), (33, 7, true), (16, 1, false)] {
        let c = GemmCase {
            m: 1,
            n,
            k,
            a_trans: false,
            a_packed: false,
            b_packed,
            ldc_pad: 0,
            bias: 2,
            act: Activation::Relu,
            seed: 3,
        };
        gemm_case(c);
    }
}

fn conv_case(g: &Conv2d, bias: bool, act: Activation, seed: u64) {
    let x = values(seed, g.batch * g.in_channels * g.in_plane());
    let w = values(seed ^ 1, g.out_channels * g.k());
    let b = values(seed ^ 2, g.out_channels);
    let b = bias.then_some(&b[..]);
    let y_len = g.batch * g.out_channels * g.out_plane();
    for cpu in Cpu::available() {
        let (mut want, mut got) = (vec![f32::NAN; y_len], vec![f32::NAN; y_len]);
        if g.is_depthwise() {
            let len = depthwise2d_scratch_len(g);
            depthwise2d(cpu, g, &x, &w, b, act, &mut want, &mut vec![f32::NAN; len]);
            for threads in [2, 3] {
                let par = Threads::new(threads);
                depthwise2d_par(&par, cpu, g, &x, &w, b, act, &mut got, &mut vec![f32::NAN; len]);
                assert_eq!(bits(&got), bits(&want), "depthwise2d_par {threads} threads {:?} {g:?}", cpu.isa());
                par.check_once();
            }
        }
        let mut packed = vec![f32::NAN; conv_pack_weights_len(g)];
        conv_pack_weights(g, &w, &mut packed);
        let len = conv2d_scratch_len(g);
        conv2d(cpu, g, &x, &packed, b, act, &mut want, &mut vec![f32::NAN; len]);
        for threads in [2, 3] {
            let par = Threads::new(threads);
            conv2d_par(&par, cpu, g, &x, &packed, b, act, &mut got, &mut vec![f32::NAN; len]);
            assert_eq!(bits(&got), bits(&want), "conv2d_par {threads} threads {:?} {g:?}", cpu.isa());
            par.check_once();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn conv2d_par_is_bit_identical(g in geometry(5, 20), bias in any::<bool>(), act in activation(), seed in any::<u64>()) {
        conv_case(&g, bias, act, seed);
    }

    #[test]
    fn depthwise2d_par_is_bit_identical(
        (n, c, h, w) in (1usize..=2, 1usize..=7, 1usize..=12, 1usize..=40),
        (k, s, p) in (prop_oneof![Just(3usize), Just(5usize), 1usize..=4], 1usize..=2, 0usize..=2),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let out = |i: usize| (i + 2 * p).checked_sub(k).map(|v| v / s + 1);
        if let (Some(oh), Some(ow)) = (out(h), out(w)) {
            let g = Conv2d {
                batch: n, in_channels: c, out_channels: c, group: c, input: [h, w], output: [oh, ow],
                kernel: [k, k], strides: [s, s], dilations: [1, 1], pads: [p, p],
            };
            conv_case(&g, bias, act, seed);
        }
    }
}

#[test]
fn conv2d_par_effnet_like_layers() {
    // Stem (3x3 s2), pointwise with few and many output channels, a deep 3x3 (K blocks).
    let layer = |c: usize, m: usize, hw: usize, k: usize, s: usize| {
        let p = (k - 1) / 2;
        let o = (hw + 2 * p - k) / s + 1;
        Conv2d {
            batch: 1,
            in_channels: c,
            out_channels: m,
            group: 1,
            input: [hw, hw],
            output: [o, o],
            kernel: [k, k],
            strides: [s, s],
            dilations: [1, 1],
            pads: [p, p],
        }
    };
    for g in [layer(3, 32, 33, 3, 2), layer(32, 16, 20, 1, 1), layer(16, 96, 20, 1, 1), layer(64, 40, 9, 3, 1)] {
        conv_case(&g, true, Activation::Clip { lo: 0.0, hi: 6.0 }, 11);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn pool2d_par_is_bit_identical(
        (planes, h, w) in (0usize..=7, 1usize..=12, 1usize..=30),
        (k, s, p) in (1usize..=3, 1usize..=2, 0usize..=1),
        max in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let out = |i: usize| (i + 2 * p).checked_sub(k).map(|v| v / s + 1);
        let (Some(oh), Some(ow)) = (out(h), out(w)) else { return Ok(()) };
        if p >= k {
            return Ok(());
        }
        let g = Pool2d {
            planes, input: [h, w], output: [oh, ow], kernel: [k, k], strides: [s, s], dilations: [1, 1],
            pads: [p, p], pads_end: [p, p],
        };
        let kind = if max { PoolKind::Max } else { PoolKind::Avg { count_include_pad: false } };
        let x = values(seed, planes * h * w);
        let len = pool2d_scratch_len(&g);
        for cpu in Cpu::available() {
            let (mut want, mut got) = (vec![f32::NAN; planes * oh * ow], vec![f32::NAN; planes * oh * ow]);
            pool2d(cpu, kind, &g, &x, &mut want, &mut vec![f32::NAN; len]);
            let par = Threads::new(2);
            pool2d_par(&par, cpu, kind, &g, &x, &mut got, &mut vec![f32::NAN; len]);
            prop_assert_eq!(bits(&got), bits(&want), "{:?}", g);
            par.check_once();
            let (mut want, mut got) = (vec![f32::NAN; planes], vec![f32::NAN; planes]);
            global_avg_pool(cpu, planes, h * w, &x, &mut want);
            global_avg_pool_par(&par, cpu, planes, h * w, &x, &mut got);
            prop_assert_eq!(bits(&got), bits(&want));
            par.check_once();
        }
    }

    #[test]
    fn binary_par_is_bit_identical(
        (planes, plane, channels) in (0usize..=9, dim(150), 1usize..=4),
        form in 0u8..3,
        in_place in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let planes = planes.div_ceil(channels) * channels;
        let n = planes * plane;
        let (a, b) = (values(seed, n), values(seed ^ 1, n.max(channels)));
        let rhs = match form {
            0 => Rhs::Same(&b[..n]),
            1 => Rhs::Scalar(b[0]),
            _ => Rhs::PerChannel { values: &b[..channels], plane },
        };
        for cpu in Cpu::available() {
            for op in [BinaryOp::Add, BinaryOp::RevDiv] {
                let init = if in_place { a.clone() } else { vec![f32::NAN; n] };
                let mut want = init.clone();
                if in_place {
                    binary_in_place(cpu, op, &mut want, rhs, act);
                } else {
                    binary(cpu, op, &a, rhs, act, &mut want);
                }
                for threads in [2, 3] {
                    let par = Threads::new(threads);
                    let mut g2 = init.clone();
                    binary_par(&par, cpu, op, (!in_place).then_some(&a[..]), rhs, act, &mut g2);
                    prop_assert_eq!(bits(&g2), bits(&want), "{} threads {:?} {:?}", threads, op, cpu.isa());
                    par.check_once();
                }
            }
        }
    }
}

#[test]
fn sequential_runs_every_task_in_order_with_the_local_scratch() {
    let seen = Mutex::new(Vec::new());
    let mut local = [1.0f32; 3];
    Sequential.run(4, &mut local, &|i, s| {
        assert_eq!(s.len(), 3);
        s[0] += 1.0;
        seen.lock().unwrap().push(i);
    });
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(local[0], 5.0, "{local:?}");
}

#[test]
fn for_each_part_hands_out_disjoint_whole_units() {
    for (units, unit, align) in [(0, 3, 1), (1, 5, 1), (7, 3, 1), (10, 4, 3), (64, 1, 8)] {
        let mut out = vec![0.0f32; units * unit];
        let par = Threads::new(3);
        for_each_part(&par, &mut out, units, align, usize::MAX, &mut [], &|r, p, _| {
            assert_eq!(p.len(), r.len() * unit);
            assert!(r.start.is_multiple_of(align));
            for (k, v) in p.iter_mut().enumerate() {
                *v += (r.start * unit + k) as f32 + 1.0;
            }
        });
        let want: Vec<f32> = (0..units * unit).map(|i| i as f32 + 1.0).collect();
        assert_eq!(out, want, "{units} units of {unit}");
        par.check_once();
    }
}

/// `blocked_conv2d_par` against `blocked_conv2d` (the blocked layout: inputs and weights are
/// just values here; the split is what is tested).
fn blocked_case(g: &Conv2d, seed: u64) {
    use crate::fast::{blocked_conv2d, blocked_conv2d_par, blocked_conv2d_scratch_len, blocked_pack_weights_len};
    let x = values(seed, g.batch * g.in_channels * g.in_plane());
    let w = values(seed ^ 1, blocked_pack_weights_len(g));
    let b = values(seed ^ 2, g.out_channels);
    let (act, len, y_len) = (Activation::Relu, blocked_conv2d_scratch_len(g), g.batch * g.out_channels * g.out_plane());
    for cpu in Cpu::available() {
        let (mut want, mut got) = (vec![f32::NAN; y_len], vec![f32::NAN; y_len]);
        blocked_conv2d(cpu, g, &x, &w, Some(&b), act, &mut want, &mut vec![f32::NAN; len]);
        for threads in [2, 3] {
            let par = Threads::new(threads);
            blocked_conv2d_par(&par, cpu, g, &x, &w, Some(&b), act, &mut got, &mut vec![f32::NAN; len]);
            assert_eq!(bits(&got), bits(&want), "blocked_conv2d_par {threads} threads {:?} {g:?}", cpu.isa());
            par.check_once();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]
    #[test]
    fn blocked_conv2d_par_is_bit_identical(
        (n, cb, mb, hw) in (1usize..=2, 1usize..=6, 1usize..=7, 1usize..=14),
        (k, s, kind) in (prop_oneof![Just(3usize), Just(5usize)], 1usize..=2, 0u8..3),
        seed in any::<u64>(),
    ) {
        let (c, p, depthwise) = (cb * 8, (k - 1) / 2, kind == 0);
        let g = if kind == 2 {
            // Stem: a few NCHW input channels.
            let o = (hw + 2 * p).saturating_sub(k) / s + 1;
            Conv2d { batch: 1, in_channels: cb.min(4), out_channels: mb * 8, group: 1, input: [hw, hw], output: [o, o],
                     kernel: [k, k], strides: [s, s], dilations: [1, 1], pads: [p, p] }
        } else if depthwise {
            let o = (hw + 2 * p).saturating_sub(k) / s + 1;
            Conv2d { batch: n, in_channels: c, out_channels: c, group: c, input: [hw, hw], output: [o, o],
                     kernel: [k, k], strides: [s, s], dilations: [1, 1], pads: [p, p] }
        } else {
            Conv2d { batch: 1, in_channels: c, out_channels: mb * 8, group: 1, input: [hw, hw], output: [hw, hw],
                     kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0] }
        };
        if hw + 2 * p >= k {
            blocked_case(&g, seed);
        }
    }
}
