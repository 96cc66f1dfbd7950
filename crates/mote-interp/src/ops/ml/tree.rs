//! Tree ensemble evaluation (TreeEnsemble-5, TreeEnsembleClassifier, TreeEnsembleRegressor).

use mote_ir::ops::ml::{Aggregate, Child, Labels, PostTransform, Rule, Trees};
use mote_ir::{DType, Tensor, Value};

use super::{argmax, f32_tensor, labels_tensor, post_transform, rows};
use crate::error::OpError;
use crate::{bail, op_err};

/// The leaf reached from `root` for feature row `x`.
fn leaf(t: &Trees, root: Child, x: &[f64]) -> Result<usize, OpError> {
    let mut cur = root;
    // Branches are acyclic (checked on import), so this ends within `branches.len()` steps.
    loop {
        match cur {
            Child::Leaf(l) => return Ok(l),
            Child::Node(i) => {
                let b = &t.branches[i];
                let v = *x.get(b.feature).ok_or_else(|| {
                    op_err!("tree node {i} reads feature {} but the input has {}", b.feature, x.len())
                })?;
                let yes = if v.is_nan() && b.missing_true {
                    true
                } else {
                    match b.rule {
                        Rule::Leq => v <= b.value,
                        Rule::Lt => v < b.value,
                        Rule::Gte => v >= b.value,
                        Rule::Gt => v > b.value,
                        Rule::Eq => v == b.value,
                        Rule::Neq => v != b.value,
                        Rule::Member => b.set.contains(&v),
                    }
                };
                cur = if yes { b.yes } else { b.no };
            }
        }
    }
}

/// The largest finite value of the output dtype (the reference's MIN/MAX start value).
fn dtype_max(d: DType) -> f64 {
    match d {
        DType::F64 => f64::MAX,
        DType::F16 => 65504.0,
        _ => f32::MAX as f64,
    }
}

pub(super) fn eval(t: &Trees, x: &Tensor) -> Result<Vec<Value>, OpError> {
    let (xv, n, c) = rows(x, "tree ensemble")?;
    let out_dtype = if t.legacy { DType::F32 } else { x.dtype() };
    if !t.legacy && !out_dtype.is_float() {
        bail!("TreeEnsemble needs a float input, got {out_dtype}");
    }
    let k = t.n_targets;
    let big = dtype_max(out_dtype);
    let n_trees = t.roots.len().max(1) as f64;
    let base = |j: usize| match t.base_values.len() {
        0 => 0.0,
        1 => t.base_values[0],
        _ => t.base_values.get(j).copied().unwrap_or(0.0),
    };
    let mut scores = vec![0.0f64; crate::ops::numel(&[n, k])?];
    let mut hit = vec![false; k];
    for r in 0..n {
        let row = &xv[r * c..(r + 1) * c];
        let acc = &mut scores[r * k..(r + 1) * k];
        let init = match t.aggregate {
            Aggregate::Min => big,
            Aggregate::Max => -big,
            Aggregate::Sum | Aggregate::Average => 0.0,
        };
        acc.fill(init);
        hit.fill(false);
        for &root in &t.roots {
            let l = leaf(t, root, row)?;
            for &(target, w) in &t.leaves[l] {
                hit[target] = true;
                let a = &mut acc[target];
                match t.aggregate {
                    Aggregate::Sum | Aggregate::Average => *a += w,
                    Aggregate::Min => *a = a.min(w),
                    Aggregate::Max => *a = a.max(w),
                }
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            if t.aggregate == Aggregate::Average {
                *a /= n_trees;
            }
            // Like onnxruntime, a regression target no leaf reached is 0 (no base value).
            *a = if hit[j] || t.classes.is_some() { *a + base(j) } else { 0.0 };
        }
    }
    let Some(classes) = &t.classes else {
        for row in scores.chunks_mut(k.max(1)) {
            post_transform(t.post, row);
        }
        let y = f32_tensor(vec![n, k], &scores)?;
        let y = if out_dtype == DType::F32 { y } else { crate::ops::elementwise::cast(&y, out_dtype)? };
        return Ok(vec![Value::Tensor(y)]);
    };
    let nl = classes.labels.len();
    if let Some(cid) = classes.binary {
        // onnxruntime's binary case: one class score s, two labels.
        let mut labels = Vec::with_capacity(n);
        for row in scores.chunks_mut(k) {
            let s = row[cid];
            // All-positive weights: [1 - s, s]; mixed: [-s, s], through the logistic if asked.
            // Softmax-like transforms do not apply to the single score.
            let positive = classes.weights_positive;
            let (second, pair) = if positive { (s > 0.5, [1.0 - s, s]) } else { (s > 0.0, [-s, s]) };
            row[..2].copy_from_slice(&pair);
            if (t.post == PostTransform::Logistic && !positive) || t.post == PostTransform::Probit {
                post_transform(t.post, &mut row[..2]);
            }
            labels.push(usize::from(second));
        }
        let labels = labels_tensor(&classes.labels, &labels)?;
        return Ok(vec![Value::Tensor(labels), Value::Tensor(f32_tensor(vec![n, k], &scores)?)]);
    }
    for row in scores.chunks_mut(k.max(1)) {
        post_transform(t.post, row);
    }
    let idx: Vec<usize> = scores.chunks(k.max(1)).map(argmax).collect();
    let labels = if nl == 1 {
        // A single label is predicted when the second score wins.
        match &classes.labels {
            Labels::Ints(l) => {
                Tensor::from_vec(vec![n], idx.iter().map(|&i| if i == 1 { l[0] } else { 0 }).collect::<Vec<_>>())?
            }
            Labels::Strings(l) => Tensor::from_strings(
                vec![n],
                idx.iter().map(|&i| if i == 1 { l[0].clone() } else { String::new() }).collect(),
            )?,
        }
    } else {
        if idx.iter().any(|&i| i >= nl) {
            bail!("TreeEnsembleClassifier has {nl} labels for {k} score columns");
        }
        labels_tensor(&classes.labels, &idx)?
    };
    Ok(vec![Value::Tensor(labels), Value::Tensor(f32_tensor(vec![n, k], &scores)?)])
}

#[cfg(test)]
mod tests {
    use mote_ir::ops::ml::Branch;

    use super::*;

    fn stump(aggregate: Aggregate) -> Trees {
        // Two stumps on feature 0: x <= 1 -> leaf 0 else leaf 1; and a lone leaf 2.
        Trees {
            branches: vec![Branch {
                feature: 0,
                rule: Rule::Leq,
                value: 1.0,
                set: vec![],
                missing_true: true,
                yes: Child::Leaf(0),
                no: Child::Leaf(1),
            }],
            leaves: vec![vec![(0, 1.0)], vec![(0, 5.0)], vec![(0, 3.0)]],
            roots: vec![Child::Node(0), Child::Leaf(2)],
            n_targets: 1,
            aggregate,
            post: PostTransform::None,
            base_values: vec![],
            classes: None,
            legacy: false,
        }
    }

    fn run(t: &Trees, x: Vec<f32>) -> Vec<f32> {
        let n = x.len();
        let x = Tensor::from_vec(vec![n, 1], x).unwrap();
        eval(t, &x).unwrap()[0].as_tensor().unwrap().typed::<f32>().unwrap().to_vec()
    }

    #[test]
    fn aggregates_and_missing_values() {
        assert_eq!(run(&stump(Aggregate::Sum), vec![0.0, 2.0, f32::NAN]), vec![4.0, 8.0, 4.0]);
        assert_eq!(run(&stump(Aggregate::Average), vec![2.0]), vec![4.0]);
        assert_eq!(run(&stump(Aggregate::Min), vec![2.0]), vec![3.0]);
        assert_eq!(run(&stump(Aggregate::Max), vec![0.0]), vec![3.0]);
    }

    #[test]
    fn missing_feature_is_an_error() {
        let x = Tensor::from_vec(vec![1, 0], Vec::<f32>::new()).unwrap();
        assert!(eval(&stump(Aggregate::Sum), &x).is_err());
    }
}
