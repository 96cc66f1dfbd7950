//! Pruned weights compile to `SparseGemm` steps (1x1 convolution in NCHW, Gemm, MatMul) at or
//! above the sparsity threshold and to the dense steps below it or with `no_sparse`; every file
//! gives the interpreter's outputs.

use mote_compile::{Options, compile, host};
use mote_format::OpCode;
use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, NnOp, Window};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};

/// `n` values with `zeros` (in percent) of them 0, spread evenly.
fn pruned(n: usize, zeros: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| if (i * 37) % 100 < zeros { 0.0 } else { ((i * 7919 % 97) as f32 / 97.0 - 0.5) * scale }).collect()
}

/// x [64, 32, 8, 8] -> 1x1 conv 32 -> 48 (75% zeros) + bias + Relu -> 1x1 conv 48 -> 40 (50%
/// zeros: dense) -> Flatten [64, 2560] -> Gemm 2560 -> 64 (B transposed, 80% zeros) + bias + Relu
/// -> MatMul by [64, 24] (70% zeros).
fn pruned_graph() -> Graph {
    let mut g = Graph::new("pruned");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[64, 32, 8, 8])));
    g.inputs.push(x);
    let relu = |g: &mut Graph, name: &str, v| {
        let r = g.add_value(format!("{name}.relu"), ValueType::Unknown);
        g.add_node(
            format!("{name}.relu"),
            Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)),
            vec![Some(v)],
            vec![Some(r)],
        );
        r
    };
    let conv = |g: &mut Graph, name: &str, input, m: usize, c: usize, zeros| {
        let wv =
            g.add_const(format!("{name}.w"), Tensor::from_vec(vec![m, c, 1, 1], pruned(m * c, zeros, 0.5)).unwrap());
        let bv = g.add_const(format!("{name}.b"), Tensor::from_vec(vec![m], pruned(m, 0, 0.2)).unwrap());
        let y = g.add_value(name, ValueType::Unknown);
        let op = Op::Nn(NnOp::Conv(ConvAttrs { window: Window::default(), group: 1 }));
        g.add_node(name, op, vec![Some(input), Some(wv), Some(bv)], vec![Some(y)]);
        y
    };
    let c1 = conv(&mut g, "c1", x, 48, 32, 75);
    let c1 = relu(&mut g, "c1", c1);
    let c2 = conv(&mut g, "c2", c1, 40, 48, 50);
    let f = g.add_value("flat", ValueType::Unknown);
    g.add_node("flat", Op::Shape(ShapeOp::Flatten { axis: 1 }), vec![Some(c2)], vec![Some(f)]);
    let b = g.add_const("fc.w", Tensor::from_vec(vec![64, 2560], pruned(64 * 2560, 80, 0.05)).unwrap());
    let c = g.add_const("fc.b", Tensor::from_vec(vec![64], pruned(64, 0, 0.2)).unwrap());
    let h = g.add_value("fc", ValueType::Unknown);
    let gemm = Op::Nn(NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true });
    g.add_node("fc", gemm, vec![Some(f), Some(b), Some(c)], vec![Some(h)]);
    let h = relu(&mut g, "fc", h);
    let w = g.add_const("out.w", Tensor::from_vec(vec![64, 24], pruned(64 * 24, 70, 0.4)).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("out", Op::Nn(NnOp::MatMul), vec![Some(h), Some(w)], vec![Some(y)]);
    g.outputs.push(y);
    g
}

fn ops(bytes: &[u8]) -> Vec<OpCode> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = mote_format::Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

#[test]
fn pruned_products_run_sparse_and_match_the_interpreter_and_the_dense_file() {
    let g = pruned_graph();
    let xs: Vec<f32> = (0..64 * 32 * 64).map(|i| ((i * 131 % 89) as f32 / 89.0 - 0.5) * 2.0).collect();
    let x = Value::Tensor(Tensor::from_vec(vec![64, 32, 8, 8], xs).unwrap());
    let want = mote_interp::run(&g, vec![x.clone()]).unwrap()[0].as_tensor().unwrap().to_f32_vec().unwrap();
    let dense_opts = Options { no_sparse: true, ..Options::default() };
    let nchw = Options { nchw_only: true, ..Options::default() };
    let sparse = compile(g.clone(), &nchw).unwrap();
    let blocked = compile(g.clone(), &Options::default()).unwrap();
    let dense = compile(g.clone(), &dense_opts).unwrap();
    let count = |b: &[u8], op| ops(b).into_iter().filter(|&o| o == op).count();
    // NCHW: c1, fc and out are sparse; c2 (50% zeros) stays a dense convolution.
    assert_eq!(count(&sparse.bytes, OpCode::SparseGemm), 3, "{:?}", ops(&sparse.bytes));
    assert_eq!(count(&sparse.bytes, OpCode::Gemm), 0, "{:?}", ops(&sparse.bytes));
    // Default options: the products are sparse whatever the layout plan does with the
    // convolutions (a blocked convolution stays dense).
    assert!(count(&blocked.bytes, OpCode::SparseGemm) >= 2, "{:?}", ops(&blocked.bytes));
    assert_eq!(count(&dense.bytes, OpCode::SparseGemm), 0, "{:?}", ops(&dense.bytes));
    // The dense weights of the sparse products are not stored beside their compressed form.
    assert!(sparse.report.weights_bytes < dense.report.weights_bytes, "{:?} {:?}", sparse.report, dense.report);
    for opts in [nchw, Options::default(), dense_opts] {
        let got = host::compile_and_run(&g, std::slice::from_ref(&x), &opts).unwrap();
        let got = got[0].as_tensor().unwrap().to_f32_vec().unwrap();
        assert_eq!(got.len(), want.len());
        for (a, b) in want.iter().zip(&got) {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
                "{a} vs {b} (nchw {}, no_sparse {})",
                opts.nchw_only,
                opts.no_sparse
            );
        }
    }
}
