use mote_ir::ops::ml::{
    Aggregate, Branch, Child, Imputed, Kernel, Labels, LinearClassifier, MlOp, Norm, PostTransform, Rule, Svm,
    TreeClasses, Trees,
};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

fn post(rng: &Rng) -> PostTransform {
    rng.pick(&[
        PostTransform::None,
        PostTransform::Softmax,
        PostTransform::Logistic,
        PostTransform::SoftmaxZero,
        PostTransform::Probit,
    ])
}

fn floats(rng: &Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.float()).collect()
}

fn labels(rng: &Rng, n: usize) -> Labels {
    if rng.coin() {
        Labels::Ints((0..n as i64).collect())
    } else {
        Labels::Strings((0..n).map(|i| format!("c{i}")).collect())
    }
}

/// A count: small, sometimes huge.
fn count(rng: &Rng) -> usize {
    if rng.one_in(12) { rng.size(3) } else { 1 + rng.below(3) }
}

/// A structurally valid random tree ensemble (what the importer accepts) with random features.
fn trees(rng: &Rng, classifier: bool) -> Trees {
    let n_targets = if classifier { 1 + rng.below(3) } else { count(rng) };
    let n_leaves = 1 + rng.below(4);
    let leaves: Vec<Vec<(usize, f64)>> = (0..n_leaves)
        .map(|_| {
            // As imported: leaf targets are below n_targets.
            let k = if n_targets == 0 { 0 } else { rng.below(3) };
            (0..k).map(|_| (rng.below(n_targets.min(4)), rng.float() as f64)).collect()
        })
        .collect();
    let n_branches = rng.below(4);
    // Children point forward (acyclic): node i leads to nodes > i or to leaves.
    let child = |rng: &Rng, i: usize| {
        if i + 1 < n_branches && rng.coin() {
            Child::Node(i + 1 + rng.below(n_branches - i - 1))
        } else {
            Child::Leaf(rng.below(n_leaves))
        }
    };
    let branches = (0..n_branches)
        .map(|i| Branch {
            feature: if rng.one_in(10) { rng.size(3) } else { rng.below(4) },
            rule: rng.pick(&[Rule::Leq, Rule::Lt, Rule::Gte, Rule::Gt, Rule::Eq, Rule::Neq, Rule::Member]),
            value: rng.float() as f64,
            set: (0..rng.below(3)).map(|_| rng.float() as f64).collect(),
            missing_true: rng.coin(),
            yes: child(rng, i),
            no: child(rng, i),
        })
        .collect();
    let roots = (0..rng.below(3)).map(|_| if n_branches > 0 { Child::Node(0) } else { Child::Leaf(0) }).collect();
    Trees {
        branches,
        leaves,
        roots,
        n_targets,
        aggregate: rng.pick(&[Aggregate::Average, Aggregate::Sum, Aggregate::Min, Aggregate::Max]),
        post: post(rng),
        base_values: (0..rng.pick(&[0, 1, n_targets.min(4)])).map(|_| rng.float() as f64).collect(),
        // As imported: a classifier has one target per label; `binary` needs two labels.
        classes: classifier.then(|| TreeClasses {
            labels: labels(rng, n_targets),
            binary: (n_targets == 2 && rng.coin()).then(|| rng.below(2)),
            weights_positive: rng.coin(),
        }),
        // Classifiers are the legacy op (TreeEnsemble-5 has no classifier mode).
        legacy: classifier || rng.coin(),
    }
}

fn svm(rng: &Rng, classifier: bool) -> Svm {
    let f = 1 + rng.below(3);
    let classes = 1 + rng.below(3);
    let per_class: Vec<usize> = if rng.coin() { (0..classes).map(|_| rng.below(3)).collect() } else { vec![] };
    let nv: usize = per_class.iter().sum();
    let pairs = classes * (classes - 1) / 2;
    let n_supports = if classifier { 0 } else { rng.below(3) };
    let sv = if classifier { nv } else { n_supports };
    let n_coef = if sv == 0 {
        classes * f
    } else if classifier {
        (classes - 1) * nv
    } else {
        n_supports
    };
    let has_probs = rng.coin();
    Svm {
        kernel: rng.pick(&[Kernel::Linear, Kernel::Poly, Kernel::Rbf, Kernel::Sigmoid]),
        gamma: rng.float(),
        coef0: rng.float(),
        degree: rng.int(-3, 4) as i32,
        support_vectors: floats(rng, sv * f),
        coefficients: floats(rng, if nv == 0 && rng.one_in(8) { rng.below(6) } else { n_coef }),
        rho: floats(rng, pairs.max(1)),
        post: post(rng),
        vectors_per_class: per_class,
        n_supports,
        // As imported: with support vectors, probabilities come as `pairs` values of both.
        prob_a: if has_probs { floats(rng, pairs) } else { vec![] },
        prob_b: if has_probs { floats(rng, pairs) } else { vec![] },
        labels: classifier.then(|| labels(rng, classes)),
        one_class: rng.coin(),
    }
}

#[test]
fn ml_random_cases() {
    let names = [
        "LinearClassifier",
        "LinearRegressor",
        "Normalizer",
        "ZipMap",
        "LabelEncoder",
        "ArrayFeatureExtractor",
        "Binarizer",
        "Scaler",
        "Imputer",
        "OneHotEncoder",
        "CategoryMapper",
        "FeatureVectorizer",
    ];
    run_cases(0x3170_0009, 24000, 5, &names, |rng: &Rng| {
        let dt = rng.dtype();
        let (n, c) = (rng.dim(), rng.dim());
        let xs = if rng.one_in(6) {
            rng.shape(3)
        } else if rng.one_in(4) {
            vec![c]
        } else {
            vec![n, c]
        };
        let x = rng.tensor(dt, &xs);
        let (op, inputs, outs): (MlOp, Vec<Option<Tensor>>, usize) = match rng.below(16) {
            0 => {
                let e = count(rng);
                let lc = LinearClassifier {
                    coefficients: floats(rng, if rng.one_in(6) { rng.below(5) } else { e.min(4) * c }),
                    intercepts: if rng.coin() { floats(rng, e.min(4)) } else { vec![] },
                    labels: labels(rng, if rng.coin() { 2 } else { e.min(4) }),
                    post: post(rng),
                };
                (MlOp::LinearClassifier(lc), vec![Some(x)], 2)
            }
            1 => {
                let t = count(rng);
                let coefficients = if rng.coin() { vec![] } else { floats(rng, t.min(4) * c) };
                let op = MlOp::LinearRegressor {
                    coefficients,
                    intercepts: if rng.coin() { floats(rng, t.min(4)) } else { vec![] },
                    targets: t,
                    post: post(rng),
                };
                (op, vec![Some(x)], 1)
            }
            2 => (MlOp::Normalizer { norm: rng.pick(&[Norm::Max, Norm::L1, Norm::L2]) }, vec![Some(x)], 1),
            3 => (MlOp::ZipMap { labels: labels(rng, if rng.one_in(5) { 3 } else { c }) }, vec![Some(x)], 1),
            4 => {
                let k = rng.below(4);
                let kd = rng.pick(&[DType::I64, DType::String, DType::F32]);
                let vd = rng.pick(&[DType::I64, DType::String, DType::F32]);
                let keys = rng.tensor(kd, &[k]);
                let values = rng.tensor(vd, &[if rng.one_in(6) { k + 1 } else { k }]);
                let default = rng.tensor(vd, &[1]);
                (MlOp::LabelEncoder { keys, values, default }, vec![Some(x)], 1)
            }
            5 => (MlOp::Trees(Box::new(trees(rng, false))), vec![Some(x)], 1),
            6 => (MlOp::Trees(Box::new(trees(rng, true))), vec![Some(x)], 2),
            7 => {
                let is = rng.shape(2);
                (MlOp::ArrayFeatureExtractor, vec![Some(x), Some(rng.indices(&is, 3))], 1)
            }
            8 => (MlOp::Binarizer { threshold: rng.float() }, vec![Some(x)], 1),
            9 => {
                let (a, b) = (rng.pick(&[0, 1, c, c + 1]), rng.pick(&[0, 1, c, c + 1]));
                (MlOp::Scaler { offset: floats(rng, a), scale: floats(rng, b) }, vec![Some(x)], 1)
            }
            10 => {
                let k = rng.pick(&[0, 1, c, c + 1]);
                let imputed = if rng.coin() {
                    Imputed::Floats(floats(rng, k))
                } else {
                    Imputed::Ints((0..k).map(|_| rng.int(-3, 3)).collect())
                };
                let op = MlOp::Imputer { imputed, replaced_float: rng.float(), replaced_int: rng.int(-2, 2) };
                (op, vec![Some(x)], 1)
            }
            11 => {
                let k = count(rng);
                let cats = if rng.coin() {
                    Labels::Ints((0..k.min(6) as i64).map(|i| i - 2).collect())
                } else {
                    Labels::Strings((0..k.min(6) as i64).map(|i| format!("s{}", i - 2)).collect())
                };
                (MlOp::OneHotEncoder { cats, zeros: rng.coin() }, vec![Some(x)], 1)
            }
            12 => {
                let k = rng.below(4);
                let op = MlOp::CategoryMapper {
                    ints: (0..k).map(|_| rng.int(-2, 2)).collect(),
                    strings: (0..if rng.one_in(6) { k + 1 } else { k }).map(|i| format!("s{i}")).collect(),
                    default_int: rng.int(-2, 2),
                    default_string: "_".into(),
                };
                (op, vec![Some(x)], 1)
            }
            13 => {
                let k = rng.below(4);
                let dims: Vec<usize> = (0..if rng.one_in(6) { k + 1 } else { k }).map(|_| count(rng)).collect();
                let ins = (0..k)
                    .map(|_| {
                        let s = if rng.coin() { vec![n, rng.dim()] } else { vec![n] };
                        let d = rng.dtype();
                        Some(rng.tensor(d, &s))
                    })
                    .collect();
                (MlOp::FeatureVectorizer { dims }, ins, 1)
            }
            14 => (MlOp::SvmClassifier(Box::new(svm(rng, true))), vec![Some(x)], 2),
            _ => (MlOp::SvmRegressor(Box::new(svm(rng, false))), vec![Some(x)], 1),
        };
        (Op::Ml(op), vals(inputs), outs)
    });
}
