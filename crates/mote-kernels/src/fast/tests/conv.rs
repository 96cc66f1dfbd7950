use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

use super::util::{act_ref, activation, assert_close, values};
use crate::fast::{Activation, Conv2d, Cpu, conv_pack_weights, conv_pack_weights_len, conv2d, conv2d_scratch_len};
use crate::reference::nn::Spatial;
use crate::reference::nn::conv::{Channels, conv};

/// A convolution case: the geometry plus end padding (which only shows in `output`).
#[derive(Clone, Copy, Debug)]
pub struct ConvCase {
    pub g: Conv2d,
    pub bias: bool,
    pub act: Activation,
    pub seed: u64,
}

/// Output size of one axis, or `None` if the window does not fit.
pub fn out_len(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize) -> Option<usize> {
    let span = d * (k - 1) + 1;
    (input + pb + pe).checked_sub(span).map(|v| v / s + 1)
}

/// The reference output (`y`) and the per-element magnitude bound (`scale`), activation applied.
pub fn reference(c: &ConvCase, x: &[f32], w: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let g = &c.g;
    let ch = Channels { batch: g.batch, in_channels: g.in_channels, out_channels: g.out_channels, group: g.group };
    let s = Spatial {
        input: [1, g.input[0], g.input[1]],
        output: [1, g.output[0], g.output[1]],
        kernel: [1, g.kernel[0], g.kernel[1]],
        strides: [1, g.strides[0], g.strides[1]],
        dilations: [1, g.dilations[0], g.dilations[1]],
        pads: [0, g.pads[0] as isize, g.pads[1] as isize],
    };
    let b = c.bias.then_some(bias);
    let mut y = vec![0.0f32; g.batch * g.out_channels * g.out_plane()];
    conv(&ch, &s, x, w, b, &mut y);
    let (xa, wa): (Vec<f32>, Vec<f32>) = (x.iter().map(|v| v.abs()).collect(), w.iter().map(|v| v.abs()).collect());
    let ba: Vec<f32> = bias.iter().map(|v| v.abs()).collect();
    let mut scale = vec![0.0f32; y.len()];
    conv(&ch, &s, &xa, &wa, c.bias.then_some(&ba[..]), &mut scale);
    for v in &mut y {
        *v = act_ref(c.act, *v);
    }
    (y, scale)
}

fn run_case(c: ConvCase) {
    let g = &c.g;
    g.validate().expect("test geometry is valid");
    let x = values(c.seed, g.batch * g.in_channels * g.in_plane());
    let w = values(c.seed ^ 1, g.out_channels * g.k());
    let bias = values(c.seed ^ 2, g.out_channels);
    let (want, scale) = reference(&c, &x, &w, &bias);
    let mut packed = vec![f32::NAN; conv_pack_weights_len(g)];
    conv_pack_weights(g, &w, &mut packed);
    let rtol = 2.5e-7 * (g.k() as f32 + 4.0);
    for cpu in Cpu::available() {
        let mut scratch = vec![f32::NAN; conv2d_scratch_len(g)];
        let mut y = vec![f32::NAN; want.len()];
        conv2d(cpu, g, &x, &packed, c.bias.then_some(&bias[..]), c.act, &mut y, &mut scratch);
        assert_close(&format!("conv2d {:?} {c:?}", cpu.isa()), &y, &want, &scale, rtol);
    }
}

/// Random valid geometries: small channel counts and planes, kernels 1..5, strides 1..3,
/// dilations 1..2, padding 0..2 at each end, groups 1..3.
pub fn geometry(max_cg: usize, max_mg: usize) -> impl Strategy<Value = Conv2d> {
    (
        (1usize..=2, 1usize..=3, 1..=max_cg, 1..=max_mg),
        (1usize..=13, 1usize..=13, 1usize..=5, 1usize..=5),
        (1usize..=3, 1usize..=3, 1usize..=2, 1usize..=2),
        (0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2),
    )
        .prop_filter_map(
            "window larger than the padded input",
            |((n, grp, cg, mg), (h, w, kh, kw), (sh, sw, dh, dw), (ph, pw, eh, ew))| {
                let oh = out_len(h, kh, sh, dh, ph, eh)?;
                let ow = out_len(w, kw, sw, dw, pw, ew)?;
                Some(Conv2d {
                    batch: n,
                    in_channels: grp * cg,
                    out_channels: grp * mg,
                    group: grp,
                    input: [h, w],
                    output: [oh, ow],
                    kernel: [kh, kw],
                    strides: [sh, sw],
                    dilations: [dh, dw],
                    pads: [ph, pw],
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn conv2d_matches_reference(g in geometry(5, 9), bias in any::<bool>(), act in activation(), seed in any::<u64>()) {
        run_case(ConvCase { g, bias, act, seed });
    }

    #[test]
    fn stride1_conv2d_matches_reference(
        (grp, cg, mg) in (1usize..=2, 1usize..=40, 1usize..=20),
        (h, w, kh, kw) in (1usize..=7, 1usize..=40, 1usize..=5, 1usize..=5),
        (dh, dw, ph, pw, eh, ew) in (1usize..=2, 1usize..=2, 0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        // Stride 1, not pointwise: the padded-input path (B rows read in place), with K blocks
        // (cg * kh * kw > 256), several panels per row and edge panels.
        let (Some(oh), Some(ow)) = (out_len(h, kh, 1, dh, ph, eh), out_len(w, kw, 1, dw, pw, ew)) else {
            return Ok(());
        };
        let g = Conv2d {
            batch: 1,
            in_channels: grp * cg,
            out_channels: grp * mg,
            group: grp,
            input: [h, w],
            output: [oh, ow],
            kernel: [kh, kw],
            strides: [1, 1],
            dilations: [dh, dw],
            pads: [ph, pw],
        };
        run_case(ConvCase { g, bias, act, seed });
    }

    #[test]
    fn pointwise_conv2d_matches_reference(
        (n, grp, cg, mg) in (1usize..=2, 1usize..=2, 1usize..=20, 1usize..=20),
        (h, w) in (1usize..=9, 1usize..=9),
        bias in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        let g = Conv2d {
            batch: n,
            in_channels: grp * cg,
            out_channels: grp * mg,
            group: grp,
            input: [h, w],
            output: [h, w],
            kernel: [1, 1],
            strides: [1, 1],
            dilations: [1, 1],
            pads: [0, 0],
        };
        prop_assert!(g.is_pointwise());
        run_case(ConvCase { g, bias, act, seed });
    }
}

fn conv_case(c: usize, m: usize, hw: usize, k: usize, s: usize, p: usize) -> ConvCase {
    let o = out_len(hw, k, s, 1, p, p).unwrap_or(1);
    ConvCase {
        g: Conv2d {
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
        },
        bias: true,
        act: Activation::Clip { lo: 0.0, hi: 6.0 },
        seed: 3,
    }
}

#[test]
fn conv2d_deep_and_wide_layers() {
    // K beyond one K block (pointwise and im2col), M beyond one M block, a stem-like layer.
    run_case(conv_case(300, 20, 5, 1, 1, 0));
    // Shallow pointwise with few output channels: B read in place in runs of 256 columns.
    run_case(conv_case(16, 32, 25, 1, 1, 0));
    run_case(conv_case(40, 150, 4, 3, 1, 1));
    run_case(conv_case(3, 32, 17, 3, 2, 1));
    run_case(conv_case(30, 7, 6, 3, 1, 1));
    // Wide stride-2 inputs: im2col rows gathered with vector deinterleaving.
    run_case(conv_case(3, 8, 70, 3, 2, 1));
    run_case(conv_case(2, 5, 101, 5, 2, 2));
}

#[test]
fn conv2d_zero_sized() {
    // No batch, or no output positions: nothing is written, nothing panics.
    let mut c = conv_case(3, 4, 5, 3, 1, 1);
    c.g.batch = 0;
    run_case(c);
    let mut c = conv_case(3, 4, 5, 3, 1, 1);
    c.g.input = [0, 5];
    c.g.output = [0, 5];
    run_case(c);
}
