//! `simplify`: local rewrites that remove work without changing results.

use mote_ir::ops::elementwise::ElementwiseOp;
use mote_ir::ops::nn::NnOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor};

use crate::edit::{add_const, const_of, forward, fresh_name, producers, tensor_type, use_counts};
use crate::report::Rewrites;

/// Simplifies `g` and its subgraphs:
/// - `Transpose(Transpose(x))` becomes one Transpose of `x` (`transposes_merged`);
/// - a chain of Reshape/Flatten/Squeeze/Unsqueeze whose last output shape is known becomes one
///   `Reshape` of the chain's input to that shape (`views_collapsed`);
/// - Identity (`identity_removed`), inference-mode Dropout whose mask is unused
///   (`dropout_removed`), Cast/CastLike to the input's dtype (`cast_removed`), Transpose with
///   the identity permutation (`transpose_removed`) and Reshape/Flatten/Squeeze/Unsqueeze whose
///   output shape is the input's (`reshape_removed`), and copies (`copy_removed`: Expand or Tile
///   to the input's shape, Concat of one input, Pad by all-zero pads) are removed: readers read
///   the input.
///
/// A main graph output keeps its name; a removal that would rename it is skipped when the
/// input cannot take its place (an input, or another output).
pub fn simplify(g: &mut Graph) -> Rewrites {
    let mut r = Rewrites::default();
    simplify_graph(g, true, &mut r);
    r
}

fn simplify_graph(g: &mut Graph, main: bool, r: &mut Rewrites) {
    for node in &mut g.nodes {
        for sub in node.op.subgraphs_mut() {
            simplify_graph(sub, false, r);
        }
    }
    merge_chains(g, r);
    let mut n = 0;
    while n < g.nodes.len() {
        if let Some((what, y, x)) = no_op(g, n)
            && forward(g, n, y, x, main)
        {
            g.nodes.remove(n);
            r.add(what, 1);
            continue;
        }
        n += 1;
    }
}

fn is_view(op: &Op) -> bool {
    matches!(op, Op::Shape(ShapeOp::Reshape { .. } | ShapeOp::Flatten { .. } | ShapeOp::Squeeze | ShapeOp::Unsqueeze))
}

/// The permutation of a Transpose node whose input rank is known.
fn perm_of(g: &Graph, node: &Node) -> Option<Vec<usize>> {
    let Op::Shape(ShapeOp::Transpose { perm }) = &node.op else { return None };
    match perm {
        Some(p) => Some(p.clone()),
        None => Some((0..tensor_type(g, node.input(0)?).rank()?).rev().collect()),
    }
}

/// Transpose pairs and view chains: rewires the second node to read the first one's input.
fn merge_chains(g: &mut Graph, r: &mut Rewrites) {
    let prod = producers(g);
    for n in 0..g.nodes.len() {
        let Some(x) = g.nodes[n].input(0) else { continue };
        let Some(&m) = prod.get(&x) else { continue };
        if m >= n {
            continue;
        }
        let Some(src) = g.nodes[m].input(0) else { continue };
        if matches!(g.nodes[n].op, Op::Shape(ShapeOp::Transpose { .. }))
            && matches!(g.nodes[m].op, Op::Shape(ShapeOp::Transpose { .. }))
        {
            let (Some(p2), Some(p1)) = (perm_of(g, &g.nodes[n]), perm_of(g, &g.nodes[m])) else { continue };
            if p1.len() != p2.len() || p2.iter().any(|&i| i >= p1.len()) {
                continue;
            }
            let q: Vec<usize> = p2.iter().map(|&i| p1[i]).collect();
            g.nodes[n].op = Op::Shape(ShapeOp::Transpose { perm: Some(q) });
            g.nodes[n].inputs[0] = Some(src);
            r.add("transposes_merged", 1);
        } else if is_view(&g.nodes[n].op) && is_view(&g.nodes[m].op) {
            let Some(y) = g.nodes[n].outputs.first().copied().flatten() else { continue };
            let Some(shape) = tensor_type(g, y).known_shape() else { continue };
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let Ok(t) = Tensor::from_vec(vec![dims.len()], dims) else { continue };
            let name = fresh_name(g, &format!("{}_shape", g.nodes[n].name));
            let s = add_const(g, name, t);
            let node = &mut g.nodes[n];
            node.op = Op::Shape(ShapeOp::Reshape { allowzero: shape.contains(&0) });
            node.inputs = vec![Some(src), Some(s)];
            r.add("views_collapsed", 1);
        }
    }
}

/// When node `n` computes a value equal to one of its inputs: (rewrite name, output, input).
fn no_op(g: &Graph, n: usize) -> Option<(&'static str, mote_ir::ValueId, mote_ir::ValueId)> {
    let node = &g.nodes[n];
    let x = node.input(0)?;
    let y = node.outputs.first().copied().flatten()?;
    let (xt, yt) = (tensor_type(g, x), tensor_type(g, y));
    let what = match &node.op {
        Op::Shape(ShapeOp::Identity) => "identity_removed",
        Op::Nn(NnOp::Dropout { .. }) => {
            let training = match node.input(2) {
                None => false,
                Some(t) => const_of(g, t).and_then(|t| t.to_f64_vec().ok()).is_none_or(|v| v.iter().any(|&b| b != 0.0)),
            };
            let mask_used = match node.outputs.get(1).copied().flatten() {
                None => false,
                Some(m) => use_counts(g).get(m.index()).copied().unwrap_or(1) > 0,
            };
            if training || mask_used {
                return None;
            }
            "dropout_removed"
        }
        Op::Elementwise(ElementwiseOp::Cast { to, .. }) if xt.dtype == Some(*to) => "cast_removed",
        Op::Elementwise(ElementwiseOp::CastLike { .. })
            if xt.dtype.is_some() && xt.dtype == tensor_type(g, node.input(1)?).dtype =>
        {
            "cast_removed"
        }
        Op::Shape(ShapeOp::Transpose { .. }) => {
            let p = perm_of(g, node)?;
            if !p.iter().enumerate().all(|(i, &k)| i == k) {
                return None;
            }
            "transpose_removed"
        }
        op if is_view(op) => {
            let (a, b) = (xt.known_shape()?, yt.known_shape()?);
            if a != b {
                return None;
            }
            "reshape_removed"
        }
        // Broadcasting or tiling to the input's own shape copies it.
        Op::Shape(ShapeOp::Expand | ShapeOp::Tile) => {
            let (a, b) = (xt.known_shape()?, yt.known_shape()?);
            if a != b || xt.dtype.is_none() || xt.dtype != yt.dtype {
                return None;
            }
            "copy_removed"
        }
        Op::Shape(ShapeOp::Concat { .. }) if node.inputs.len() == 1 => "copy_removed",
        // Pad by zero everywhere (any mode) copies the input.
        Op::Shape(ShapeOp::Pad { .. }) => {
            let pads = const_of(g, node.input(1)?)?.to_i64_vec().ok()?;
            if pads.iter().any(|&p| p != 0) {
                return None;
            }
            "copy_removed"
        }
        _ => return None,
    };
    Some((what, y, x))
}

#[cfg(test)]
mod tests {
    use mote_ir::ops::elementwise::Unary;
    use mote_ir::{DType, Dim, ValueType};

    use super::*;

    fn ty(shape: &[usize]) -> ValueType {
        ValueType::tensor(DType::F32, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    fn run(g: &Graph, x: Tensor) -> Tensor {
        mote_interp::run(g, vec![x.into()]).unwrap().remove(0).into_tensor().unwrap()
    }

    #[test]
    fn removes_identity_dropout_cast_and_collapses_views() {
        let mut g = Graph::new("g");
        let x = g.add_value("x", ty(&[2, 3, 4]));
        let a = g.add_value("a", ValueType::Unknown);
        let b = g.add_value("b", ValueType::Unknown);
        let c = g.add_value("c", ValueType::Unknown);
        let d = g.add_value("d", ValueType::Unknown);
        let e = g.add_value("e", ValueType::Unknown);
        let f = g.add_value("f", ValueType::Unknown);
        let axes = g.add_const("axes", Tensor::from_vec(vec![1], vec![0i64]).unwrap());
        let y = g.add_value("y", ValueType::Unknown);
        g.add_node("id", Op::Shape(ShapeOp::Identity), vec![Some(x)], vec![Some(a)]);
        g.add_node("drop", Op::Nn(NnOp::Dropout { seed: None }), vec![Some(a)], vec![Some(b)]);
        let cast = ElementwiseOp::Cast { to: DType::F32, saturate: true, round_mode: Default::default() };
        g.add_node("cast", Op::Elementwise(cast), vec![Some(b)], vec![Some(c)]);
        g.add_node("flat", Op::Shape(ShapeOp::Flatten { axis: 1 }), vec![Some(c)], vec![Some(d)]);
        g.add_node("unsq", Op::Shape(ShapeOp::Unsqueeze), vec![Some(d), Some(axes)], vec![Some(e)]);
        g.add_node("t", Op::Shape(ShapeOp::Transpose { perm: Some(vec![0, 2, 1]) }), vec![Some(e)], vec![Some(f)]);
        g.add_node("t2", Op::Shape(ShapeOp::Transpose { perm: Some(vec![0, 2, 1]) }), vec![Some(f)], vec![Some(y)]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        mote_interp::infer(&mut g).unwrap();
        let input = Tensor::from_vec(vec![2, 3, 4], (0..24).map(|v| v as f32).collect()).unwrap();
        let want = run(&g, input.clone());
        let opts = crate::Options::default();
        let report = crate::optimize(&mut g, &opts).unwrap();
        assert_eq!(run(&g, input), want);
        let s = report.pass("simplify");
        for what in ["identity_removed", "dropout_removed", "cast_removed", "transposes_merged", "views_collapsed"] {
            assert!(s.get(what) > 0, "{what}: {report}");
        }
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, ["Reshape"], "{report}");
        assert_eq!(g.value(g.outputs[0]).name, "y");
    }

    #[test]
    fn removes_copies() {
        let mut g = Graph::new("g");
        let x = g.add_value("x", ty(&[2, 3]));
        let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1i64, 3]).unwrap());
        let reps = g.add_const("reps", Tensor::from_vec(vec![2], vec![1i64, 1]).unwrap());
        let pads = g.add_const("pads", Tensor::from_vec(vec![4], vec![0i64; 4]).unwrap());
        let [a, b, c, y] = ["a", "b", "c", "y"].map(|n| g.add_value(n, ValueType::Unknown));
        g.add_node("expand", Op::Shape(ShapeOp::Expand), vec![Some(x), Some(shape)], vec![Some(a)]);
        g.add_node("tile", Op::Shape(ShapeOp::Tile), vec![Some(a), Some(reps)], vec![Some(b)]);
        g.add_node("concat", Op::Shape(ShapeOp::Concat { axis: 0 }), vec![Some(b)], vec![Some(c)]);
        let pad = ShapeOp::Pad { mode: mote_ir::ops::shape::PadMode::Reflect };
        g.add_node("pad", Op::Shape(pad), vec![Some(c), Some(pads)], vec![Some(y)]);
        let neg = g.add_value("neg", ValueType::Unknown);
        g.add_node("neg", Op::Elementwise(ElementwiseOp::Unary(Unary::Neg)), vec![Some(y)], vec![Some(neg)]);
        g.inputs = vec![x];
        g.outputs = vec![neg];
        mote_interp::infer(&mut g).unwrap();
        let input = Tensor::from_vec(vec![2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
        let want = run(&g, input.clone());
        let report = crate::optimize(&mut g, &crate::Options::default()).unwrap();
        assert_eq!(report.pass("simplify").get("copy_removed"), 4, "{report}");
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(run(&g, input), want);
    }

    #[test]
    fn keeps_training_dropout_and_real_casts() {
        let mut g = Graph::new("g");
        let x = g.add_value("x", ty(&[4]));
        let t = g.add_value("t", ValueType::tensor(DType::Bool, vec![]));
        let a = g.add_value("a", ValueType::Unknown);
        let y = g.add_value("y", ValueType::Unknown);
        let z = g.add_value("z", ValueType::Unknown);
        g.add_node("drop", Op::Nn(NnOp::Dropout { seed: Some(1) }), vec![Some(x), None, Some(t)], vec![Some(a)]);
        let cast = ElementwiseOp::Cast { to: DType::F64, saturate: true, round_mode: Default::default() };
        g.add_node("cast", Op::Elementwise(cast), vec![Some(a)], vec![Some(y)]);
        g.add_node("neg", Op::Elementwise(ElementwiseOp::Unary(Unary::Neg)), vec![Some(y)], vec![Some(z)]);
        g.inputs = vec![x, t];
        g.outputs = vec![z];
        mote_interp::infer(&mut g).unwrap();
        assert!(!simplify(&mut g).changed());
    }
}

#[cfg(test)]
mod random_tests {
    use mote_ir::{DType, Dim, ValueId, ValueType};
    use proptest::prelude::*;

    use super::*;

    /// One view-like step, applied to a known shape.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Identity,
        MergeFirstTwo,
        UnsqueezeFront,
        UnsqueezeBack,
        SqueezeAll,
        Flatten(usize),
        Reverse,
        Rotate,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Identity),
            Just(Step::MergeFirstTwo),
            Just(Step::UnsqueezeFront),
            Just(Step::UnsqueezeBack),
            Just(Step::SqueezeAll),
            (0usize..5).prop_map(Step::Flatten),
            Just(Step::Reverse),
            Just(Step::Rotate),
        ]
    }

    fn ints(g: &mut Graph, v: Vec<i64>) -> ValueId {
        let n = v.len();
        g.add_const("c", Tensor::from_vec(vec![n], v).unwrap())
    }

    /// Appends `s` to `x` of shape `shape`; returns the new value and shape (`None` when the step
    /// does not apply).
    fn apply(g: &mut Graph, x: ValueId, shape: &[usize], s: Step) -> Option<(ValueId, Vec<usize>)> {
        let r = shape.len();
        let (op, extra, out): (ShapeOp, Option<Vec<i64>>, Vec<usize>) = match s {
            Step::Identity => (ShapeOp::Identity, None, shape.to_vec()),
            Step::MergeFirstTwo if r >= 2 => {
                let mut o = vec![shape[0] * shape[1]];
                o.extend_from_slice(&shape[2..]);
                let target = o.iter().map(|&d| d as i64).collect();
                (ShapeOp::Reshape { allowzero: false }, Some(target), o)
            }
            Step::UnsqueezeFront if r < 5 => {
                let mut o = vec![1];
                o.extend_from_slice(shape);
                (ShapeOp::Unsqueeze, Some(vec![0]), o)
            }
            Step::UnsqueezeBack if r < 5 => {
                let mut o = shape.to_vec();
                o.push(1);
                (ShapeOp::Unsqueeze, Some(vec![-1]), o)
            }
            Step::SqueezeAll if shape.contains(&1) => {
                (ShapeOp::Squeeze, None, shape.iter().copied().filter(|&d| d != 1).collect())
            }
            Step::Flatten(a) if a <= r => {
                let (p, q) = (shape[..a].iter().product(), shape[a..].iter().product());
                (ShapeOp::Flatten { axis: a as i64 }, None, vec![p, q])
            }
            Step::Reverse => (ShapeOp::Transpose { perm: None }, None, shape.iter().rev().copied().collect()),
            Step::Rotate if r >= 2 => {
                let perm: Vec<usize> = (1..r).chain([0]).collect();
                let o = perm.iter().map(|&p| shape[p]).collect();
                (ShapeOp::Transpose { perm: Some(perm) }, None, o)
            }
            _ => return None,
        };
        let y = g.add_value("v", ValueType::Unknown);
        let mut inputs = vec![Some(x)];
        if let Some(e) = extra {
            inputs.push(Some(ints(g, e)));
        }
        g.add_node("step", Op::Shape(op), inputs, vec![Some(y)]);
        Some((y, out))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random chains of views, transposes and identities on random shapes: the optimized
        /// graph computes exactly the same output, the output keeps its name, and a chain without
        /// transposes becomes at most one Reshape.
        #[test]
        fn random_view_chains(dims in proptest::collection::vec(1usize..4, 1..4), steps in proptest::collection::vec(step(), 1..6)) {
            let mut g = Graph::new("g");
            let ty = ValueType::tensor(DType::F32, dims.iter().map(|&d| Dim::Known(d)).collect());
            let x = g.add_value("x", ty);
            let (mut y, mut shape) = (x, dims.clone());
            let mut transposes = false;
            for s in steps {
                if let Some((v, sh)) = apply(&mut g, y, &shape, s) {
                    transposes |= matches!(s, Step::Reverse | Step::Rotate);
                    (y, shape) = (v, sh);
                }
            }
            prop_assume!(y != x);
            g.value_mut(y).name = "out".into();
            g.inputs = vec![x];
            g.outputs = vec![y];
            mote_interp::infer(&mut g).unwrap();
            let n: usize = dims.iter().product();
            let input = Tensor::from_vec(dims.clone(), (0..n).map(|v| v as f32).collect()).unwrap();
            let want = mote_interp::run(&g, vec![input.clone().into()]).unwrap();
            let opts = crate::Options { verify: true, ..crate::Options::default() };
            crate::optimize(&mut g, &opts).unwrap();
            let got = mote_interp::run(&g, vec![input.into()]).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(&g.value(g.outputs[0]).name, "out");
            if !transposes {
                prop_assert!(g.nodes.len() <= 1, "{:?}", g.nodes.iter().map(|n| n.op.name()).collect::<Vec<_>>());
            }
        }
    }
}
