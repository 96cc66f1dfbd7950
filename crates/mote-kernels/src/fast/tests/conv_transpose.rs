use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

use super::par::{Threads, bits};
use super::util::{act_ref, activation, assert_close, values};
use crate::fast::{
    Activation, Conv2d, Cpu, conv_transpose_pack_weights, conv_transpose_pack_weights_len, conv_transpose_validate,
    conv_transpose2d, conv_transpose2d_par, conv_transpose2d_scratch_len,
};
use crate::reference::nn::Spatial;
use crate::reference::nn::conv::{Channels, conv_transpose};

fn reference(g: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let ch = Channels { batch: g.batch, in_channels: g.in_channels, out_channels: g.out_channels, group: g.group };
    let s = Spatial {
        input: [1, g.input[0], g.input[1]],
        output: [1, g.output[0], g.output[1]],
        kernel: [1, g.kernel[0], g.kernel[1]],
        strides: [1, g.strides[0], g.strides[1]],
        dilations: [1, g.dilations[0], g.dilations[1]],
        pads: [0, g.pads[0] as isize, g.pads[1] as isize],
    };
    conv_transpose(&ch, &s, x, w, bias, y);
}

fn run_case(g: Conv2d, with_bias: bool, act: Activation, seed: u64) {
    conv_transpose_validate(&g).expect("test geometry is valid");
    let kv = g.kernel[0] * g.kernel[1];
    let x = values(seed, g.batch * g.in_channels * g.in_plane());
    let w = values(seed ^ 1, g.in_channels * g.out_channels / g.group * kv);
    let b = values(seed ^ 2, g.out_channels);
    let bias = with_bias.then_some(&b[..]);
    let mut want = vec![0.0f32; g.batch * g.out_channels * g.out_plane()];
    reference(&g, &x, &w, bias, &mut want);
    let abs = |v: &[f32]| -> Vec<f32> { v.iter().map(|v| v.abs()).collect() };
    let (xa, wa, ba) = (abs(&x), abs(&w), abs(&b));
    let mut scale = vec![0.0f32; want.len()];
    reference(&g, &xa, &wa, with_bias.then_some(&ba[..]), &mut scale);
    for v in &mut want {
        *v = act_ref(act, *v);
    }
    let mut packed = vec![f32::NAN; conv_transpose_pack_weights_len(&g)];
    conv_transpose_pack_weights(&g, &w, &mut packed);
    let rtol = 2.5e-7 * ((g.in_channels / g.group * kv) as f32 + 4.0);
    for cpu in Cpu::available() {
        let mut scratch = vec![f32::NAN; conv_transpose2d_scratch_len(&g)];
        let mut y = vec![f32::NAN; want.len()];
        conv_transpose2d(cpu, &g, &x, &packed, bias, act, &mut y, &mut scratch);
        assert_close(&format!("conv_transpose2d {:?} {g:?} {act:?}", cpu.isa()), &y, &want, &scale, rtol);
        // Split over threads (every split taken): the same bits.
        for threads in [2, 3] {
            let par = Threads::new(threads);
            let mut y2 = vec![f32::NAN; want.len()];
            let mut scratch = vec![f32::NAN; conv_transpose2d_scratch_len(&g)];
            conv_transpose2d_par(&par, cpu, &g, &x, &packed, bias, act, &mut y2, &mut scratch);
            assert_eq!(bits(&y2), bits(&y), "conv_transpose2d_par {threads} threads {:?} {g:?}", cpu.isa());
            par.check_once();
        }
    }
}

/// Output length of one axis: the full extent minus the pads plus output padding `extra`.
fn out_len(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize, extra: usize) -> usize {
    if input == 0 {
        return extra;
    }
    ((input - 1) * s + (k - 1) * d + 1 + extra).saturating_sub(pb + pe)
}

/// Random valid geometries: small channel counts and planes (including empty ones), kernels
/// 1..4, strides 1..3, dilations 1..2, padding 0..2 at each end, output padding 0..2, groups
/// 1..3.
fn geometry() -> impl Strategy<Value = Conv2d> {
    (
        (0usize..=2, 1usize..=3, 1usize..=5, 1usize..=7),
        (0usize..=9, 0usize..=11, 1usize..=4, 1usize..=4),
        (1usize..=3, 1usize..=3, 1usize..=2, 1usize..=2),
        ((0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2), (0usize..=2, 0usize..=2)),
    )
        .prop_map(|((n, grp, cg, mg), (h, w, kh, kw), (sh, sw, dh, dw), ((ph, pw, eh, ew), (xh, xw)))| Conv2d {
            batch: n,
            in_channels: grp * cg,
            out_channels: grp * mg,
            group: grp,
            input: [h, w],
            output: [out_len(h, kh, sh, dh, ph, eh, xh), out_len(w, kw, sw, dw, pw, ew, xw)],
            kernel: [kh, kw],
            strides: [sh, sw],
            dilations: [dh, dw],
            pads: [ph, pw],
        })
}

/// Kernel = stride, no padding: the exactly tiling fast case.
fn tiling(c: usize, m: usize, h: usize, w: usize, k: [usize; 2], group: usize) -> Conv2d {
    Conv2d {
        batch: 1,
        in_channels: c,
        out_channels: m,
        group,
        input: [h, w],
        output: [h * k[0], w * k[1]],
        kernel: k,
        strides: k,
        dilations: [1, 1],
        pads: [0, 0],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn conv_transpose2d_matches_reference(g in geometry(), bias in any::<bool>(), act in activation(), seed in any::<u64>()) {
        run_case(g, bias, act, seed);
    }

    #[test]
    fn tiling_conv_transpose2d_matches_reference(
        (grp, cg, mg) in (1usize..=2, 1usize..=20, 1usize..=9),
        (h, w, kh, kw) in (1usize..=9, 1usize..=19, 1usize..=3, 1usize..=3),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        run_case(tiling(grp * cg, grp * mg, h, w, [kh, kw], grp), bias, act, seed);
    }
}

#[test]
fn conv_transpose2d_large_layers() {
    // Several bands of input rows, K beyond one K block, M beyond one M block (a detection
    // head's 2x2 stride-2 upsampling, and an overlapping 4x4 stride-2 one).
    run_case(tiling(96, 24, 40, 48, [2, 2], 1), true, Activation::Relu, 5);
    run_case(tiling(300, 50, 7, 9, [2, 2], 1), false, Activation::None, 6);
    let mut g = tiling(24, 40, 33, 35, [4, 4], 1);
    g.strides = [2, 2];
    g.pads = [1, 1];
    g.output = [66, 70];
    run_case(g, true, Activation::Sigmoid, 7);
}
