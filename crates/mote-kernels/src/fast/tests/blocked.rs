use proptest::prelude::*;
use std::format;
use std::vec;

use super::conv::{ConvCase, out_len, reference};
use super::util::{activation, assert_close, values};
use crate::fast::{
    Activation, BLOCK, Conv2d, Cpu, blocked_conv2d, blocked_conv2d_scratch_len, blocked_pack_weights,
    blocked_pack_weights_len, blocked_reads_nchw, blocked_supported, reorder_from_blocked, reorder_to_blocked,
};

/// Runs `c` in the blocked layout on every ISA (input reordered in, output reordered out) and
/// compares with the NCHW reference.
fn run_case(c: ConvCase) {
    let g = &c.g;
    assert!(blocked_supported(g), "test geometry runs blocked: {g:?}");
    let (ip, op) = (g.in_plane(), g.out_plane());
    let x = values(c.seed, g.batch * g.in_channels * ip);
    let w = values(c.seed ^ 1, g.out_channels * g.k());
    let bias = values(c.seed ^ 2, g.out_channels);
    let (want, scale) = reference(&c, &x, &w, &bias);
    let mut xb = vec![f32::NAN; x.len()];
    if blocked_reads_nchw(g) {
        xb.copy_from_slice(&x);
    } else {
        reorder_to_blocked(g.batch, g.in_channels, ip, &x, &mut xb);
    }
    let mut wp = vec![f32::NAN; blocked_pack_weights_len(g)];
    blocked_pack_weights(g, &w, &mut wp);
    let rtol = 2.5e-7 * (g.k() as f32 + 4.0);
    for cpu in Cpu::available() {
        let mut yb = vec![f32::NAN; want.len()];
        let mut scratch = vec![f32::NAN; blocked_conv2d_scratch_len(g)];
        blocked_conv2d(cpu, g, &xb, &wp, c.bias.then_some(&bias[..]), c.act, &mut yb, &mut scratch);
        let mut y = vec![f32::NAN; want.len()];
        reorder_from_blocked(g.batch, g.out_channels, op, &yb, &mut y);
        assert_close(&format!("blocked_conv2d {:?} {c:?}", cpu.isa()), &y, &want, &scale, rtol);
    }
}

#[allow(clippy::too_many_arguments)]
fn geometry(
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    hw: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    pb: [usize; 2],
    pe: [usize; 2],
) -> Option<Conv2d> {
    Some(Conv2d {
        batch: n,
        in_channels: c,
        out_channels: m,
        group,
        input: hw,
        output: [out_len(hw[0], k[0], s[0], d[0], pb[0], pe[0])?, out_len(hw[1], k[1], s[1], d[1], pb[1], pe[1])?],
        kernel: k,
        strides: s,
        dilations: d,
        pads: pb,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn blocked_stem_from_nchw_matches_reference(
        (n, c, mb, h, w) in (1usize..=2, 1usize..=4, 1usize..=3, 1usize..=12, 1usize..=40),
        (kh, kw, sh, sw) in (1usize..=5, 1usize..=7, 1usize..=3, 1usize..=3),
        (dh, dw, ph, pw) in (1usize..=2, 1usize..=2, 0usize..=3, 0usize..=3),
        (eh, ew) in (0usize..=3, 0usize..=3),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        if let Some(g) = geometry(n, c, mb * BLOCK, 1, [h, w], [kh, kw], [sh, sw], [dh, dw], [ph, pw], [eh, ew]) {
            prop_assert!(blocked_reads_nchw(&g));
            run_case(ConvCase { g, bias, act, seed });
        }
    }

    #[test]
    fn blocked_depthwise_matches_reference(
        (n, cb, h, w) in (1usize..=2, 1usize..=3, 1usize..=12, 1usize..=40),
        (kh, kw, sh, sw) in (1usize..=5, 1usize..=7, 1usize..=3, 1usize..=3),
        (dh, dw, ph, pw) in (1usize..=2, 1usize..=2, 0usize..=3, 0usize..=3),
        (eh, ew) in (0usize..=3, 0usize..=3),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let c = cb * BLOCK;
        if let Some(g) = geometry(n, c, c, c, [h, w], [kh, kw], [sh, sw], [dh, dw], [ph, pw], [eh, ew]) {
            run_case(ConvCase { g, bias, act, seed });
        }
    }

    #[test]
    fn blocked_pointwise_matches_reference(
        (n, cb, mb, h, w) in (1usize..=2, 1usize..=40, 1usize..=7, 1usize..=9, 1usize..=40),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let (c, m) = (cb * BLOCK, mb * BLOCK);
        let g = geometry(n, c, m, 1, [h, w], [1, 1], [1, 1], [1, 1], [0, 0], [0, 0]).expect("1x1 fits");
        run_case(ConvCase { g, bias, act, seed });
    }
}

#[test]
fn blocked_effnet_shapes() {
    let act = Activation::Clip { lo: 0.0, hi: 6.0 };
    // Depthwise 3x3 / 5x5, stride 1 / 2, "same" padding, down to 7x7 planes.
    for (k, s, hw) in [(3, 1, 112), (3, 2, 112), (5, 1, 28), (5, 2, 29), (3, 1, 7), (5, 2, 14), (5, 1, 7)] {
        let p = (k - 1) / 2;
        let g = geometry(1, 16, 16, 16, [hw, hw], [k, k], [s, s], [1, 1], [p, p], [p, p]).expect("valid");
        run_case(ConvCase { g, bias: true, act, seed: 11 });
    }
    // Pointwise with K across several K blocks, and the 7x7 plane (49 pixels: a partial M panel).
    for (c, m, hw) in [(1152, 192, 7), (320, 1280, 7), (24, 144, 56), (16, 96, 21)] {
        let g = geometry(1, c, m, 1, [hw, hw], [1, 1], [1, 1], [1, 1], [0, 0], [0, 0]).expect("valid");
        run_case(ConvCase { g, bias: true, act, seed: 5 });
    }
}

#[test]
fn blocked_support_and_reorder_round_trip() {
    let dw = geometry(1, 8, 8, 8, [5, 5], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]).expect("valid");
    assert!(blocked_supported(&dw));
    // Channels not a multiple of 8, a grouped (not depthwise) conv, a strided 1x1: not blocked.
    assert!(!blocked_supported(&Conv2d { in_channels: 12, out_channels: 12, group: 12, ..dw }));
    let pw = geometry(1, 16, 8, 1, [5, 5], [1, 1], [1, 1], [1, 1], [0, 0], [0, 0]).expect("valid");
    assert!(blocked_supported(&pw));
    assert!(!blocked_supported(&Conv2d { group: 2, ..pw }));
    let strided = geometry(1, 16, 8, 1, [5, 5], [1, 1], [2, 2], [1, 1], [0, 0], [0, 0]).expect("valid");
    assert!(!blocked_supported(&strided));

    let (n, c, hw) = (2, 24, 67);
    let x = values(3, n * c * hw);
    let (mut b, mut back) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    reorder_to_blocked(n, c, hw, &x, &mut b);
    // Channel 8 + 3 of image 1, pixel 10 sits in block 1 at lane 3.
    assert_eq!(b[((c / BLOCK) + 1) * hw * BLOCK + 10 * BLOCK + 3], x[(c + 11) * hw + 10]);
    reorder_from_blocked(n, c, hw, &b, &mut back);
    assert_eq!(back, x);
    reorder_to_blocked(0, c, hw, &[], &mut []);
}
