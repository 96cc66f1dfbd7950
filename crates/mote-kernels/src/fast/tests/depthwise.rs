use proptest::prelude::*;
use std::format;
use std::vec;

use super::conv::{ConvCase, out_len, reference};
use super::util::{activation, assert_close, values};
use crate::fast::{Activation, Conv2d, Cpu, depthwise2d, depthwise2d_scratch_len};

fn run_case(c: ConvCase) {
    let g = &c.g;
    g.validate().expect("test geometry is valid");
    assert!(g.is_depthwise());
    let x = values(c.seed, g.batch * g.in_channels * g.in_plane());
    let w = values(c.seed ^ 1, g.out_channels * g.k());
    let bias = values(c.seed ^ 2, g.out_channels);
    let (want, scale) = reference(&c, &x, &w, &bias);
    let rtol = 2.5e-7 * (g.k() as f32 + 4.0);
    for cpu in Cpu::available() {
        let mut y = vec![f32::NAN; want.len()];
        let mut scratch = vec![f32::NAN; depthwise2d_scratch_len(g)];
        depthwise2d(cpu, g, &x, &w, c.bias.then_some(&bias[..]), c.act, &mut y, &mut scratch);
        assert_close(&format!("depthwise2d {:?} {c:?}", cpu.isa()), &y, &want, &scale, rtol);
    }
}

#[allow(clippy::too_many_arguments)]
fn dw(
    c: usize,
    h: usize,
    w: usize,
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    pb: [usize; 2],
    pe: [usize; 2],
) -> Option<Conv2d> {
    Some(Conv2d {
        batch: 1,
        in_channels: c,
        out_channels: c,
        group: c,
        input: [h, w],
        output: [out_len(h, k[0], s[0], d[0], pb[0], pe[0])?, out_len(w, k[1], s[1], d[1], pb[1], pe[1])?],
        kernel: k,
        strides: s,
        dilations: d,
        pads: pb,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn depthwise2d_matches_reference(
        (n, c, h, w) in (1usize..=2, 1usize..=4, 1usize..=12, 1usize..=150),
        (kh, kw, sh, sw) in (1usize..=7, prop_oneof![1usize..=7, Just(40usize)], 1usize..=3, prop_oneof![1usize..=2, 3usize..=6]),
        (dh, dw_, ph, pw) in (1usize..=2, prop_oneof![3 => Just(1usize), 1 => 2usize..=3], 0usize..=3, 0usize..=3),
        (eh, ew) in (0usize..=3, 0usize..=3),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let g = dw(c, h, w, [kh, kw], [sh, sw], [dh, dw_], [ph, pw], [eh, ew]);
        if let Some(mut g) = g {
            g.batch = n;
            run_case(ConvCase { g, bias, act, seed });
        }
    }
}

#[test]
fn depthwise2d_effnet_shapes() {
    // 3x3 and 5x5, stride 1 and 2, "same" padding, widths around the chunk size.
    for (k, s, hw) in [(3, 1, 112), (3, 2, 112), (5, 1, 28), (5, 2, 29), (3, 1, 7), (5, 2, 14), (3, 1, 65)] {
        let p = (k - 1) / 2;
        let g = dw(3, hw, hw, [k, k], [s, s], [1, 1], [p, p], [p, p]).expect("valid");
        run_case(ConvCase { g, bias: true, act: Activation::Clip { lo: 0.0, hi: 6.0 }, seed: 11 });
    }
}

#[test]
fn depthwise2d_zero_sized() {
    let base = dw(3, 5, 5, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]).expect("valid");
    let act = Activation::Relu;
    // No batch; no output rows.
    run_case(ConvCase { g: Conv2d { batch: 0, ..base }, bias: true, act, seed: 1 });
    run_case(ConvCase { g: Conv2d { input: [0, 5], output: [0, 5], ..base }, bias: true, act, seed: 1 });
    // An empty input plane whose padding still makes outputs (bias only).
    let pad_only = dw(3, 0, 5, [3, 3], [1, 1], [1, 1], [2, 1], [2, 1]).expect("valid");
    assert_eq!(pad_only.output, [2, 5]);
    run_case(ConvCase { g: pad_only, bias: true, act, seed: 1 });
}
