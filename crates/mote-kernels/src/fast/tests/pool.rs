use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

use super::conv::out_len;
use super::util::{assert_close, values};
use crate::fast::{Cpu, Pool2d, PoolKind, global_avg_pool, pool2d, pool2d_scratch_len};
use crate::reference::nn::Spatial;
use crate::reference::nn::pool::{avg_pool, max_pool};

fn run_case(kind: PoolKind, g: &Pool2d, seed: u64) {
    g.validate().expect("test geometry is valid");
    let ip = g.input[0] * g.input[1];
    let op = g.output[0] * g.output[1];
    let x = values(seed, g.planes * ip);
    let s = Spatial {
        input: [1, g.input[0], g.input[1]],
        output: [1, g.output[0], g.output[1]],
        kernel: [1, g.kernel[0], g.kernel[1]],
        strides: [1, g.strides[0], g.strides[1]],
        dilations: [1, g.dilations[0], g.dilations[1]],
        pads: [0, g.pads[0] as isize, g.pads[1] as isize],
    };
    let mut want = vec![0.0f32; g.planes * op];
    match kind {
        PoolKind::Max => max_pool(g.planes, &s, f32::NEG_INFINITY, &x, &mut want, None, false),
        PoolKind::Avg { count_include_pad } => {
            let pe = [0, g.pads_end[0] as isize, g.pads_end[1] as isize];
            avg_pool(g.planes, &s, pe, count_include_pad, &x, &mut want)
        }
    }
    let scale: Vec<f32> = want.iter().map(|v| v.abs().max(1.0)).collect();
    for cpu in Cpu::available() {
        let mut y = vec![f32::NAN; want.len()];
        let mut scratch = vec![f32::NAN; pool2d_scratch_len(g)];
        pool2d(cpu, kind, g, &x, &mut y, &mut scratch);
        let tol = 2.5e-7 * (g.kernel[0] * g.kernel[1] + 4) as f32;
        assert_close(&format!("pool2d {:?} {kind:?} {g:?}", cpu.isa()), &y, &want, &scale, tol);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn pool2d_matches_reference(
        kind in prop::sample::select(vec![
            PoolKind::Max,
            PoolKind::Avg { count_include_pad: false },
            PoolKind::Avg { count_include_pad: true },
        ]),
        (planes, h, w) in (0usize..=3, 1usize..=20, 1usize..=90),
        (kh, kw, sh, sw) in (1usize..=4, 1usize..=4, 1usize..=3, 1usize..=3),
        (dh, dw) in (1usize..=2, 1usize..=2),
        (ph, pw, eh, ew) in (0usize..=2, 0usize..=2, 0usize..=3, 0usize..=3),
        seed in any::<u64>(),
    ) {
        // ONNX keeps pads smaller than the kernel; windows inside the padding only are legal.
        let (ph, pw, eh, ew) = (ph.min(kh - 1), pw.min(kw - 1), eh.min(kh), ew.min(kw));
        if let (Some(oh), Some(ow)) = (out_len(h, kh, sh, dh, ph, eh), out_len(w, kw, sw, dw, pw, ew)) {
            let g = Pool2d {
                planes,
                input: [h, w],
                output: [oh, ow],
                kernel: [kh, kw],
                strides: [sh, sw],
                dilations: [dh, dw],
                pads: [ph, pw],
                pads_end: [eh, ew],
            };
            run_case(kind, &g, seed);
        }
    }

    #[test]
    fn global_avg_pool_matches_reference(planes in 0usize..=4, plane in 0usize..=200, seed in any::<u64>()) {
        let x = values(seed, planes * plane);
        let want: Vec<f32> =
            (0..planes).map(|p| x[p * plane..][..plane].iter().sum::<f32>() / plane as f32).collect();
        let scale: Vec<f32> = (0..planes).map(|p| x[p * plane..][..plane].iter().map(|v| v.abs()).sum::<f32>() / plane.max(1) as f32).collect();
        for cpu in Cpu::available() {
            let mut y = vec![0.0f32; planes];
            global_avg_pool(cpu, planes, plane, &x, &mut y);
            assert_close(&format!("global_avg_pool {:?}", cpu.isa()), &y, &want, &scale, 2.5e-7 * (plane as f32 + 4.0));
        }
    }
}
