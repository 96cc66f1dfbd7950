//! The softmax and table int8 kernels.
//!
//! These are small next to the convolutions of the networks Mote runs: every path runs the
//! reference code, which the compiler auto-vectorises where it can, so the results are the
//! reference's by construction.

use crate::fast::Cpu;
use crate::reference::int8 as r;
use crate::reference::int8::SoftmaxParams;

/// int8 softmax over rows of `depth` values: [`r::softmax`].
pub fn softmax(_cpu: Cpu, p: &SoftmaxParams, depth: usize, x: &[i8], y: &mut [i8]) {
    r::softmax(p, depth, x, y)
}

/// Table lookup `y = table[x + 128]`: [`r::lut`].
pub fn lut(_cpu: Cpu, table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    r::lut(table, x, y)
}
