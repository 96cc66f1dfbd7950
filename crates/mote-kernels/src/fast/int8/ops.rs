//! The pooling, softmax and table int8 kernels.
//!
//! These are small next to the convolutions of the networks Mote runs: every path runs the
//! reference code, which the compiler auto-vectorises where it can, so the results are the
//! reference's by construction.

use crate::fast::Cpu;
use crate::reference::int8 as r;
use crate::reference::int8::{Pool2d, SoftmaxParams};

/// NHWC int8 average pool: [`r::avg_pool`].
pub fn avg_pool(_cpu: Cpu, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    r::avg_pool(g, x, lo, hi, y)
}

/// NHWC int8 max pool: [`r::max_pool`].
pub fn max_pool(_cpu: Cpu, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    r::max_pool(g, x, lo, hi, y)
}

/// int8 mean over H and W of an NHWC tensor: [`r::mean_hw`].
#[allow(clippy::too_many_arguments)]
pub fn mean_hw(
    _cpu: Cpu,
    n: usize,
    hw: usize,
    c: usize,
    x: &[i8],
    x_zp: i32,
    mult: (i32, i32),
    y_zp: i32,
    y: &mut [i8],
) {
    r::mean_hw(n, hw, c, x, x_zp, mult, y_zp, y)
}

/// int8 softmax over rows of `depth` values: [`r::softmax`].
pub fn softmax(_cpu: Cpu, p: &SoftmaxParams, depth: usize, x: &[i8], y: &mut [i8]) {
    r::softmax(p, depth, x, y)
}

/// Table lookup `y = table[x + 128]`: [`r::lut`].
pub fn lut(_cpu: Cpu, table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    r::lut(table, x, y)
}
