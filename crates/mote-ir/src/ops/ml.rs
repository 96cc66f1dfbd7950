//! Classical ML ops of the `ai.onnx.ml` domain.
//!
//! Tree ensembles of every form (TreeEnsemble-5, TreeEnsembleClassifier, TreeEnsembleRegressor)
//! share one representation, [`Trees`]: explicit branch nodes and leaves linked by index.

use mote_core::DType;

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::tensor::Tensor;
use crate::types::{Dim, TensorType, ValueType};

/// `ai.onnx.ml` ops.
#[derive(Clone, Debug, PartialEq)]
pub enum MlOp {
    /// `(label [N], scores [N, E])` from `X [N, C]`: scores = X W^T + b, post-transformed.
    LinearClassifier(LinearClassifier),
    /// `Y [N, targets] = X W^T + b` (f32), post-transformed.
    LinearRegressor { coefficients: Vec<f32>, intercepts: Vec<f32>, targets: usize, post: PostTransform },
    /// Row-wise normalization of `[N, C]` (or `[C]`), f32 output.
    Normalizer { norm: Norm },
    /// `[N, C]` scores -> a sequence of N maps `label -> score`.
    ZipMap { labels: Labels },
    /// Maps each element through `keys -> values` (1-D tensors of equal length); misses take
    /// `default` (a one-element tensor of the values' dtype).
    LabelEncoder { keys: Tensor, values: Tensor, default: Tensor },
    /// Tree ensembles: `Y [N, n_targets]`, or `(label, scores)` for classifiers.
    Trees(Box<Trees>),
    /// `Y = X[..., indices]`; a 1-D X gives `[1, k]`.
    ArrayFeatureExtractor,
    /// `x > threshold ? 1 : 0`, same dtype.
    Binarizer { threshold: f32 },
    /// `(x - offset) * scale` per feature (last axis), f32 output; 1-element lists broadcast.
    Scaler { offset: Vec<f32>, scale: Vec<f32> },
    /// Replaces `replaced` (NaN matches NaN) by the per-feature (or single) imputed value.
    Imputer { imputed: Imputed, replaced_float: f32, replaced_int: i64 },
    /// One-hot over the categories: `[..x.shape, n_cats]` f32. Unknown values are an error
    /// unless `zeros`.
    OneHotEncoder { cats: Labels, zeros: bool },
    /// string <-> int64 through two parallel category lists.
    CategoryMapper { ints: Vec<i64>, strings: Vec<String>, default_int: i64, default_string: String },
    /// Concatenates `[N, C_i]` inputs cut or zero-padded to `dims[i]` columns, f32 output.
    FeatureVectorizer { dims: Vec<usize> },
    /// `(label [N], scores [N, E])`: linear or one-vs-one kernel SVM, optionally with Platt
    /// probabilities (`prob_a`, `prob_b`).
    SvmClassifier(Box<Svm>),
    /// `Y [N, 1]` (f32): a kernel expansion over the support vectors (or linear) plus `rho[0]`.
    SvmRegressor(Box<Svm>),
}

/// Class labels or categories: int64s or strings.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Labels {
    pub fn len(&self) -> usize {
        match self {
            Labels::Ints(v) => v.len(),
            Labels::Strings(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match self {
            Labels::Ints(_) => DType::I64,
            Labels::Strings(_) => DType::String,
        }
    }
}

/// Score post-transforms of the classifiers and regressors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
    Probit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    Max,
    L1,
    L2,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Imputed {
    Floats(Vec<f32>),
    Ints(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinearClassifier {
    /// `[E, C]` row-major.
    pub coefficients: Vec<f32>,
    pub intercepts: Vec<f32>,
    pub labels: Labels,
    pub post: PostTransform,
}

/// A branch comparison `x[feature] <rule> value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    /// `x[feature]` is one of the node's `set`.
    Member,
}

/// Where a branch leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    Node(usize),
    Leaf(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub feature: usize,
    pub rule: Rule,
    pub value: f64,
    /// Members for [`Rule::Member`].
    pub set: Vec<f64>,
    /// A NaN feature takes the true branch.
    pub missing_true: bool,
    pub yes: Child,
    pub no: Child,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Average,
    Sum,
    Min,
    Max,
}

/// Classifier-specific outputs of a tree ensemble.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeClasses {
    pub labels: Labels,
    /// Two labels but every leaf votes for this one class id: onnxruntime's binary case, where
    /// the class score `s` becomes `[1 - s, s]` (all weights positive, label 1 when
    /// `s > 0.5`) or `[-s, s]` (label 1 when `s > 0`).
    pub binary: Option<usize>,
    /// All class weights are non-negative (selects the binary rule above).
    pub weights_positive: bool,
}

/// A tree ensemble.
#[derive(Clone, Debug, PartialEq)]
pub struct Trees {
    pub branches: Vec<Branch>,
    /// Each leaf's `(target, weight)` contributions.
    pub leaves: Vec<Vec<(usize, f64)>>,
    pub roots: Vec<Child>,
    pub n_targets: usize,
    pub aggregate: Aggregate,
    pub post: PostTransform,
    /// Added after aggregation (empty = none).
    pub base_values: Vec<f64>,
    /// `Some` for TreeEnsembleClassifier: label output first, f32 scores second.
    pub classes: Option<TreeClasses>,
    /// The legacy ops (TreeEnsembleClassifier/Regressor) output f32 and compute the average
    /// over the number of trees; TreeEnsemble-5 outputs X's dtype.
    pub legacy: bool,
}

/// SVM kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Linear,
    Poly,
    Rbf,
    Sigmoid,
}

/// SVMClassifier / SVMRegressor attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Svm {
    pub kernel: Kernel,
    pub gamma: f32,
    pub coef0: f32,
    pub degree: i32,
    /// Row-major `[n_vectors, features]`; empty for a linear model.
    pub support_vectors: Vec<f32>,
    pub coefficients: Vec<f32>,
    pub rho: Vec<f32>,
    pub post: PostTransform,
    /// Classifier: support vectors of each class (empty = linear). Regressor: empty.
    pub vectors_per_class: Vec<usize>,
    /// Regressor: number of support vectors (0 = linear).
    pub n_supports: usize,
    pub prob_a: Vec<f32>,
    pub prob_b: Vec<f32>,
    /// Classifier labels.
    pub labels: Option<Labels>,
    /// Regressor: output the sign (+1 / -1) of the score.
    pub one_class: bool,
}

impl MlOp {
    /// Number of score columns of a linear classifier for its coefficient count.
    fn linear_classes(c: &LinearClassifier, features: Option<usize>) -> Dim {
        let n = c.labels.len();
        let rows = if c.intercepts.is_empty() {
            features.filter(|&f| f > 0).map(|f| c.coefficients.len() / f)
        } else {
            Some(c.intercepts.len())
        };
        match rows {
            Some(1) if n == 2 => Dim::Known(2),
            Some(r) => Dim::Known(r),
            None => Dim::Unknown,
        }
    }
}

fn batch(cx: &InferCx<'_>) -> Dim {
    match cx.shape(0) {
        Some([n, ..]) if cx.rank(0) == Some(2) => n.clone(),
        Some([_]) => Dim::Known(1),
        _ => Dim::Unknown,
    }
}

fn features(cx: &InferCx<'_>) -> Option<usize> {
    cx.shape(0).and_then(|s| s.last()).and_then(Dim::known)
}

fn t(dtype: DType, shape: Vec<Dim>) -> ValueType {
    ValueType::tensor(dtype, shape)
}

impl OpFamily for MlOp {
    fn name(&self) -> &'static str {
        match self {
            MlOp::LinearClassifier(_) => "LinearClassifier",
            MlOp::LinearRegressor { .. } => "LinearRegressor",
            MlOp::Normalizer { .. } => "Normalizer",
            MlOp::ZipMap { .. } => "ZipMap",
            MlOp::LabelEncoder { .. } => "LabelEncoder",
            MlOp::Trees(tr) => match (&tr.classes, tr.legacy) {
                (Some(_), _) => "TreeEnsembleClassifier",
                (None, false) => "TreeEnsemble",
                (None, true) => "TreeEnsembleRegressor",
            },
            MlOp::ArrayFeatureExtractor => "ArrayFeatureExtractor",
            MlOp::Binarizer { .. } => "Binarizer",
            MlOp::Scaler { .. } => "Scaler",
            MlOp::Imputer { .. } => "Imputer",
            MlOp::OneHotEncoder { .. } => "OneHotEncoder",
            MlOp::CategoryMapper { .. } => "CategoryMapper",
            MlOp::FeatureVectorizer { .. } => "FeatureVectorizer",
            MlOp::SvmClassifier(_) => "SVMClassifier",
            MlOp::SvmRegressor(_) => "SVMRegressor",
        }
    }

    fn describe(&self) -> String {
        match self {
            MlOp::Trees(t) => format!(
                "{{ {} trees, {} branches, {} leaves, {} targets, {:?}, post {:?} }}",
                t.roots.len(),
                t.branches.len(),
                t.leaves.len(),
                t.n_targets,
                t.aggregate,
                t.post
            ),
            MlOp::LinearClassifier(c) => {
                format!("{{ {} coefficients, {} labels, post {:?} }}", c.coefficients.len(), c.labels.len(), c.post)
            }
            MlOp::SvmClassifier(s) | MlOp::SvmRegressor(s) => format!(
                "{{ {:?} kernel, {} support vector values, {} coefficients, post {:?} }}",
                s.kernel,
                s.support_vectors.len(),
                s.coefficients.len(),
                s.post
            ),
            MlOp::LabelEncoder { keys, values, .. } => {
                format!("{{ {} keys ({}) -> {} }}", keys.len(), keys.dtype(), values.dtype())
            }
            other => {
                let s = format!("{other:?}");
                match s.find(['{', '(']) {
                    Some(i) => s[i..].to_string(),
                    None => String::new(),
                }
            }
        }
    }

    fn macs(&self, cx: &InferCx<'_>, _outputs: &[ValueType]) -> Option<u64> {
        let n = batch(cx).known()? as u64;
        let coefficients = match self {
            MlOp::LinearClassifier(c) => c.coefficients.len(),
            MlOp::LinearRegressor { coefficients, .. } => coefficients.len(),
            _ => return None,
        };
        // One multiply-accumulate per coefficient and row.
        n.checked_mul(coefficients as u64)
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let n = batch(cx);
        Ok(match self {
            MlOp::LinearClassifier(c) => {
                let e = MlOp::linear_classes(c, features(cx));
                vec![t(c.labels.dtype(), vec![n.clone()]), t(DType::F32, vec![n, e])]
            }
            MlOp::LinearRegressor { targets, .. } => vec![t(DType::F32, vec![n, Dim::Known(*targets)])],
            MlOp::Normalizer { .. } => {
                let shape = cx.shape(0).map(|s| s.to_vec());
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape })]
            }
            MlOp::ZipMap { labels } => {
                let map = ValueType::Map(labels.dtype(), Box::new(t(DType::F32, vec![])));
                vec![ValueType::Sequence(Box::new(map))]
            }
            MlOp::LabelEncoder { values, .. } => {
                vec![ValueType::Tensor(TensorType { dtype: Some(values.dtype()), shape: cx.tensor(0).shape.clone() })]
            }
            MlOp::Trees(tr) => {
                let dtype = if tr.legacy { Some(DType::F32) } else { cx.dtype(0) };
                let cols = match &tr.classes {
                    Some(c) => c.labels.len(),
                    None => tr.n_targets,
                };
                let scores = ValueType::Tensor(TensorType { dtype, shape: Some(vec![n.clone(), Dim::Known(cols)]) });
                match &tr.classes {
                    Some(c) => vec![t(c.labels.dtype(), vec![n]), scores],
                    None => vec![scores],
                }
            }
            MlOp::ArrayFeatureExtractor => {
                let k = cx.tensor(1).numel().unwrap_or(Dim::Unknown);
                let shape = cx.shape(0).map(|s| match s {
                    [_] => vec![Dim::Known(1), k.clone()],
                    s => {
                        let mut v = s[..s.len().saturating_sub(1)].to_vec();
                        v.push(k.clone());
                        v
                    }
                });
                vec![cx.like(0, shape)]
            }
            MlOp::Binarizer { .. } | MlOp::Imputer { .. } => vec![cx.same_as(0)],
            MlOp::Scaler { .. } => {
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape: cx.tensor(0).shape.clone() })]
            }
            MlOp::OneHotEncoder { cats, .. } => {
                let shape = cx.shape(0).map(|s| {
                    let mut v = s.to_vec();
                    v.push(Dim::Known(cats.len()));
                    v
                });
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape })]
            }
            MlOp::CategoryMapper { .. } => {
                let dtype = match cx.dtype(0) {
                    Some(DType::String) => Some(DType::I64),
                    Some(DType::I64) => Some(DType::String),
                    _ => None,
                };
                vec![ValueType::Tensor(TensorType { dtype, shape: cx.tensor(0).shape.clone() })]
            }
            MlOp::FeatureVectorizer { dims } => {
                // A 1-D input is one column of N rows (as the ONNX reference reads it).
                let rows = match cx.shape(0) {
                    Some([n]) | Some([n, _]) => n.clone(),
                    _ => Dim::Unknown,
                };
                let cols = dims.iter().try_fold(0usize, |a, &d| a.checked_add(d)).map_or(Dim::Unknown, Dim::Known);
                vec![t(DType::F32, vec![rows, cols])]
            }
            MlOp::SvmClassifier(s) => {
                let labels = s.labels.as_ref().map_or(DType::I64, Labels::dtype);
                vec![t(labels, vec![n.clone()]), t(DType::F32, vec![n, Dim::Unknown])]
            }
            MlOp::SvmRegressor(_) => vec![t(DType::F32, vec![n, Dim::Known(1)])],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_describe_is_a_summary() {
        let t = Trees {
            branches: vec![],
            leaves: vec![vec![(0, 1.0)]; 1000],
            roots: vec![Child::Leaf(0)],
            n_targets: 1,
            aggregate: Aggregate::Sum,
            post: PostTransform::None,
            base_values: vec![],
            classes: None,
            legacy: false,
        };
        let op = MlOp::Trees(Box::new(t));
        assert_eq!(op.name(), "TreeEnsemble");
        assert_eq!(op.describe(), "{ 1 trees, 0 branches, 1000 leaves, 1 targets, Sum, post None }");
        assert_eq!(MlOp::Binarizer { threshold: 0.5 }.describe(), "{ threshold: 0.5 }");
    }
}
