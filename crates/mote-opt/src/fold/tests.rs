use mote_ir::ops::control::ControlOp;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Dim, Graph, Op, OuterRef, Tensor, ValueType};

use super::*;

fn bin(op: Binary) -> Op {
    Op::Elementwise(ElementwiseOp::Binary(op))
}

fn run(g: &Graph, inputs: Vec<Tensor>) -> Vec<Tensor> {
    let out = mote_interp::run(g, inputs.into_iter().map(Into::into).collect()).unwrap();
    out.into_iter().map(|v| v.into_tensor().unwrap()).collect()
}

#[test]
fn folds_constant_nodes_and_shape_subgraphs() {
    // y = Reshape(x, Concat(Gather(Shape(x), 0), (a + b))), with a + b = [-1].
    let mut g = Graph::new("g");
    let x = g.add_value("x", ValueType::tensor(DType::F32, vec![Dim::Known(2), Dim::Known(3), Dim::Known(2)]));
    let a = g.add_const("a", Tensor::from_vec(vec![1], vec![-3i64]).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![1], vec![2i64]).unwrap());
    let zero = g.add_const("zero", Tensor::from_vec(vec![1], vec![0i64]).unwrap());
    let ab = g.add_value("ab", ValueType::Unknown);
    let s = g.add_value("s", ValueType::Unknown);
    let s0 = g.add_value("s0", ValueType::Unknown);
    let shape = g.add_value("shape", ValueType::Unknown);
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("ab", bin(Binary::Add), vec![Some(a), Some(b)], vec![Some(ab)]);
    g.add_node("shape", Op::Shape(ShapeOp::Shape { start: 0, end: None }), vec![Some(x)], vec![Some(s)]);
    g.add_node("gather", Op::Shape(ShapeOp::Gather { axis: 0 }), vec![Some(s), Some(zero)], vec![Some(s0)]);
    g.add_node("concat", Op::Shape(ShapeOp::Concat { axis: 0 }), vec![Some(s0), Some(ab)], vec![Some(shape)]);
    g.add_node("reshape", Op::Shape(ShapeOp::Reshape { allowzero: false }), vec![Some(x), Some(shape)], vec![Some(y)]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    let input = Tensor::from_vec(vec![2, 3, 2], (0..12).map(|v| v as f32).collect()).unwrap();
    let want = run(&g, vec![input.clone()]);
    let r = fold_constants(&mut g, &FoldOptions::default()).unwrap();
    assert_eq!(r.get("folded"), 3, "{r}");
    assert_eq!(r.get("shape_folded"), 1, "{r}");
    assert_eq!(g.nodes.len(), 1);
    crate::dce(&mut g);
    mote_ir::verify::verify(&g).unwrap();
    assert_eq!(run(&g, vec![input]), want);
}

#[test]
fn respects_the_size_limit_and_never_folds_random_ops() {
    let mut g = Graph::new("g");
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1000i64, 1000]).unwrap());
    let big = g.add_value("big", ValueType::Unknown);
    let op = Op::Shape(ShapeOp::ConstantOfShape { value: Tensor::from_vec(vec![1], vec![1f32]).unwrap() });
    g.add_node("big", op, vec![Some(shape)], vec![Some(big)]);
    g.outputs = vec![big];
    assert!(!fold_constants(&mut g, &FoldOptions::default()).unwrap().changed());
    let opts = FoldOptions { max_elements: 1 << 20, ..FoldOptions::default() };
    assert_eq!(fold_constants(&mut g, &opts).unwrap().get("folded"), 1);

    let mut g = Graph::new("g");
    let r = g.add_value("r", ValueType::Unknown);
    let op = Op::Random(mote_ir::ops::random::RandomOp::Sample {
        dist: mote_ir::ops::random::Distribution::Uniform { low: 0.0, high: 1.0 },
        shape: Some(vec![2]),
        dtype: Some(DType::F32),
        seed: Some(1.0),
    });
    g.add_node("rand", op, vec![], vec![Some(r)]);
    g.outputs = vec![r];
    assert!(!fold_constants(&mut g, &FoldOptions::default()).unwrap().changed());
}

/// `If` with a constant condition: the taken branch (which captures an outer value and has a
/// constant of its own) moves into the enclosing graph.
#[test]
fn inlines_if_with_constant_condition() {
    let mut g = Graph::new("g");
    let x = g.add_value("x", ValueType::tensor(DType::F32, vec![Dim::Known(2)]));
    let c = g.add_const("c", Tensor::scalar(false));
    let branch = |name: &str, k: f32| {
        let mut b = Graph::new(name);
        let xi = b.add_value("xi", ValueType::tensor(DType::F32, vec![Dim::Known(2)]));
        let kk = b.add_const("k", Tensor::scalar(k));
        let o = b.add_value("o", ValueType::Unknown);
        let o2 = b.add_value("o2", ValueType::Unknown);
        b.add_node("mul", bin(Binary::Mul), vec![Some(xi), Some(kk)], vec![Some(o)]);
        b.add_node("neg", Op::Elementwise(ElementwiseOp::Unary(Unary::Neg)), vec![Some(o)], vec![Some(o2)]);
        b.outer_refs = vec![OuterRef { inner: xi, outer: x }];
        b.outputs = vec![o2];
        b
    };
    let y = g.add_value("y", ValueType::Unknown);
    let op = Op::Control(ControlOp::If {
        then_branch: Box::new(branch("then", 2.0)),
        else_branch: Box::new(branch("else", 3.0)),
    });
    g.add_node("if", op, vec![Some(c)], vec![Some(y)]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    let input = Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap();
    let want = run(&g, vec![input.clone()]);
    let report = crate::optimize(&mut g, &crate::Options::default()).unwrap();
    assert_eq!(report.pass("fold_constants").get("if_inlined"), 1, "{report}");
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["Mul", "Neg"]);
    assert_eq!(g.value(g.outputs[0]).name, "y");
    assert_eq!(run(&g, vec![input]), want);
    assert_eq!(want[0].typed::<f32>().unwrap(), &[-3.0, -6.0]);
}

/// A subgraph's nodes fold when they read only captured constants.
#[test]
fn folds_inside_subgraphs_through_captures() {
    let mut g = Graph::new("g");
    let c = g.add_value("c", ValueType::tensor(DType::Bool, vec![]));
    let k = g.add_const("k", Tensor::scalar(4f32));
    let branch = |name: &str| {
        let mut b = Graph::new(name);
        let ki = b.add_value("ki", ValueType::tensor(DType::F32, vec![]));
        let o = b.add_value("o", ValueType::Unknown);
        b.add_node("sqrt", Op::Elementwise(ElementwiseOp::Unary(Unary::Sqrt)), vec![Some(ki)], vec![Some(o)]);
        b.outer_refs = vec![OuterRef { inner: ki, outer: k }];
        b.outputs = vec![o];
        b
    };
    let y = g.add_value("y", ValueType::Unknown);
    let op =
        Op::Control(ControlOp::If { then_branch: Box::new(branch("then")), else_branch: Box::new(branch("else")) });
    g.add_node("if", op, vec![Some(c)], vec![Some(y)]);
    g.inputs = vec![c];
    g.outputs = vec![y];
    let r = fold_constants(&mut g, &FoldOptions::default()).unwrap();
    assert_eq!(r.get("folded"), 2, "{r}");
    crate::dce(&mut g);
    mote_ir::verify::verify(&g).unwrap();
    assert_eq!(run(&g, vec![Tensor::scalar(true)])[0].typed::<f32>().unwrap(), &[2.0]);
}

#[test]
fn dequantize_of_constant_weights_folds_only_when_asked() {
    let build = || {
        let mut g = Graph::new("g");
        let q = g.add_const("q", Tensor::from_vec(vec![3], vec![-2i8, 0, 5]).unwrap());
        let s = g.add_const("s", Tensor::scalar(0.5f32));
        let w = g.add_value("w", ValueType::Unknown);
        let op = Op::Quant(QuantOp::Dequantize { axis: 1, block_size: 0, output_dtype: None });
        g.add_node("dq", op, vec![Some(q), Some(s)], vec![Some(w)]);
        g.outputs = vec![w];
        g
    };
    let mut g = build();
    assert!(!fold_constants(&mut g, &FoldOptions::default()).unwrap().changed());
    let mut g = build();
    let opts = FoldOptions { dequantize: true, ..FoldOptions::default() };
    assert_eq!(fold_constants(&mut g, &opts).unwrap().get("folded"), 1);
    assert_eq!(run(&g, vec![])[0].typed::<f32>().unwrap(), &[-1.0, 0.0, 2.5]);
}
