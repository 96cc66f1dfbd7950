//! efficientnet_lite0's convolution layers (batch 1, NCHW, f32, bias + ReLU6 fused), shared by
//! the benches.

#![allow(dead_code)]

use mote_kernels::fast::{
    Activation, Conv2d, Cpu, blocked_conv2d, blocked_conv2d_scratch_len, blocked_pack_weights,
    blocked_pack_weights_len, blocked_supported, conv_pack_weights, conv_pack_weights_len, conv2d, conv2d_scratch_len,
    depthwise2d, depthwise2d_scratch_len,
};
use std::hint::black_box;

/// `(in_channels, in_hw, out_channels, kernel, stride, group, pad_begin, out_hw, count)`.
pub const LAYERS: [(usize, usize, usize, usize, usize, usize, usize, usize, usize); 31] = [
    (3, 224, 32, 3, 2, 1, 0, 112, 1),
    (32, 112, 32, 3, 1, 32, 1, 112, 1),
    (32, 112, 16, 1, 1, 1, 0, 112, 1),
    (16, 112, 96, 1, 1, 1, 0, 112, 1),
    (96, 112, 96, 3, 2, 96, 0, 56, 1),
    (96, 56, 24, 1, 1, 1, 0, 56, 1),
    (24, 56, 144, 1, 1, 1, 0, 56, 2),
    (144, 56, 144, 3, 1, 144, 1, 56, 1),
    (144, 56, 24, 1, 1, 1, 0, 56, 1),
    (144, 56, 144, 5, 2, 144, 1, 28, 1),
    (144, 28, 40, 1, 1, 1, 0, 28, 1),
    (40, 28, 240, 1, 1, 1, 0, 28, 2),
    (240, 28, 240, 5, 1, 240, 2, 28, 1),
    (240, 28, 40, 1, 1, 1, 0, 28, 1),
    (240, 28, 240, 3, 2, 240, 0, 14, 1),
    (240, 14, 80, 1, 1, 1, 0, 14, 1),
    (80, 14, 480, 1, 1, 1, 0, 14, 3),
    (480, 14, 480, 3, 1, 480, 1, 14, 2),
    (480, 14, 80, 1, 1, 1, 0, 14, 2),
    (480, 14, 480, 5, 1, 480, 2, 14, 1),
    (480, 14, 112, 1, 1, 1, 0, 14, 1),
    (112, 14, 672, 1, 1, 1, 0, 14, 3),
    (672, 14, 672, 5, 1, 672, 2, 14, 2),
    (672, 14, 112, 1, 1, 1, 0, 14, 2),
    (672, 14, 672, 5, 2, 672, 1, 7, 1),
    (672, 7, 192, 1, 1, 1, 0, 7, 1),
    (192, 7, 1152, 1, 1, 1, 0, 7, 4),
    (1152, 7, 1152, 5, 1, 1152, 2, 7, 3),
    (1152, 7, 192, 1, 1, 1, 0, 7, 3),
    (1152, 7, 1152, 3, 1, 1152, 1, 7, 1),
    (1152, 7, 320, 1, 1, 1, 0, 7, 1),
];
pub const HEAD: (usize, usize, usize, usize, usize, usize, usize, usize, usize) = (320, 7, 1280, 1, 1, 1, 0, 7, 1);

pub fn geometry(l: (usize, usize, usize, usize, usize, usize, usize, usize, usize)) -> Conv2d {
    let (c, hw, m, k, s, group, p, o, _) = l;
    Conv2d {
        batch: 1,
        in_channels: c,
        out_channels: m,
        group,
        input: [hw, hw],
        output: [o, o],
        kernel: [k, k],
        strides: [s, s],
        dilations: [1, 1],
        pads: [p, p],
    }
}

pub fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

/// One layer, ready to run: packed weights (or raw for depthwise), input, output, scratch.
pub struct Layer {
    pub g: Conv2d,
    w: Vec<f32>,
    bias: Vec<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
    scratch: Vec<f32>,
    /// Runs in the channel-blocked layout.
    pub blocked: bool,
}

impl Layer {
    pub fn new(g: Conv2d) -> Layer {
        Layer::with_layout(g, false)
    }

    /// The layer in the channel-blocked layout when `blocked` and the kernels support it there.
    pub fn with_layout(g: Conv2d, blocked: bool) -> Layer {
        let raw = values(g.out_channels * g.k(), 1);
        let blocked = blocked && blocked_supported(&g);
        let w = if blocked {
            let mut p = vec![0.0; blocked_pack_weights_len(&g)];
            blocked_pack_weights(&g, &raw, &mut p);
            p
        } else if g.is_depthwise() {
            raw
        } else {
            let mut p = vec![0.0; conv_pack_weights_len(&g)];
            conv_pack_weights(&g, &raw, &mut p);
            p
        };
        Layer {
            w,
            bias: values(g.out_channels, 2),
            x: values(g.in_channels * g.in_plane(), 3),
            y: vec![0.0; g.out_channels * g.out_plane()],
            scratch: vec![
                0.0;
                if blocked {
                    blocked_conv2d_scratch_len(&g)
                } else if g.is_depthwise() {
                    depthwise2d_scratch_len(&g)
                } else {
                    conv2d_scratch_len(&g)
                }
            ],
            blocked,
            g,
        }
    }

    pub fn run(&mut self, cpu: Cpu) {
        let act = Activation::Clip { lo: 0.0, hi: 6.0 };
        if self.blocked {
            let (x, b) = (black_box(&self.x), Some(&self.bias[..]));
            blocked_conv2d(cpu, &self.g, x, &self.w, b, act, &mut self.y, &mut self.scratch);
        } else if self.g.is_depthwise() {
            depthwise2d(
                cpu,
                &self.g,
                black_box(&self.x),
                &self.w,
                Some(&self.bias),
                act,
                &mut self.y,
                &mut self.scratch,
            );
        } else {
            conv2d(cpu, &self.g, black_box(&self.x), &self.w, Some(&self.bias), act, &mut self.y, &mut self.scratch);
        }
    }

    pub fn flops(&self) -> u64 {
        2 * (self.g.out_channels * self.g.out_plane() * self.g.k()) as u64
    }
}
