//! The normalization, attention, recurrent and loss steps on a model built in code: compiled
//! results match the reference interpreter, and run-time data (labels, sequence lengths) out of
//! range is a run error naming the step, never a panic.

mod common;

use mote_compile::{Options, host};
use mote_ir::{Tensor, Value};

fn inputs(labels: Vec<i64>, lens: Vec<i64>) -> Vec<Value> {
    vec![
        Value::Tensor(common::input(&[2, 4, 6])),
        Value::Tensor(Tensor::from_vec(vec![2, 6], labels).unwrap()),
        Value::Tensor(common::input(&[1, 2, 3, 4])),
        Value::Tensor(common::input(&[1, 1, 5, 4])),
        Value::Tensor(common::input(&[1, 1, 5, 4])),
        Value::Tensor(common::input(&[3, 2, 4])),
        Value::Tensor(Tensor::from_vec(vec![2], lens).unwrap()),
    ]
}

#[test]
fn compiled_nn_model_matches_the_interpreter() {
    let g = common::nn_graph();
    let x = inputs(vec![0, 1, 2, 3, 1, 0, 3, 3, 2, 1, 0, 2], vec![3, 1]);
    let want = mote_interp::run(&g, x.clone()).unwrap();
    let got = host::compile_and_run(&g, &x, &Options::default()).unwrap();
    assert_eq!(want.len(), got.len());
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap().to_f32_vec().unwrap(), o.as_tensor().unwrap().to_f32_vec().unwrap());
        assert_eq!(w.len(), o.len(), "output {i}");
        for (a, b) in w.iter().zip(&o) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "output {i}: {a} vs {b}");
        }
    }
}

#[test]
fn out_of_range_labels_and_lengths_are_run_errors() {
    let g = common::nn_graph();
    let bad_label = inputs(vec![0, 1, 2, 3, 1, 0, 3, 4, 2, 1, 0, 2], vec![3, 1]);
    let e = host::compile_and_run(&g, &bad_label, &Options::default()).unwrap_err();
    assert!(e.contains("loss target"), "{e}");
    let negative = inputs(vec![0, 1, 2, 3, 1, 0, 3, -2, 2, 1, 0, 2], vec![3, 1]);
    let e = host::compile_and_run(&g, &negative, &Options::default()).unwrap_err();
    assert!(e.contains("loss target"), "{e}");
    let bad_len = inputs(vec![0; 12], vec![4, 1]);
    let e = host::compile_and_run(&g, &bad_len, &Options::default()).unwrap_err();
    assert!(e.contains("sequence_lens"), "{e}");
}
