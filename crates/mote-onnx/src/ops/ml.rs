//! `ai.onnx.ml` ops: ONNX attributes -> [`MlOp`]. Tree ensembles of every form are converted
//! to the linked [`Trees`] representation here, with all cross references checked.

use std::collections::HashMap;

use mote_ir::ops::ml::{
    Aggregate, Branch, Child, Imputed, Kernel, Labels, LinearClassifier, MlOp, Norm, PostTransform, Rule, Svm,
    TreeClasses, Trees,
};
use mote_ir::{DType, Data, Op, Tensor, ValueType};

use super::{NodeCtx, NodeError, invalid, unsupported};

const ML: &str = "ai.onnx.ml";

pub const OPS: &[(&str, &str)] = &[
    (ML, "LinearClassifier"),
    (ML, "LinearRegressor"),
    (ML, "Normalizer"),
    (ML, "ZipMap"),
    (ML, "LabelEncoder"),
    (ML, "TreeEnsemble"),
    (ML, "TreeEnsembleClassifier"),
    (ML, "TreeEnsembleRegressor"),
    (ML, "ArrayFeatureExtractor"),
    (ML, "Binarizer"),
    (ML, "Scaler"),
    (ML, "Imputer"),
    (ML, "OneHotEncoder"),
    (ML, "CategoryMapper"),
    (ML, "FeatureVectorizer"),
    (ML, "SVMClassifier"),
    (ML, "SVMRegressor"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if cx.domain != ML {
        return Ok(None);
    }
    let op = match cx.op_type {
        "LinearClassifier" => {
            cx.expect_inputs(1, 1)?;
            // multi_class is unused by onnxruntime and the ONNX reference: scores are the same.
            cx.ignore(&["multi_class"]);
            let coefficients = req_floats(cx, "coefficients")?;
            let intercepts = cx.floats("intercepts")?.unwrap_or_default();
            let labels = labels(cx, "classlabels_ints", "classlabels_strings")?
                .ok_or_else(|| invalid!("one of classlabels_ints and classlabels_strings is required"))?;
            if !intercepts.is_empty() && coefficients.len() % intercepts.len() != 0 {
                return Err(invalid!("{} coefficients for {} intercepts", coefficients.len(), intercepts.len()));
            }
            let post = post_transform(&cx.string("post_transform", "NONE")?)?;
            MlOp::LinearClassifier(LinearClassifier { coefficients, intercepts, labels, post })
        }
        "LinearRegressor" => {
            cx.expect_inputs(1, 1)?;
            let coefficients = req_floats(cx, "coefficients")?;
            let targets = usize::try_from(cx.int("targets", 1)?).ok().filter(|&t| t > 0);
            let targets = targets.ok_or_else(|| invalid!("targets must be positive"))?;
            let intercepts = cx.floats("intercepts")?.unwrap_or_default();
            if coefficients.len() % targets != 0 || !(intercepts.is_empty() || intercepts.len() == targets) {
                return Err(invalid!(
                    "{} coefficients / {} intercepts for {targets} targets",
                    coefficients.len(),
                    intercepts.len()
                ));
            }
            let post = post_transform(&cx.string("post_transform", "NONE")?)?;
            MlOp::LinearRegressor { coefficients, intercepts, targets, post }
        }
        "Normalizer" => {
            cx.expect_inputs(1, 1)?;
            let norm = match cx.string("norm", "MAX")?.as_str() {
                "MAX" => Norm::Max,
                "L1" => Norm::L1,
                "L2" => Norm::L2,
                other => return Err(invalid!("unknown norm {other:?}")),
            };
            MlOp::Normalizer { norm }
        }
        "ZipMap" => {
            cx.expect_inputs(1, 1)?;
            let labels = labels(cx, "classlabels_int64s", "classlabels_strings")?
                .ok_or_else(|| invalid!("one of classlabels_int64s and classlabels_strings is required"))?;
            MlOp::ZipMap { labels }
        }
        "LabelEncoder" => {
            cx.expect_inputs(1, 1)?;
            label_encoder(cx)?
        }
        "TreeEnsemble" => {
            cx.expect_inputs(1, 1)?;
            MlOp::Trees(Box::new(tree_ensemble5(cx)?))
        }
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
            cx.expect_inputs(1, 1)?;
            MlOp::Trees(Box::new(legacy_trees(cx, cx.op_type == "TreeEnsembleClassifier")?))
        }
        "ArrayFeatureExtractor" => {
            cx.expect_inputs(2, 2)?;
            MlOp::ArrayFeatureExtractor
        }
        "Binarizer" => {
            cx.expect_inputs(1, 1)?;
            MlOp::Binarizer { threshold: cx.float("threshold", 0.0)? }
        }
        "Scaler" => {
            cx.expect_inputs(1, 1)?;
            let offset = cx.floats("offset")?.unwrap_or_else(|| vec![0.0]);
            let scale = cx.floats("scale")?.unwrap_or_else(|| vec![1.0]);
            if offset.is_empty() || scale.is_empty() {
                return Err(invalid!("Scaler offset and scale must not be empty"));
            }
            MlOp::Scaler { offset, scale }
        }
        "Imputer" => {
            cx.expect_inputs(1, 1)?;
            let imputed = match (cx.floats("imputed_value_floats")?, cx.ints("imputed_value_int64s")?) {
                (Some(f), _) if !f.is_empty() => Imputed::Floats(f),
                (_, Some(i)) if !i.is_empty() => Imputed::Ints(i),
                _ => return Err(invalid!("one of imputed_value_floats and imputed_value_int64s is required")),
            };
            MlOp::Imputer {
                imputed,
                replaced_float: cx.float("replaced_value_float", 0.0)?,
                replaced_int: cx.int("replaced_value_int64", 0)?,
            }
        }
        "OneHotEncoder" => {
            cx.expect_inputs(1, 1)?;
            let cats = labels(cx, "cats_int64s", "cats_strings")?
                .ok_or_else(|| invalid!("one of cats_int64s and cats_strings is required"))?;
            MlOp::OneHotEncoder { cats, zeros: cx.int("zeros", 1)? != 0 }
        }
        "CategoryMapper" => {
            cx.expect_inputs(1, 1)?;
            let ints = cx.ints("cats_int64s")?.unwrap_or_default();
            let strings = cx.strings("cats_strings")?.unwrap_or_default();
            if ints.len() != strings.len() {
                return Err(invalid!("cats_int64s has {} values but cats_strings {}", ints.len(), strings.len()));
            }
            MlOp::CategoryMapper {
                ints,
                strings,
                default_int: cx.int("default_int64", -1)?,
                default_string: cx.string("default_string", "_Unused")?,
            }
        }
        "FeatureVectorizer" => {
            cx.expect_inputs(1, usize::MAX)?;
            let dims = cx.usizes("inputdimensions")?.unwrap_or_default();
            if dims.len() != cx.inputs.len() {
                return Err(invalid!("inputdimensions has {} values for {} inputs", dims.len(), cx.inputs.len()));
            }
            MlOp::FeatureVectorizer { dims }
        }
        "SVMClassifier" => {
            cx.expect_inputs(1, 1)?;
            MlOp::SvmClassifier(Box::new(svm(cx, true)?))
        }
        "SVMRegressor" => {
            cx.expect_inputs(1, 1)?;
            MlOp::SvmRegressor(Box::new(svm(cx, false)?))
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Ml(op)))
}

fn req_floats(cx: &NodeCtx<'_>, name: &str) -> Result<Vec<f32>, NodeError> {
    cx.floats(name)?.ok_or_else(|| invalid!("required attribute `{name}` is missing"))
}

fn labels(cx: &NodeCtx<'_>, ints: &str, strings: &str) -> Result<Option<Labels>, NodeError> {
    match (cx.ints(ints)?, cx.strings(strings)?) {
        (Some(i), None) => Ok(Some(Labels::Ints(i))),
        (None, Some(s)) => Ok(Some(Labels::Strings(s))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid!("only one of `{ints}` and `{strings}` may be given")),
    }
}

fn post_transform(s: &str) -> Result<PostTransform, NodeError> {
    Ok(match s {
        "NONE" => PostTransform::None,
        "SOFTMAX" => PostTransform::Softmax,
        "LOGISTIC" => PostTransform::Logistic,
        "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
        "PROBIT" => PostTransform::Probit,
        other => return Err(invalid!("unknown post_transform {other:?}")),
    })
}

fn vec_tensor<T: mote_ir::Elem>(v: Vec<T>) -> Tensor {
    Tensor::from_vec(vec![v.len()], v).expect("length matches")
}

fn strings_tensor(v: Vec<String>) -> Tensor {
    Tensor::from_strings(vec![v.len()], v).expect("length matches")
}

/// Keys or values of a LabelEncoder from its `*_floats`, `*_int64s`, `*_strings`, `*_tensor`.
fn encoder_list(cx: &NodeCtx<'_>, prefix: &str) -> Result<Option<Tensor>, NodeError> {
    let mut found = Vec::new();
    if let Some(v) = cx.floats(&format!("{prefix}_floats"))? {
        found.push(vec_tensor(v));
    }
    if let Some(v) = cx.ints(&format!("{prefix}_int64s"))? {
        found.push(vec_tensor(v));
    }
    if let Some(v) = cx.strings(&format!("{prefix}_strings"))? {
        found.push(strings_tensor(v));
    }
    if let Some(t) = cx.tensor(&format!("{prefix}_tensor"))? {
        found.push(t.reshape(vec![t.len()]).map_err(|e| invalid!("{prefix}_tensor: {e}"))?);
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(invalid!("only one of the `{prefix}_*` attributes may be given")),
    }
}

fn label_encoder(cx: &NodeCtx<'_>) -> Result<MlOp, NodeError> {
    let default_int = cx.int("default_int64", -1)?;
    let default_string = cx.string("default_string", "_Unused")?;
    let default_float = cx.float("default_float", -0.0)?;
    let default_tensor = cx.tensor("default_tensor")?;
    let (keys, values) = if cx.opset < 2 {
        // LabelEncoder-1: `classes_strings` maps strings to their index or back.
        let classes = cx.strings("classes_strings")?.unwrap_or_default();
        let idx: Vec<i64> = (0..classes.len() as i64).collect();
        match cx.input_type(0) {
            Some(ValueType::Tensor(t)) if t.dtype == Some(DType::String) => (strings_tensor(classes), vec_tensor(idx)),
            Some(ValueType::Tensor(t)) if t.dtype == Some(DType::I64) => (vec_tensor(idx), strings_tensor(classes)),
            _ => return Err(unsupported!("LabelEncoder-1 needs a declared string or int64 input type")),
        }
    } else {
        let keys = encoder_list(cx, "keys")?.ok_or_else(|| invalid!("LabelEncoder needs keys"))?;
        let values = encoder_list(cx, "values")?.ok_or_else(|| invalid!("LabelEncoder needs values"))?;
        (keys, values)
    };
    if keys.len() != values.len() {
        return Err(invalid!("LabelEncoder has {} keys but {} values", keys.len(), values.len()));
    }
    let vd = values.dtype();
    let default = match default_tensor {
        Some(t) if t.len() == 1 && t.dtype() == vd => t.reshape(vec![]).map_err(|e| invalid!("default_tensor: {e}"))?,
        Some(t) => return Err(invalid!("default_tensor must hold one {vd} value, got {t:?}")),
        None => match vd {
            DType::String => Tensor::from_strings(vec![], vec![default_string]).expect("one element"),
            DType::F32 => Tensor::scalar(default_float),
            DType::F64 => Tensor::scalar(default_float as f64),
            d if d.is_int() => {
                let t = Tensor::scalar(default_int);
                match d {
                    DType::I64 => t,
                    DType::I32 => Tensor::scalar(default_int as i32),
                    DType::I16 => Tensor::scalar(default_int as i16),
                    _ => return Err(unsupported!("LabelEncoder values of type {d}")),
                }
            }
            d => return Err(unsupported!("LabelEncoder values of type {d}")),
        },
    };
    if !matches!(
        keys.data(),
        Data::String(_) | Data::I64(_) | Data::I32(_) | Data::I16(_) | Data::F32(_) | Data::F64(_)
    ) {
        return Err(unsupported!("LabelEncoder keys of type {}", keys.dtype()));
    }
    Ok(MlOp::LabelEncoder { keys, values, default })
}

fn aggregate(s: &str) -> Result<Aggregate, NodeError> {
    Ok(match s {
        "AVERAGE" => Aggregate::Average,
        "SUM" => Aggregate::Sum,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => return Err(invalid!("unknown aggregate_function {other:?}")),
    })
}

fn floats_or_tensor(cx: &NodeCtx<'_>, name: &str) -> Result<Option<Vec<f64>>, NodeError> {
    let f = cx.floats(name)?;
    let t = cx.tensor(&format!("{name}_as_tensor"))?;
    match (f, t) {
        (Some(f), None) => Ok(Some(f.into_iter().map(f64::from).collect())),
        (None, Some(t)) => Ok(Some(t.to_f64_vec().map_err(|e| invalid!("{name}_as_tensor: {e}"))?)),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid!("only one of `{name}` and `{name}_as_tensor` may be given")),
    }
}

fn ints_req(cx: &NodeCtx<'_>, name: &str, len: usize) -> Result<Vec<i64>, NodeError> {
    let v = cx.ints(name)?.ok_or_else(|| invalid!("required attribute `{name}` is missing"))?;
    if v.len() != len {
        return Err(invalid!("`{name}` has {} values, expected {len}", v.len()));
    }
    Ok(v)
}

fn to_usize(v: i64, what: &str) -> Result<usize, NodeError> {
    usize::try_from(v).map_err(|_| invalid!("{what} must be non-negative, got {v}"))
}

/// TreeEnsembleClassifier / TreeEnsembleRegressor (ai.onnx.ml 1 and 3).
fn legacy_trees(cx: &NodeCtx<'_>, classifier: bool) -> Result<Trees, NodeError> {
    cx.ignore(&["nodes_hitrates", "nodes_hitrates_as_tensor"]);
    let tree_ids =
        cx.ints("nodes_treeids")?.ok_or_else(|| invalid!("required attribute `nodes_treeids` is missing"))?;
    let n = tree_ids.len();
    let node_ids = ints_req(cx, "nodes_nodeids", n)?;
    let features = ints_req(cx, "nodes_featureids", n)?;
    let modes = cx.strings("nodes_modes")?.unwrap_or_default();
    let values = floats_or_tensor(cx, "nodes_values")?.unwrap_or_else(|| vec![0.0; n]);
    let yes = ints_req(cx, "nodes_truenodeids", n)?;
    let no = ints_req(cx, "nodes_falsenodeids", n)?;
    let missing = cx.ints("nodes_missing_value_tracks_true")?.unwrap_or_else(|| vec![0; n]);
    if modes.len() != n || values.len() != n || missing.len() != n {
        return Err(invalid!("the nodes_* attributes must all have {n} values"));
    }
    let mut index = HashMap::new();
    for i in 0..n {
        if index.insert((tree_ids[i], node_ids[i]), i).is_some() {
            return Err(invalid!("node ({}, {}) is defined twice", tree_ids[i], node_ids[i]));
        }
    }
    // Leaf contributions: (tree, node) -> (target, weight).
    let p = if classifier { "class" } else { "target" };
    let t_tree = cx.ints(&format!("{p}_treeids"))?.unwrap_or_default();
    let m = t_tree.len();
    let t_node = ints_req(cx, &format!("{p}_nodeids"), m)?;
    let t_id = ints_req(cx, &format!("{p}_ids"), m)?;
    let t_w = floats_or_tensor(cx, &format!("{p}_weights"))?.unwrap_or_default();
    if t_w.len() != m {
        return Err(invalid!("{p}_weights has {} values, expected {m}", t_w.len()));
    }
    let (n_targets, classes) = if classifier {
        let labels = labels(cx, "classlabels_int64s", "classlabels_strings")?
            .ok_or_else(|| invalid!("one of classlabels_int64s and classlabels_strings is required"))?;
        let mut ids: Vec<i64> = t_id.clone();
        ids.sort_unstable();
        ids.dedup();
        let binary = if ids.len() == 1 && labels.len() == 2 { Some(to_usize(ids[0], "class id")?) } else { None };
        let weights_positive = t_w.iter().all(|&w| w >= 0.0);
        (labels.len(), Some(TreeClasses { labels, binary, weights_positive }))
    } else {
        let nt = to_usize(cx.int("n_targets", 1)?, "n_targets")?;
        (nt, None)
    };
    let mut leaf_of = vec![usize::MAX; n];
    let mut leaves: Vec<Vec<(usize, f64)>> = Vec::new();
    for i in 0..n {
        if modes[i] == "LEAF" {
            leaf_of[i] = leaves.len();
            leaves.push(Vec::new());
        }
    }
    for j in 0..m {
        let &i = index
            .get(&(t_tree[j], t_node[j]))
            .ok_or_else(|| invalid!("{p} weight {j} refers to missing node ({}, {})", t_tree[j], t_node[j]))?;
        let target = to_usize(t_id[j], "target id")?;
        if target >= n_targets || leaf_of[i] == usize::MAX {
            return Err(invalid!("{p} weight {j}: target {target} out of range or node is not a leaf"));
        }
        leaves[leaf_of[i]].push((target, t_w[j]));
    }
    let mut branch_of = vec![usize::MAX; n];
    let mut nb = 0;
    for i in 0..n {
        if modes[i] != "LEAF" {
            branch_of[i] = nb;
            nb += 1;
        }
    }
    let child = |tree: i64, node: i64| -> Result<Child, NodeError> {
        let &i = index.get(&(tree, node)).ok_or_else(|| invalid!("tree {tree} has no node {node}"))?;
        Ok(if leaf_of[i] != usize::MAX { Child::Leaf(leaf_of[i]) } else { Child::Node(branch_of[i]) })
    };
    let mut branches = Vec::with_capacity(nb);
    for i in 0..n {
        let rule = match modes[i].as_str() {
            "LEAF" => continue,
            "BRANCH_LEQ" => Rule::Leq,
            "BRANCH_LT" => Rule::Lt,
            "BRANCH_GTE" => Rule::Gte,
            "BRANCH_GT" => Rule::Gt,
            "BRANCH_EQ" => Rule::Eq,
            "BRANCH_NEQ" => Rule::Neq,
            other => return Err(invalid!("unknown node mode {other:?}")),
        };
        branches.push(Branch {
            feature: to_usize(features[i], "feature id")?,
            rule,
            value: values[i],
            set: Vec::new(),
            missing_true: missing[i] != 0,
            yes: child(tree_ids[i], yes[i])?,
            no: child(tree_ids[i], no[i])?,
        });
    }
    let mut trees: Vec<i64> = tree_ids.clone();
    trees.sort_unstable();
    trees.dedup();
    let roots = trees
        .iter()
        .map(|&t| {
            let first = tree_ids.iter().position(|&x| x == t).expect("tree id comes from the list");
            Ok(if leaf_of[first] != usize::MAX { Child::Leaf(leaf_of[first]) } else { Child::Node(branch_of[first]) })
        })
        .collect::<Result<Vec<_>, NodeError>>()?;
    let base_values = floats_or_tensor(cx, "base_values")?.unwrap_or_default();
    if !base_values.is_empty() && base_values.len() != n_targets && !(classifier && base_values.len() == 1) {
        return Err(invalid!("base_values has {} values for {n_targets} targets", base_values.len()));
    }
    let aggregate = if classifier { Aggregate::Sum } else { aggregate(&cx.string("aggregate_function", "SUM")?)? };
    let t = Trees {
        branches,
        leaves,
        roots,
        n_targets,
        aggregate,
        post: post_transform(&cx.string("post_transform", "NONE")?)?,
        base_values,
        classes,
        legacy: true,
    };
    check_acyclic(&t)?;
    Ok(t)
}

/// TreeEnsemble (ai.onnx.ml 5).
fn tree_ensemble5(cx: &NodeCtx<'_>) -> Result<Trees, NodeError> {
    cx.ignore(&["nodes_hitrates"]);
    let splits = cx.tensor("nodes_splits")?.ok_or_else(|| invalid!("required attribute `nodes_splits` is missing"))?;
    let splits = splits.to_f64_vec().map_err(|e| invalid!("nodes_splits: {e}"))?;
    let n = splits.len();
    let features = ints_req(cx, "nodes_featureids", n)?;
    let modes = cx.tensor("nodes_modes")?.ok_or_else(|| invalid!("required attribute `nodes_modes` is missing"))?;
    let modes = modes.to_i64_vec().map_err(|e| invalid!("nodes_modes: {e}"))?;
    let yes = ints_req(cx, "nodes_truenodeids", n)?;
    let no = ints_req(cx, "nodes_falsenodeids", n)?;
    let yes_leaf = ints_req(cx, "nodes_trueleafs", n)?;
    let no_leaf = ints_req(cx, "nodes_falseleafs", n)?;
    let missing = cx.ints("nodes_missing_value_tracks_true")?.unwrap_or_else(|| vec![0; n]);
    if modes.len() != n || missing.len() != n {
        return Err(invalid!("the nodes_* attributes must all have {n} values"));
    }
    let targets =
        cx.ints("leaf_targetids")?.ok_or_else(|| invalid!("required attribute `leaf_targetids` is missing"))?;
    let weights = cx.tensor("leaf_weights")?.ok_or_else(|| invalid!("required attribute `leaf_weights` is missing"))?;
    let weights = weights.to_f64_vec().map_err(|e| invalid!("leaf_weights: {e}"))?;
    if targets.len() != weights.len() {
        return Err(invalid!("{} leaf_targetids for {} leaf_weights", targets.len(), weights.len()));
    }
    let n_targets = to_usize(cx.req_int("n_targets")?, "n_targets")?;
    let leaves = targets
        .iter()
        .zip(&weights)
        .map(|(&t, &w)| {
            let t = to_usize(t, "leaf target id")?;
            if t >= n_targets {
                return Err(invalid!("leaf target {t} is out of range for {n_targets} targets"));
            }
            Ok(vec![(t, w)])
        })
        .collect::<Result<Vec<_>, NodeError>>()?;
    // Set members: one NaN-terminated group per MEMBER node, in node order.
    let members = match cx.tensor("membership_values")? {
        Some(t) => t.to_f64_vec().map_err(|e| invalid!("membership_values: {e}"))?,
        None => Vec::new(),
    };
    let mut groups = members.split(|v| v.is_nan());
    let child = |is_leaf: i64, id: i64| -> Result<Child, NodeError> {
        let i = to_usize(id, "child id")?;
        if is_leaf != 0 {
            if i >= leaves.len() {
                return Err(invalid!("leaf {i} is out of range"));
            }
            Ok(Child::Leaf(i))
        } else {
            if i >= n {
                return Err(invalid!("node {i} is out of range"));
            }
            Ok(Child::Node(i))
        }
    };
    let mut branches = Vec::with_capacity(n);
    for i in 0..n {
        let rule = match modes[i] {
            0 => Rule::Leq,
            1 => Rule::Lt,
            2 => Rule::Gte,
            3 => Rule::Gt,
            4 => Rule::Eq,
            5 => Rule::Neq,
            6 => Rule::Member,
            m => return Err(invalid!("unknown node mode {m}")),
        };
        let set = if rule == Rule::Member {
            groups.next().ok_or_else(|| invalid!("membership_values has no group for node {i}"))?.to_vec()
        } else {
            Vec::new()
        };
        branches.push(Branch {
            feature: to_usize(features[i], "feature id")?,
            rule,
            value: splits[i],
            set,
            missing_true: missing[i] != 0,
            yes: child(yes_leaf[i], yes[i])?,
            no: child(no_leaf[i], no[i])?,
        });
    }
    let roots = cx
        .ints("tree_roots")?
        .ok_or_else(|| invalid!("required attribute `tree_roots` is missing"))?
        .into_iter()
        .map(|r| {
            let r = to_usize(r, "tree root")?;
            if r >= n {
                return Err(invalid!("tree root {r} is out of range"));
            }
            // A tree that is a single leaf: both branches lead to the same leaf.
            Ok(if yes_leaf[r] != 0 && no_leaf[r] != 0 && yes[r] == no[r] { child(1, yes[r])? } else { Child::Node(r) })
        })
        .collect::<Result<Vec<_>, NodeError>>()?;
    let aggregate = match cx.int("aggregate_function", 1)? {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        a => return Err(invalid!("unknown aggregate_function {a}")),
    };
    let post = match cx.int("post_transform", 0)? {
        0 => PostTransform::None,
        1 => PostTransform::Softmax,
        2 => PostTransform::Logistic,
        3 => PostTransform::SoftmaxZero,
        4 => PostTransform::Probit,
        p => return Err(invalid!("unknown post_transform {p}")),
    };
    let t = Trees {
        branches,
        leaves,
        roots,
        n_targets,
        aggregate,
        post,
        base_values: Vec::new(),
        classes: None,
        legacy: false,
    };
    check_acyclic(&t)?;
    Ok(t)
}

/// Rejects trees whose branches loop (evaluation would never end).
fn check_acyclic(t: &Trees) -> Result<(), NodeError> {
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; t.branches.len()];
    for &root in &t.roots {
        let Child::Node(r) = root else { continue };
        let mut stack = vec![(r, false)];
        while let Some((i, leaving)) = stack.pop() {
            if leaving {
                state[i] = 2;
                continue;
            }
            match state[i] {
                1 => return Err(invalid!("tree branches form a cycle at node {i}")),
                2 => continue,
                _ => {}
            }
            state[i] = 1;
            stack.push((i, true));
            for c in [t.branches[i].yes, t.branches[i].no] {
                if let Child::Node(j) = c {
                    if state[j] == 1 {
                        return Err(invalid!("tree branches form a cycle at node {j}"));
                    }
                    if state[j] == 0 {
                        stack.push((j, false));
                    }
                }
            }
        }
    }
    Ok(())
}

fn svm(cx: &NodeCtx<'_>, classifier: bool) -> Result<Svm, NodeError> {
    let kernel = match cx.string("kernel_type", "LINEAR")?.as_str() {
        "LINEAR" => Kernel::Linear,
        "POLY" => Kernel::Poly,
        "RBF" => Kernel::Rbf,
        "SIGMOID" => Kernel::Sigmoid,
        other => return Err(invalid!("unknown kernel_type {other:?}")),
    };
    let kp = cx.floats("kernel_params")?.unwrap_or_default();
    let param = |i: usize| kp.get(i).copied().unwrap_or(0.0);
    let post = post_transform(&cx.string("post_transform", "NONE")?)?;
    let support_vectors = cx.floats("support_vectors")?.unwrap_or_default();
    let coefficients = cx.floats("coefficients")?.unwrap_or_default();
    let rho = cx.floats("rho")?.unwrap_or_default();
    if rho.is_empty() {
        return Err(invalid!("rho must not be empty"));
    }
    let mut s = Svm {
        kernel,
        gamma: param(0),
        coef0: param(1),
        degree: param(2) as i32,
        support_vectors,
        coefficients,
        rho,
        post,
        vectors_per_class: Vec::new(),
        n_supports: 0,
        prob_a: Vec::new(),
        prob_b: Vec::new(),
        labels: None,
        one_class: false,
    };
    if classifier {
        s.labels = labels(cx, "classlabels_ints", "classlabels_strings")?;
        s.vectors_per_class = cx.usizes("vectors_per_class")?.unwrap_or_default();
        s.prob_a = cx.floats("prob_a")?.unwrap_or_default();
        s.prob_b = cx.floats("prob_b")?.unwrap_or_default();
        let classes = s.labels.as_ref().map_or(1, |l| l.len().max(1));
        let nv = s.vectors_per_class.iter().try_fold(0usize, |a, &v| a.checked_add(v));
        let nv = nv.filter(|&nv| nv <= mote_ir::tensor::MAX_ELEMENTS).ok_or_else(|| {
            invalid!("vectors_per_class {:?} needs more support vectors than supported", s.vectors_per_class)
        })?;
        let pairs = classes * (classes - 1) / 2;
        if s.vectors_per_class.len() > classes {
            return Err(invalid!("vectors_per_class has {} entries for {classes} classes", s.vectors_per_class.len()));
        }
        if nv > 0 && (s.coefficients.len() != (classes - 1) * nv || s.rho.len() < pairs) {
            return Err(invalid!(
                "SVM with {nv} support vectors and {classes} classes needs {} coefficients and {pairs} rho",
                (classes - 1) * nv
            ));
        }
        if nv > 0 && !s.prob_a.is_empty() && (s.prob_a.len() < pairs || s.prob_b.len() < pairs) {
            return Err(invalid!("prob_a and prob_b need {pairs} values"));
        }
    } else {
        s.n_supports = to_usize(cx.int("n_supports", 0)?, "n_supports")?;
        s.one_class = cx.int("one_class", 0)? != 0;
        if post != PostTransform::None {
            return Err(unsupported!("SVMRegressor post_transform other than NONE"));
        }
        if s.n_supports > 0 && s.coefficients.len() < s.n_supports {
            return Err(invalid!("{} coefficients for {} support vectors", s.coefficients.len(), s.n_supports));
        }
    }
    Ok(s)
}
