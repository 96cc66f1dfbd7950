//! Pointwise convolution in the blocked layout: `Y [HW x M] = X [HW x C] * W^T [C x M]` with the
//! GEMM micro-kernel. A is read in place (the 8 channels of 6 pixels are 48 contiguous floats:
//! no packing), B is the packed weights, and each tile's two 8-column halves are stored into
//! their output channel blocks.
//!
//! Loops: M blocks (`MC` pixels, in L2), K blocks, B panels (in L1), 6-pixel A panels.

use super::BLOCK;
use crate::fast::activation::Activation;
use crate::fast::conv::Conv2d;
use crate::fast::cpu::Cpu;
use crate::fast::gemm::micro::{ARows, BRows, Tile, TileBias, tile_split};
use crate::fast::gemm::{KC, MR, NR};
use crate::fast::simd::{Simd, SimdOp, dispatch};

/// Pixels per M block (a multiple of `MR`): their `MC x KC` inputs (144 KiB) stay in L2.
const MC: usize = 144;

const _: () = assert!(MC.is_multiple_of(MR) && KC.is_multiple_of(BLOCK) && NR == 2 * BLOCK);

pub(super) fn run(cpu: Cpu, g: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    dispatch(cpu, Run { g, x, w, bias, act, y });
}

struct Run<'a> {
    g: &'a Conv2d,
    x: &'a [f32],
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    y: &'a mut [f32],
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let (c, m, hw) = (g.in_channels, g.out_channels, g.in_plane());
        for n in 0..g.batch {
            let xs = &self.x[n * c * hw..][..c * hw];
            let ys = &mut self.y[n * m * hw..][..m * hw];
            for ic in (0..hw).step_by(MC) {
                let mc = (hw - ic).min(MC);
                for pc in (0..c).step_by(KC) {
                    let kc = (c - pc).min(KC);
                    for jr in (0..m).step_by(NR) {
                        let bp = &self.w[(jr / NR) * c * NR + pc * NR..][..kc * NR];
                        for ir in (0..mc).step_by(MR) {
                            let ap =
                                ARows::Blocked { x: &xs[(pc / BLOCK * hw + ic + ir) * BLOCK..], stride: hw * BLOCK };
                            let t = Tile {
                                rows: (mc - ir).min(MR),
                                cols: (m - jr).min(NR),
                                accumulate: pc > 0,
                                finish: pc + kc == c,
                                bias: self.bias.map_or(TileBias::None, |b| TileBias::Cols(&b[jr..])),
                                act: self.act,
                            };
                            let out = &mut ys[(jr / BLOCK) * hw * BLOCK + (ic + ir) * BLOCK..];
                            tile_split(s, kc, ap, BRows::Strided { b: bp, ldb: NR }, out, BLOCK, hw * BLOCK, &t);
                        }
                    }
                }
            }
        }
    }
}
