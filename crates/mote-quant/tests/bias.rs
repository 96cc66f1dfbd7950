//! Empirical bias correction: with a clipping calibration method, the QDQ graph's outputs are
//! biased; the correction measured on the calibration data removes most of that bias.

use std::path::PathBuf;

use mote_core::DType;
use mote_ir::ops::nn::{ConvAttrs, NnOp, Window};
use mote_ir::{Dim, Graph, Op, Tensor, TensorType, Value, ValueType};
use mote_quant::calib::{CalibConfig, CalibSet};
use mote_quant::observe::Method;
use mote_quant::pipeline::{Settings, run};
use mote_quant::rng::Rng;

/// x[1,4,8,8] -> Conv(6, 3x3, pad 1, bias) -> y.
fn conv_graph(r: &mut Rng) -> Graph {
    let mut g = Graph::new("bias");
    let ty = ValueType::Tensor(TensorType {
        dtype: Some(DType::F32),
        shape: Some([1, 4, 8, 8].iter().map(|&d| Dim::Known(d)).collect()),
    });
    let x = g.add_value("x", ty);
    g.inputs.push(x);
    let w: Vec<f32> = (0..6 * 4 * 9).map(|_| (r.uniform() - 0.3) as f32).collect();
    let w = g.add_const("w", Tensor::from_vec(vec![6, 4, 3, 3], w).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![6], vec![0.1f32; 6]).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    let conv = ConvAttrs { window: Window { pads: vec![1, 1, 1, 1], ..Window::default() }, group: 1 };
    g.add_node("conv", Op::Nn(NnOp::Conv(conv)), vec![Some(x), Some(w), Some(b)], vec![Some(y)]);
    g.outputs.push(y);
    mote_interp::infer(&mut g).unwrap();
    g
}

/// Mean over the samples of (QDQ output - float output), worst output channel.
fn worst_channel_bias(float: &Graph, qdq: &Graph, set: &CalibSet) -> f64 {
    let (fs, qs) = (mote_interp::Session::new(float).unwrap(), mote_interp::Session::new(qdq).unwrap());
    let mut sums = [0f64; 6];
    for i in 0..set.len() {
        let inputs = set.load(i).unwrap();
        let (Value::Tensor(f), Value::Tensor(q)) =
            (&fs.run_named(inputs.clone()).unwrap()[0], &qs.run_named(inputs).unwrap()[0])
        else {
            panic!("tensor outputs expected")
        };
        let (f, q) = (f.as_slice::<f32>().unwrap(), q.as_slice::<f32>().unwrap());
        for (k, (a, b)) in f.iter().zip(q).enumerate() {
            sums[k / 64] += (b - a) as f64;
        }
    }
    sums.iter().map(|s| (s / (64 * set.len()) as f64).abs()).fold(0.0, f64::max)
}

#[test]
fn correction_removes_the_bias_of_clipped_inputs() {
    let dir = std::env::temp_dir().join(format!("mote-quant-bias-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = Rng::new(21);
    let g = conv_graph(&mut r);
    // Skewed inputs (a long positive tail) that percentile:95 clips hard: a biased error.
    let files: Vec<PathBuf> = (0..24)
        .map(|i| {
            let p = dir.join(format!("s{i:02}.npy"));
            let v: Vec<f32> = (0..256).map(|_| r.laplace(1.0).abs() as f32).collect();
            mote_data::write_npy(&p, &Tensor::from_vec(vec![1, 4, 8, 8], v).unwrap()).unwrap();
            p
        })
        .collect();
    let set = CalibSet::build(&g, &CalibConfig { files, ..Default::default() }).unwrap();
    let quantize = |bias_correction| {
        let s = Settings { method: Method::Percentile(95.0), bias_correction, ..Settings::default() };
        run("bias", &g, &set, None, &s, &mut |_, _, _| {}).unwrap().quantized.graph
    };
    let (plain, corrected) = (quantize(false), quantize(true));
    let (before, after) = (worst_channel_bias(&g, &plain, &set), worst_channel_bias(&g, &corrected, &set));
    eprintln!("worst channel bias: {before:.4} without the correction, {after:.4} with it");
    assert!(before > 0.05, "the clipped inputs should bias the output: {before}");
    assert!(after < 0.2 * before, "bias {before} before the correction, {after} after");
    std::fs::remove_dir_all(&dir).ok();
}
