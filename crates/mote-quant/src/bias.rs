//! Empirical bias correction. The analytic correction ([`QdqOptions::channel_means`]) removes
//! the mean error int8 *weights* make on float inputs. Quantized inputs are biased too: a range
//! that clips a skewed tail, or rounding of values piled near a step, shifts a channel's mean,
//! and the errors of the layers upstream shift it further. Here the QDQ graph runs once on the
//! calibration data; each quantized tensor's channel means before and after its
//! Quantize/Dequantize pair give that input error, and each Conv/Gemm bias absorbs what its
//! weights make of it, with the weight error taken on the quantized path's own input means.
//! Each layer corrects only the error it adds, so the corrections do not pile up downstream.

use anyhow::Result;
use mote_ir::Graph;

use crate::calib::CalibSet;
use crate::observe::observe;
use crate::qdq::{QdqOptions, Quantized, quantize};

/// Measures the input errors of `q` (built from `float`, `ranges` and `opts`) on `calib`,
/// stores them with the quantized path's channel means in `opts`, and quantizes again.
pub fn correct(
    float: &Graph,
    ranges: &std::collections::BTreeMap<String, (f32, f32)>,
    opts: &mut QdqOptions,
    q: Quantized,
    calib: &CalibSet,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Quantized> {
    let measured = observe(&q.graph, calib, progress)?.channel_means();
    for t in &q.tensors {
        // A graph output's float value is renamed `<name>/float` in the QDQ graph.
        let before = measured.get(&t.name).filter(|_| t.dq != t.name).or(measured.get(&format!("{}/float", t.name)));
        let (Some(x), Some(d)) = (before, measured.get(&t.dq)) else { continue };
        if x.len() != d.len() {
            continue;
        }
        opts.input_error.insert(t.name.clone(), d.iter().zip(x).map(|(d, x)| d - x).collect());
        opts.channel_means.insert(t.name.clone(), x.clone());
    }
    quantize(float, ranges, opts)
}
