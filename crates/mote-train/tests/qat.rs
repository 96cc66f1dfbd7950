//! QAT on a QDQ graph: `prepare` keeps the forward pass exactly, makes the weights trainable,
//! and the quantizers pass gradients straight through inside their range only.

use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, Dim, Graph, Tensor, TensorType, Value, ValueType};
use mote_train::{Mode, backward, forward, params};

/// x -> Q -> DQ -> Gemm(DQ(int8 W), DQ(int32 b)) -> y: the QDQ form `mote quantize` writes.
fn qdq() -> Graph {
    let mut g = Graph::new("qdq");
    let x = g.add_value("x", ValueType::Tensor(TensorType::new(DType::F32, vec![Dim::Known(2), Dim::Known(4)])));
    g.inputs.push(x);
    let xs = g.add_const("xs", Tensor::scalar(0.02f32));
    let xz = g.add_const("xz", Tensor::scalar(0i8));
    let w = g.add_const(
        "w",
        Tensor::from_vec(vec![3, 4], (0..12).map(|i| (i * 23 % 255 - 127) as i8).collect::<Vec<_>>()).unwrap(),
    );
    let ws = g.add_const("ws", Tensor::from_vec(vec![3], vec![0.01f32, 0.02, 0.005]).unwrap());
    let wz = g.add_const("wz", Tensor::from_vec(vec![3], vec![0i8; 3]).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![3], vec![100i32, -50, 7]).unwrap());
    let bs = g.add_const("bs", Tensor::from_vec(vec![3], vec![0.0002f32, 0.0004, 0.0001]).unwrap());
    let node = |g: &mut Graph, name: &str, op: mote_ir::Op, ins: Vec<mote_ir::ValueId>| {
        let y = g.add_value(name, ValueType::Unknown);
        g.add_node(name, op, ins.into_iter().map(Some).collect(), vec![Some(y)]);
        y
    };
    let q = QuantOp::Quantize { axis: 1, block_size: 0, output_dtype: None, precision: None, saturate: true };
    let dq = |axis| QuantOp::Dequantize { axis, block_size: 0, output_dtype: None };
    let xq = node(&mut g, "xq", q.into(), vec![x, xs, xz]);
    let xd = node(&mut g, "xd", dq(1).into(), vec![xq, xs, xz]);
    let wd = node(&mut g, "wd", dq(0).into(), vec![w, ws, wz]);
    let bd = node(&mut g, "bd", dq(0).into(), vec![b, bs]);
    let gemm = mote_ir::ops::nn::NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
    let y = node(&mut g, "y", gemm.into(), vec![xd, wd, bd]);
    g.outputs.push(y);
    g
}

fn run(g: &Graph, x: &[f32]) -> (Vec<f32>, mote_train::Tape) {
    let x = Tensor::from_vec(vec![2, 4], x.to_vec()).unwrap();
    let tape = forward(g, vec![Value::Tensor(x)], Mode::Eval).expect("forward");
    (tape.tensor(g.outputs[0]).unwrap().to_f32_vec().unwrap(), tape)
}

#[test]
fn prepare_keeps_the_forward_and_exposes_float_weights() {
    let g = qdq();
    let (qg, made) = mote_train::qat::prepare(&g).expect("prepare");
    assert_eq!(made, 2, "the weight and the bias");
    let x = [0.3, -1.0, 0.55, 2.9, -0.2, 0.0, 0.41, -0.07];
    assert_eq!(run(&g, &x).0, run(&qg, &x).0, "the fake-quantized graph computes the same");
    let names: Vec<String> = params(&qg).iter().map(|p| qg.value(*p).name.clone()).collect();
    assert_eq!(names, ["w/float", "b/float"]);
}

#[test]
fn quantizers_pass_gradients_straight_through_inside_their_range() {
    let (qg, _) = mote_train::qat::prepare(&qdq()).expect("prepare");
    // 2.9 / 0.02 = 145 > 127: clamped, so no gradient reaches that input.
    let x = [0.3, -1.0, 0.55, 2.9, -0.2, 0.0, 0.41, -0.07];
    let (_, tape) = run(&qg, &x);
    let grads = backward(&qg, &tape, vec![(qg.outputs[0], vec![1.0; 6])]).expect("backward");
    let gx = grads[qg.inputs[0].index()].clone().expect("input gradient");
    let w: Vec<f32> =
        qg.values.iter().find(|v| v.name == "w/float").unwrap().init.as_ref().unwrap().to_f32_vec().unwrap();
    for (i, g) in gx.iter().enumerate() {
        let col: f32 = (0..3).map(|o| w[o * 4 + i % 4]).sum();
        let want = if i == 3 { 0.0 } else { col };
        assert!((g - want).abs() < 1e-5, "dx[{i}] = {g}, want {want}");
    }
    // The float weight's gradient is the float product's: x (dequantized) summed over rows.
    let wid = params(&qg)[0];
    let gw = grads[wid.index()].clone().expect("weight gradient");
    let xd: Vec<f32> = x.iter().map(|v| (v / 0.02f32).round_ties_even().clamp(-128.0, 127.0) * 0.02).collect();
    for o in 0..3 {
        for k in 0..4 {
            let want = xd[k] + xd[4 + k];
            assert!((gw[o * 4 + k] - want).abs() < 1e-5, "dW[{o},{k}]");
        }
    }
}
