//! NonZero and Unique through the compiled path (Bounded outputs) against the interpreter, on
//! many small inputs full of repeats, zeros and signed zeros.

use mote_compile::{Options, host};
use mote_core::DType;
use mote_interp::Session;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Op, Tensor, TensorType, Value, ValueType};

/// A small linear congruential sequence of values in `{-2, -1, -0, 0, 1, 2}`.
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            [-2.0, -1.0, -0.0, 0.0, 1.0, 2.0][(s >> 33) as usize % 6]
        })
        .collect()
}

fn graph(op: ShapeOp, dims: &[usize], outputs: usize) -> Graph {
    let mut g = Graph::new("distinct");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, dims)));
    g.inputs.push(x);
    let outs: Vec<_> = (0..outputs).map(|i| g.add_value(format!("y{i}"), ValueType::Unknown)).collect();
    g.add_node("n", Op::Shape(op), vec![Some(x)], outs.iter().map(|&o| Some(o)).collect());
    g.outputs.extend(&outs);
    g
}

fn check(op: ShapeOp, dims: &[usize], outputs: usize, seed: u64) {
    let g = graph(op.clone(), dims, outputs);
    let x = Tensor::from_vec(dims.to_vec(), values(seed, dims.iter().product())).unwrap();
    let want = Session::new(&g).unwrap().run(vec![Value::Tensor(x.clone())]).unwrap();
    let got = host::compile_and_run(&g, &[Value::Tensor(x)], &Options::default()).unwrap();
    assert_eq!(got, want, "{op:?} on {dims:?}, seed {seed}");
}

#[test]
fn nonzero_matches_the_interpreter() {
    for (k, dims) in [vec![7], vec![3, 4], vec![2, 3, 2], vec![1, 1], vec![5, 1, 2]].iter().enumerate() {
        for seed in 0..8 {
            check(ShapeOp::NonZero, dims, 1, seed * 10 + k as u64);
        }
    }
}

#[test]
fn unique_matches_the_interpreter_with_and_without_an_axis() {
    for sorted in [true, false] {
        for (dims, axis) in [
            (vec![9], None),
            (vec![3, 4], None),
            (vec![4, 2], Some(0)),
            (vec![2, 5, 2], Some(1)),
            (vec![3, 2], Some(-1)),
        ] {
            for seed in 0..8 {
                check(ShapeOp::Unique { sorted, axis }, &dims, 4, seed);
            }
        }
    }
}
