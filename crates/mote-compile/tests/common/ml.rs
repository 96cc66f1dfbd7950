//! A classic-ML model built in code: `x f32 [5, 3]` through a softmax LinearClassifier with
//! string labels (label, ZipMap of the scores), a binary logistic LinearClassifier with int
//! labels (label, ZipMap), a LinearRegressor, a Binarizer, and tree ensembles: a classifier on
//! the L2-normalized rows (set membership, NaN tracks, a shared subtree) and an averaging
//! regressor with base values; a Scaler, two Imputers (NaN and 0 replaced) and a
//! FeatureVectorizer (x cut to 2 columns, the int64 tree labels padded to 4); a LabelEncoder
//! with float keys (NaN and -0 matching), OneHotEncoders of int64 labels and truncated floats;
//! SVM classifiers (one-vs-one votes, Platt probabilities, linear) and regressors.

use mote_ir::ops::ml::{
    Aggregate, Branch, Child, Imputed, Kernel, Labels, LinearClassifier, MlOp, Norm, PostTransform, Rule, Svm,
    TreeClasses, Trees,
};
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};

fn branch(feature: usize, rule: Rule, value: f64, set: Vec<f64>, yes: Child, no: Child) -> Branch {
    Branch { feature, rule, value, set, missing_true: feature == 1, yes, no }
}

fn tree_classifier() -> Trees {
    use Child::{Leaf, Node};
    Trees {
        branches: vec![
            branch(0, Rule::Leq, 0.3, vec![], Node(1), Node(2)),
            branch(1, Rule::Member, 0.0, vec![0.0, 0.5, 1.0], Leaf(0), Node(3)),
            branch(2, Rule::Gt, -0.2, vec![], Node(3), Leaf(1)),
            branch(1, Rule::Lt, 0.1, vec![], Leaf(2), Leaf(3)),
        ],
        leaves: vec![vec![(0, 1.0)], vec![(1, 2.0), (2, 0.5)], vec![(2, 1.5)], vec![(0, 0.25), (1, 0.25)]],
        roots: vec![Node(0), Node(2)],
        n_targets: 3,
        aggregate: Aggregate::Sum,
        post: PostTransform::Softmax,
        base_values: vec![0.1, 0.0, -0.1],
        classes: Some(TreeClasses { labels: Labels::Ints(vec![10, 20, 30]), binary: None, weights_positive: true }),
        legacy: true,
    }
}

fn tree_regressor() -> Trees {
    use Child::{Leaf, Node};
    Trees {
        branches: vec![
            branch(2, Rule::Gte, 0.0, vec![], Leaf(0), Node(1)),
            branch(1, Rule::Neq, 0.5, vec![], Leaf(1), Leaf(2)),
        ],
        leaves: vec![vec![(0, 1.0)], vec![(1, -2.0)], vec![(0, 3.0), (1, 4.0)]],
        roots: vec![Node(0), Leaf(1)],
        n_targets: 2,
        aggregate: Aggregate::Average,
        post: PostTransform::None,
        base_values: vec![0.5, -1.0],
        classes: None,
        legacy: false,
    }
}

#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn ml_graph() -> Graph {
    let mut g = Graph::new("ml");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[5, 3])));
    g.inputs.push(x);
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let node = |g: &mut Graph, name: &str, op: MlOp, input: mote_ir::ValueId, outs: &[mote_ir::ValueId]| {
        g.add_node(name, Op::Ml(op), vec![Some(input)], outs.iter().map(|&o| Some(o)).collect());
    };
    let (label, scores, zip) = (v(&mut g, "label"), v(&mut g, "scores"), v(&mut g, "zip"));
    let c = LinearClassifier {
        coefficients: vec![0.5, -1.0, 0.25, 1.5, 0.5, -0.5, -0.75, 0.25, 1.0],
        intercepts: vec![0.1, -0.2, 0.05],
        labels: Labels::Strings(vec!["setosa".into(), "versicolor".into(), "virginica".into()]),
        post: PostTransform::Softmax,
    };
    node(&mut g, "linear", MlOp::LinearClassifier(c), x, &[label, scores]);
    let keys = Labels::Strings(vec!["setosa".into(), "versicolor".into(), "virginica".into()]);
    node(&mut g, "zipmap", MlOp::ZipMap { labels: keys }, scores, &[zip]);
    let (blabel, bscores, bzip) = (v(&mut g, "blabel"), v(&mut g, "bscores"), v(&mut g, "bzip"));
    let c = LinearClassifier {
        coefficients: vec![1.0, -2.0, 0.5],
        intercepts: vec![0.25],
        labels: Labels::Ints(vec![3, 7]),
        post: PostTransform::Logistic,
    };
    node(&mut g, "binary", MlOp::LinearClassifier(c), x, &[blabel, bscores]);
    node(&mut g, "bzipmap", MlOp::ZipMap { labels: Labels::Ints(vec![3, 7]) }, bscores, &[bzip]);
    let reg = v(&mut g, "reg");
    let op = MlOp::LinearRegressor {
        coefficients: vec![1.0, 2.0, 3.0, -1.0, 0.0, 0.5],
        intercepts: vec![0.5, -0.5],
        targets: 2,
        post: PostTransform::None,
    };
    node(&mut g, "regressor", op, x, &[reg]);
    let bin = v(&mut g, "bin");
    node(&mut g, "binarizer", MlOp::Binarizer { threshold: 0.1 }, x, &[bin]);
    let norm = v(&mut g, "norm");
    node(&mut g, "normalizer", MlOp::Normalizer { norm: Norm::L2 }, x, &[norm]);
    let (tlabel, tscores) = (v(&mut g, "tlabel"), v(&mut g, "tscores"));
    node(&mut g, "trees", MlOp::Trees(Box::new(tree_classifier())), norm, &[tlabel, tscores]);
    let treg = v(&mut g, "treg");
    node(&mut g, "tree_regressor", MlOp::Trees(Box::new(tree_regressor())), x, &[treg]);
    let scaled = v(&mut g, "scaled");
    node(&mut g, "scaler", MlOp::Scaler { offset: vec![0.1, -0.2, 0.3], scale: vec![3.0] }, x, &[scaled]);
    let imputed = v(&mut g, "imputed");
    let op = MlOp::Imputer { imputed: Imputed::Floats(vec![7.0, 8.0, 9.0]), replaced_float: f32::NAN, replaced_int: 0 };
    node(&mut g, "imputer", op, x, &[imputed]);
    let zeroed = v(&mut g, "zeroed");
    let op = MlOp::Imputer { imputed: Imputed::Floats(vec![-1.0]), replaced_float: 0.0, replaced_int: 0 };
    node(&mut g, "imputer0", op, x, &[zeroed]);
    let fv = v(&mut g, "features");
    g.add_node(
        "vectorizer",
        Op::Ml(MlOp::FeatureVectorizer { dims: vec![2, 4] }),
        vec![Some(x), Some(tlabel)],
        vec![Some(fv)],
    );
    let encoded = v(&mut g, "encoded");
    let op = MlOp::LabelEncoder {
        keys: Tensor::from_vec(vec![4], vec![0.0f32, 1.0, f32::NAN, 0.5]).unwrap(),
        values: Tensor::from_vec(vec![4], vec![10i64, 11, 12, 13]).unwrap(),
        default: Tensor::from_vec(vec![1], vec![-1i64]).unwrap(),
    };
    node(&mut g, "label_encoder", op, x, &[encoded]);
    let hot = v(&mut g, "hot");
    let op = MlOp::OneHotEncoder { cats: Labels::Ints(vec![30, 10, 20]), zeros: true };
    node(&mut g, "one_hot", op, tlabel, &[hot]);
    let hot_x = v(&mut g, "hot_x");
    let op = MlOp::OneHotEncoder { cats: Labels::Ints(vec![0, 1, 2]), zeros: true };
    node(&mut g, "one_hot_x", op, imputed, &[hot_x]);
    g.outputs.extend([label, zip, blabel, bzip, reg, bin, norm, tlabel, tscores, treg, scaled, imputed, zeroed, fv]);
    g.outputs.extend([encoded, hot, hot_x]);
    for (name, svm, classifier) in svms() {
        if classifier {
            let (sl, ss) = (v(&mut g, &format!("{name}_label")), v(&mut g, &format!("{name}_scores")));
            node(&mut g, name, MlOp::SvmClassifier(Box::new(svm)), x, &[sl, ss]);
            g.outputs.extend([sl, ss]);
        } else {
            let y = v(&mut g, &format!("{name}_y"));
            node(&mut g, name, MlOp::SvmRegressor(Box::new(svm)), x, &[y]);
            g.outputs.push(y);
        }
    }
    g
}

/// The input of [`ml_graph`] (with a NaN feature for the missing-value tracks).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn ml_input() -> Value {
    let x = vec![0.2f32, 0.5, -0.3, 1.0, f32::NAN, 0.4, -0.6, 1.0, 0.0, 0.1, 0.05, 2.0, 0.0, 0.0, 0.0];
    Value::Tensor(Tensor::from_vec(vec![5, 3], x).unwrap())
}

fn svm_base(kernel: Kernel) -> Svm {
    Svm {
        kernel,
        gamma: 0.7,
        coef0: 0.3,
        degree: 2,
        support_vectors: vec![],
        coefficients: vec![],
        rho: vec![],
        post: PostTransform::None,
        vectors_per_class: vec![],
        n_supports: 0,
        prob_a: vec![],
        prob_b: vec![],
        labels: None,
        one_class: false,
    }
}

/// SVMs: a one-vs-one RBF classifier (votes), the same with Platt probabilities, a linear
/// two-label classifier, a polynomial regressor and a linear one-class regressor.
fn svms() -> Vec<(&'static str, Svm, bool)> {
    let sv: Vec<f32> = (0..15).map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0).collect();
    let coef: Vec<f32> = (0..10).map(|i| ((i * 13 % 7) as f32 - 3.0) / 2.0).collect();
    let ovo = Svm {
        support_vectors: sv.clone(),
        coefficients: coef,
        rho: vec![0.1, -0.2, 0.3],
        vectors_per_class: vec![2, 1, 2],
        labels: Some(Labels::Ints(vec![5, 6, 7])),
        ..svm_base(Kernel::Rbf)
    };
    let proba = Svm { prob_a: vec![-1.5, -0.5, -2.0], prob_b: vec![0.1, -0.1, 0.2], ..ovo.clone() };
    let linear = Svm {
        coefficients: vec![0.5, -1.0, 0.25, -0.5, 1.0, -0.25],
        rho: vec![0.1],
        labels: Some(Labels::Ints(vec![4, 9])),
        post: PostTransform::Logistic,
        ..svm_base(Kernel::Linear)
    };
    let poly = Svm {
        support_vectors: sv[..6].to_vec(),
        coefficients: vec![0.5, -0.75],
        rho: vec![0.2],
        n_supports: 2,
        ..svm_base(Kernel::Poly)
    };
    let one = Svm { coefficients: vec![1.0, -1.0, 0.5], rho: vec![-0.1], one_class: true, ..svm_base(Kernel::Linear) };
    vec![
        ("svc", ovo, true),
        ("svc_proba", proba, true),
        ("svc_linear", linear, true),
        ("svr", poly, false),
        ("svr_one", one, false),
    ]
}
