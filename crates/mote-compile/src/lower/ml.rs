//! Classic-ML ops (`ai.onnx.ml`): LinearClassifier / LinearRegressor (`LinearModel` steps),
//! Normalizer, tree ensembles (`TreeEnsemble` steps with their structure as weight tables),
//! Binarizer (a comparison and a Cast), ArrayFeatureExtractor (a Gather), Scaler (Sub and Mul
//! in f64 between Casts, exactly the interpreter's arithmetic), Imputer (a comparison and a
//! Where), FeatureVectorizer (Casts and strided copies into a zero-filled output), LabelEncoder
//! and OneHotEncoder on numbers (`Lookup` steps, then a Gather or a comparison; with strings see
//! `strmap.rs`), SVMs (`Svm`
//! steps), and ZipMap, which
//! emits nothing: its output is the score tensor itself, marked in the file's output signature
//! so the host presents it as the sequence of maps (see `docs/FORMAT.md`, SIGNATURE).

use std::collections::HashMap;

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_format::{OpCode, OutputKind};
use mote_ir::Node;
use mote_ir::ops::ml::{Aggregate, Child, Imputed, Kernel, Labels, MlOp, PostTransform, Rule, Svm, Trees};
use mote_rt::ops::ml::tree::{BINARY, CLASSIFIER, LEAF, NODE_WORDS, WEIGHTS_POSITIVE};
use mote_rt::ops::{Act, BinaryCode, encode};

use super::elementwise::emit_binary;
use super::elementwise::{broadcast_strides, contiguous};
use super::shape::copy;
use super::{Lowerer, R, bail};
use crate::lir::Keys;

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &MlOp) -> R<()> {
    match op {
        MlOp::LinearClassifier(c) => {
            let (x, rows, f) = features(l, n)?;
            let e = if c.intercepts.is_empty() {
                if f == 0 || !c.coefficients.len().is_multiple_of(f) {
                    bail!("LinearClassifier has {} coefficients for {f} features", c.coefficients.len());
                }
                c.coefficients.len() / f
            } else {
                c.intercepts.len()
            };
            if e == 0 || e > mote_rt::ops::ml::linear::MAX_CLASSES {
                bail!("LinearClassifier with {e} classes is not supported by the compiled path (1 to 256)");
            }
            if e.checked_mul(f).is_none_or(|w| c.coefficients.len() < w) {
                bail!("LinearClassifier has {} coefficients for {e} classes x {f} features", c.coefficients.len());
            }
            let nl = c.labels.len();
            if e > 1 && nl < e {
                bail!("LinearClassifier has {nl} labels for {e} classes");
            }
            if matches!(c.labels, Labels::Strings(_)) && e == 1 && nl != 2 {
                bail!("LinearClassifier with one score and string labels is not supported by the compiled path");
            }
            let w = l.weight_f32(vec![e, f], &c.coefficients[..e * f], &format!("{}_coefficients", n.name));
            let b = (!c.intercepts.is_empty())
                .then(|| l.weight_f32(vec![e], &c.intercepts, &format!("{}_intercepts", n.name)));
            let labels = label_table(l, n, &c.labels)?;
            let label = label_output(l, n, 0, rows, &c.labels)?;
            let scores = output_or_temp(l, n, 1, DType::F32, vec![rows, if e == 1 && nl == 2 { 2 } else { e }])?;
            let attrs = encode::linear_model(true, post_code(c.post), rows, f, e);
            l.p.step(OpCode::LinearModel, vec![Some(x), Some(w), b, Some(labels)], vec![label, scores], attrs, &n.name);
            Ok(())
        }
        MlOp::LinearRegressor { coefficients, intercepts, targets, post } => {
            let (x, rows, f) = features(l, n)?;
            let e = *targets;
            if e == 0 || e > mote_rt::ops::ml::linear::MAX_CLASSES || e.checked_mul(f) != Some(coefficients.len()) {
                bail!("LinearRegressor has {} coefficients for {e} targets and {f} features", coefficients.len());
            }
            if !intercepts.is_empty() && intercepts.len() != e {
                bail!("LinearRegressor has {} intercepts for {e} targets", intercepts.len());
            }
            let w = l.weight_f32(vec![e, f], coefficients, &format!("{}_coefficients", n.name));
            let b =
                (!intercepts.is_empty()).then(|| l.weight_f32(vec![e], intercepts, &format!("{}_intercepts", n.name)));
            let y = l.output(n, 0)?;
            let attrs = encode::linear_model(false, post_code(*post), rows, f, e);
            l.p.step(OpCode::LinearModel, vec![Some(x), Some(w), b], vec![y], attrs, &n.name);
            Ok(())
        }
        MlOp::Normalizer { norm } => {
            let (x, rows, f) = features(l, n)?;
            let code = match norm {
                mote_ir::ops::ml::Norm::Max => 0,
                mote_ir::ops::ml::Norm::L1 => 1,
                mote_ir::ops::ml::Norm::L2 => 2,
            };
            let y = l.output(n, 0)?;
            l.p.step(OpCode::Normalizer, vec![Some(x)], vec![y], encode::normalizer(code, rows, f), &n.name);
            Ok(())
        }
        MlOp::ZipMap { labels } => zip_map(l, n, labels),
        MlOp::Trees(t) => trees(l, n, t),
        MlOp::Binarizer { threshold } => binarizer(l, n, *threshold),
        MlOp::ArrayFeatureExtractor => array_feature_extractor(l, n),
        MlOp::Scaler { offset, scale } => scaler(l, n, offset, scale),
        MlOp::Imputer { imputed, replaced_float, replaced_int } => {
            imputer(l, n, imputed, *replaced_float, *replaced_int)
        }
        MlOp::FeatureVectorizer { dims } => feature_vectorizer(l, n, dims),
        MlOp::LabelEncoder { keys, values, default } => label_encoder(l, n, keys, values, default),
        MlOp::OneHotEncoder { cats, zeros } => one_hot_encoder(l, n, cats, *zeros),
        MlOp::CategoryMapper { ints, strings, default_int, default_string } => {
            super::strmap::category_mapper(l, n, ints, strings, *default_int, default_string)
        }
        MlOp::SvmClassifier(s) => svm(l, n, s, true),
        MlOp::SvmRegressor(s) => svm(l, n, s, false),
    }
}

/// Input 0 as `(tensor, rows, columns)`: `[N, C]`, or `[C]` as one row, of a numeric type the
/// ML steps read.
fn features(l: &mut Lowerer<'_>, n: &Node) -> R<(usize, usize, usize)> {
    let x = l.input(n, 0)?;
    let t = &l.p.tensors[x];
    if !matches!(t.dtype, DType::F32 | DType::F64 | DType::I32 | DType::I64) {
        bail!("{} on {} is not supported by the compiled path (f32, f64, int32, int64)", n.op.name(), t.dtype);
    }
    match t.dims[..] {
        [c] => Ok((x, 1, c)),
        [r, c] => Ok((x, r, c)),
        ref d => bail!("{} needs a [N, C] or [C] input, got {d:?}", n.op.name()),
    }
}

fn post_code(p: PostTransform) -> u32 {
    match p {
        PostTransform::None => 0,
        PostTransform::Softmax => 1,
        PostTransform::Logistic => 2,
        PostTransform::SoftmaxZero => 3,
        PostTransform::Probit => 4,
    }
}

fn keys(labels: &Labels) -> Keys {
    match labels {
        Labels::Ints(v) => Keys::Ints(v.clone()),
        Labels::Strings(v) => Keys::Strings(v.clone()),
    }
}

/// The int64 label table a classifier step reads: the labels, or for string labels their
/// indices (the label output then carries the strings in the output signature).
fn label_table(l: &mut Lowerer<'_>, n: &Node, labels: &Labels) -> R<usize> {
    let v: Vec<i64> = match labels {
        Labels::Ints(v) => v.clone(),
        Labels::Strings(v) => (0..v.len() as i64).collect(),
    };
    let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(l.p.weight(DType::I64, vec![v.len()], bytes, format!("{}_labels", n.name)))
}

/// Output `i` of `n`, or a scratch tensor of `dims` when the graph omits it.
fn output_or_temp(l: &mut Lowerer<'_>, n: &Node, i: usize, dtype: DType, dims: Vec<usize>) -> R<usize> {
    if n.outputs.get(i).copied().flatten().is_some() {
        l.output(n, i)
    } else {
        Ok(l.p.arena(dtype, dims, format!("{}_unused{i}", n.name)))
    }
}

/// A classifier's label output `i` (`rows` int64): string labels become indices, presented
/// as the strings through the output signature, so the value must be a graph output.
fn label_output(l: &mut Lowerer<'_>, n: &Node, i: usize, rows: usize, labels: &Labels) -> R<usize> {
    let Labels::Strings(_) = labels else { return output_or_temp(l, n, i, DType::I64, vec![rows]) };
    let Some(v) = n.outputs.get(i).copied().flatten() else {
        return Ok(l.p.arena(DType::I64, vec![rows], format!("{}_unused{i}", n.name)));
    };
    if !l.g.outputs.contains(&v) {
        bail!("string class labels are compiled only as a graph output (node '{}' feeds them to another node)", n.name);
    }
    let t = l.p.arena(DType::I64, vec![rows], &l.g.value(v).name);
    l.bind(n, i, t)?;
    l.signatures.insert(v, (OutputKind::Labels, keys(labels)));
    Ok(t)
}

/// ZipMap: the output is input 0's tensor, presented as maps through the output signature.
fn zip_map(l: &mut Lowerer<'_>, n: &Node, labels: &Labels) -> R<()> {
    let x = l.input(n, 0)?;
    let (dtype, dims) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    let c = *dims.last().unwrap_or(&0);
    if dtype != DType::F32 || !matches!(dims.len(), 1 | 2) {
        bail!("ZipMap needs an f32 [N, C] or [C] input, got {dtype} {dims:?}");
    }
    if c != labels.len() || c == 0 {
        bail!("ZipMap has {} labels but the input has {c} columns", labels.len());
    }
    let v = n.outputs.first().copied().flatten().ok_or("ZipMap's output is missing")?;
    if !l.g.outputs.contains(&v) {
        bail!("ZipMap is compiled only as a graph output (its maps feed another node here)");
    }
    l.bind(n, 0, x)?;
    l.signatures.insert(v, (OutputKind::ZipMap, keys(labels)));
    Ok(())
}

/// Binarizer: `y = cast(x > threshold)` (integers compare with the threshold's floor).
fn binarizer(l: &mut Lowerer<'_>, n: &Node, threshold: f32) -> R<()> {
    let x = l.input(n, 0)?;
    let (dtype, dims) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    let th = threshold as f64;
    let bytes: Vec<u8> = match dtype {
        DType::F32 => threshold.to_le_bytes().to_vec(),
        DType::F64 => th.to_le_bytes().to_vec(),
        // x > NaN is never true: compare with the largest value instead.
        DType::I64 => (if th.is_nan() { i64::MAX } else { th.floor() as i64 }).to_le_bytes().to_vec(),
        DType::I32 => (if th.is_nan() { i32::MAX } else { th.floor() as i32 }).to_le_bytes().to_vec(),
        d => bail!("Binarizer on {d} is not supported by the compiled path (f32, f64, int32, int64)"),
    };
    let t = l.p.weight(dtype, vec![], bytes, format!("{}_threshold", n.name));
    let above = l.p.arena(DType::Bool, dims, format!("{}_above", n.name));
    emit_binary(l, BinaryCode::Greater, x, t, above, Act::NONE, &n.name)?;
    let y = l.output(n, 0)?;
    l.p.step(OpCode::Cast, vec![Some(above)], vec![y], encode::cast(true, RoundMode::default()), &n.name);
    Ok(())
}

/// ArrayFeatureExtractor: a Gather along the last axis (a 1-D X is one row).
fn array_feature_extractor(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let x = l.input(n, 0)?;
    let idx = l.input(n, 1)?;
    let dims = l.p.tensors[x].dims.clone();
    let Some(&c) = dims.last() else { bail!("ArrayFeatureExtractor needs X of rank >= 1") };
    if !matches!(l.p.tensors[idx].dtype, DType::I64 | DType::I32) {
        bail!("ArrayFeatureExtractor indices must be int64 or int32");
    }
    if let Some(k) = l.konst(l.in_value(n, 1)?)
        && let Some(bad) = k.to_i64_vec().map_err(|e| e.to_string())?.into_iter().find(|&i| i < 0 || i as usize >= c)
    {
        bail!("ArrayFeatureExtractor index {bad} is out of range for {c} columns");
    }
    let outer = dims.iter().product::<usize>().checked_div(c).unwrap_or(0);
    let y = l.output(n, 0)?;
    l.p.step(OpCode::Gather, vec![Some(x), Some(idx)], vec![y], encode::gather(outer, c, 1), &n.name);
    Ok(())
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn u32_of(v: usize, what: &str) -> R<u32> {
    u32::try_from(v).ok().filter(|&w| w & LEAF == 0).ok_or_else(|| format!("tree ensemble has too many {what}"))
}

/// Tree ensembles: the branches renumbered so every child comes after its node (a walk then
/// always ends), written as weight tables the runtime checks at load.
fn trees(l: &mut Lowerer<'_>, n: &Node, t: &Trees) -> R<()> {
    let (x, rows, f) = features(l, n)?;
    let k = t.n_targets;
    if k == 0 {
        bail!("tree ensemble has no targets");
    }
    // Topological order: reverse post-order of a depth-first walk from the roots.
    let nb = t.branches.len();
    let mut order = Vec::with_capacity(nb);
    let mut state = vec![0u8; nb];
    for &root in &t.roots {
        let Child::Node(r) = root else { continue };
        let mut stack = vec![(r, false)];
        while let Some((b, done)) = stack.pop() {
            if done {
                state[b] = 2;
                order.push(b);
                continue;
            }
            match state.get(b) {
                Some(0) => {}
                Some(1) => bail!("tree ensemble branch {b} is part of a cycle"),
                Some(_) => continue,
                None => bail!("tree ensemble refers to branch {b} of {nb}"),
            }
            state[b] = 1;
            stack.push((b, true));
            for c in [t.branches[b].yes, t.branches[b].no] {
                if let Child::Node(c) = c {
                    stack.push((c, false));
                }
            }
        }
    }
    order.reverse();
    let mut new_index: HashMap<usize, usize> = HashMap::new();
    for (i, &b) in order.iter().enumerate() {
        new_index.insert(b, i);
    }
    let link = |c: Child| -> R<u32> {
        Ok(match c {
            Child::Node(b) => u32_of(new_index[&b], "branches")?,
            Child::Leaf(v) => u32_of(v, "leaves")? | LEAF,
        })
    };
    let (mut nodes, mut values, mut members) = (Vec::new(), Vec::new(), Vec::new());
    for &b in &order {
        let br = &t.branches[b];
        if br.feature >= f {
            bail!("tree node reads feature {} but the input has {f}", br.feature);
        }
        let rule = match br.rule {
            Rule::Leq => 0,
            Rule::Lt => 1,
            Rule::Gte => 2,
            Rule::Gt => 3,
            Rule::Eq => 4,
            Rule::Neq => 5,
            Rule::Member => 6,
        };
        let start = members.len();
        if br.rule == Rule::Member {
            members.extend_from_slice(&br.set);
        }
        nodes.extend([
            br.feature as u32,
            rule | (u32::from(br.missing_true) << 8),
            link(br.yes)?,
            link(br.no)?,
            u32_of(start, "set members")?,
            u32_of(members.len() - start, "set members")?,
        ]);
        values.push(br.value);
    }
    let (mut leaves, mut targets, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for lf in &t.leaves {
        leaves.extend([u32_of(targets.len(), "leaf weights")?, u32_of(lf.len(), "leaf weights")?]);
        for &(target, w) in lf {
            if target >= k {
                bail!("tree leaf votes for target {target} of {k}");
            }
            targets.push(target as u32);
            weights.push(w);
        }
    }
    let roots = t.roots.iter().map(|&r| link(r)).collect::<R<Vec<u32>>>()?;
    let base: Vec<f64> = (0..k)
        .map(|j| match t.base_values.len() {
            0 => 0.0,
            1 => t.base_values[0],
            _ => t.base_values.get(j).copied().unwrap_or(0.0),
        })
        .collect();
    let name = &n.name;
    let mut w = |dtype: DType, dims: Vec<usize>, bytes: Vec<u8>, what: &str| {
        Some(l.p.weight(dtype, dims, bytes, format!("{name}_{what}")))
    };
    let mut inputs = vec![Some(x)];
    inputs.push(w(DType::U32, vec![order.len(), NODE_WORDS], u32_bytes(&nodes), "nodes"));
    inputs.push(w(DType::F64, vec![values.len()], f64_bytes(&values), "values"));
    inputs.push(w(DType::F64, vec![members.len()], f64_bytes(&members), "members"));
    inputs.push(w(DType::U32, vec![t.leaves.len(), 2], u32_bytes(&leaves), "leaves"));
    inputs.push(w(DType::U32, vec![targets.len()], u32_bytes(&targets), "targets"));
    inputs.push(w(DType::F64, vec![weights.len()], f64_bytes(&weights), "weights"));
    inputs.push(w(DType::U32, vec![roots.len()], u32_bytes(&roots), "roots"));
    inputs.push(w(DType::F64, vec![k], f64_bytes(&base), "base"));
    let aggregate = match t.aggregate {
        Aggregate::Average => 0,
        Aggregate::Sum => 1,
        Aggregate::Min => 2,
        Aggregate::Max => 3,
    };
    let Some(classes) = &t.classes else {
        let y = l.output(n, 0)?;
        let yt = l.p.tensors[y].dtype;
        if !matches!(yt, DType::F32 | DType::F64) {
            bail!("TreeEnsemble with {yt} output is not supported by the compiled path (f32, f64)");
        }
        let attrs = encode::tree_ensemble(rows, f, k, aggregate, post_code(t.post), 0, 0);
        l.p.step(OpCode::TreeEnsemble, inputs, vec![y], attrs, &n.name);
        return Ok(());
    };
    let nl = classes.labels.len();
    let mut flags = CLASSIFIER;
    if classes.weights_positive {
        flags |= WEIGHTS_POSITIVE;
    }
    let binary_class = classes.binary.unwrap_or(0);
    if classes.binary.is_some() {
        flags |= BINARY;
        if nl != 2 || k < 2 || binary_class >= k {
            bail!("binary tree classifier with {nl} labels and {k} score columns");
        }
    } else if nl != 1 && nl < k {
        bail!("TreeEnsembleClassifier has {nl} labels for {k} score columns");
    }
    if matches!(classes.labels, Labels::Strings(_)) && nl == 1 {
        bail!("TreeEnsembleClassifier with a single string label is not supported by the compiled path");
    }
    inputs.push(Some(label_table(l, n, &classes.labels)?));
    let label = label_output(l, n, 0, rows, &classes.labels)?;
    let scores = output_or_temp(l, n, 1, DType::F32, vec![rows, k])?;
    let attrs = encode::tree_ensemble(rows, f, k, aggregate, post_code(t.post), flags, binary_class);
    l.p.step(OpCode::TreeEnsemble, inputs, vec![label, scores], attrs, &n.name);
    Ok(())
}

/// A Cast of tensor `x` to `to` (a new arena tensor; `x` itself when it already is).
fn cast_to(l: &mut Lowerer<'_>, n: &Node, x: usize, to: DType) -> usize {
    if l.p.tensors[x].dtype == to {
        return x;
    }
    let dims = l.p.tensors[x].dims.clone();
    let t = l.p.arena(to, dims, format!("{}_{to}", n.name));
    l.p.step(OpCode::Cast, vec![Some(x)], vec![t], encode::cast(true, RoundMode::default()), &n.name);
    t
}

/// A per-feature constant (`[c]`, or one value for all) as a weight broadcasting over `[.., c]`.
fn per_feature<T: Copy>(v: &[T], c: usize, what: &str, n: &Node) -> R<Vec<T>> {
    match v.len() {
        1 => Ok(vec![v[0]]),
        len if len == c => Ok(v.to_vec()),
        len => bail!("{} {what} has {len} values for {c} features", n.op.name()),
    }
}

/// Scaler: `y = f32((f64(x) - offset) * scale)`.
fn scaler(l: &mut Lowerer<'_>, n: &Node, offset: &[f32], scale: &[f32]) -> R<()> {
    let (x, _, c) = features(l, n)?;
    let dims = l.p.tensors[x].dims.clone();
    let as_f64 = |v: Vec<f32>| -> Vec<u8> { v.iter().flat_map(|&f| (f as f64).to_le_bytes()).collect() };
    let off = per_feature(offset, c, "offset", n)?;
    let sc = per_feature(scale, c, "scale", n)?;
    let off = l.p.weight(DType::F64, vec![off.len()], as_f64(off), format!("{}_offset", n.name));
    let sc = l.p.weight(DType::F64, vec![sc.len()], as_f64(sc), format!("{}_scale", n.name));
    let wide = cast_to(l, n, x, DType::F64);
    let centered = l.p.arena(DType::F64, dims.clone(), format!("{}_centered", n.name));
    emit_binary(l, BinaryCode::Sub, wide, off, centered, Act::NONE, &n.name)?;
    let scaled = l.p.arena(DType::F64, dims, format!("{}_scaled", n.name));
    emit_binary(l, BinaryCode::Mul, centered, sc, scaled, Act::NONE, &n.name)?;
    let y = l.output(n, 0)?;
    l.p.step(OpCode::Cast, vec![Some(scaled)], vec![y], encode::cast(true, RoundMode::default()), &n.name);
    Ok(())
}

/// Imputer: `y = where(x == replaced, imputed, x)`; a NaN `replaced` matches NaNs, written
/// `where(x == x, x, imputed)`.
fn imputer(l: &mut Lowerer<'_>, n: &Node, imputed: &Imputed, rf: f32, ri: i64) -> R<()> {
    let x = l.input(n, 0)?;
    let (dtype, dims) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    let c = match dims[..] {
        [c] | [_, c] => c,
        ref d => bail!("Imputer needs a [N, C] or [C] tensor, got {d:?}"),
    };
    let name = format!("{}_imputed", n.name);
    let (fill, replaced) = match (dtype, imputed) {
        (DType::F32, Imputed::Floats(f)) => {
            let f = per_feature(f, c, "imputed_value_floats", n)?;
            let b = f.iter().flat_map(|v| v.to_le_bytes()).collect();
            (l.p.weight(dtype, vec![f.len()], b, name), rf.to_le_bytes().to_vec())
        }
        (DType::F64, Imputed::Floats(f)) => {
            let f = per_feature(f, c, "imputed_value_floats", n)?;
            let b = f.iter().flat_map(|&v| (v as f64).to_le_bytes()).collect();
            (l.p.weight(dtype, vec![f.len()], b, name), (rf as f64).to_le_bytes().to_vec())
        }
        (DType::I64, Imputed::Ints(f)) => {
            let f = per_feature(f, c, "imputed_value_int64s", n)?;
            let b = f.iter().flat_map(|v| v.to_le_bytes()).collect();
            (l.p.weight(dtype, vec![f.len()], b, name), ri.to_le_bytes().to_vec())
        }
        (DType::I32, Imputed::Ints(f)) => {
            let f = per_feature(f, c, "imputed_value_int64s", n)?;
            let Ok(r) = i32::try_from(ri) else { bail!("Imputer replaced_value_int64 {ri} is outside int32") };
            let b = f.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect();
            (l.p.weight(dtype, vec![f.len()], b, name), r.to_le_bytes().to_vec())
        }
        _ => bail!("Imputer: input {dtype} does not match the imputed values' type"),
    };
    let mask = l.p.arena(DType::Bool, dims.clone(), format!("{}_mask", n.name));
    let nan = rf.is_nan() && dtype.is_float();
    let (a, b) = if nan {
        emit_binary(l, BinaryCode::Equal, x, x, mask, Act::NONE, &n.name)?;
        (x, fill)
    } else {
        let r = l.p.weight(dtype, vec![], replaced, format!("{}_replaced", n.name));
        emit_binary(l, BinaryCode::Equal, x, r, mask, Act::NONE, &n.name)?;
        (fill, x)
    };
    let y = l.output(n, 0)?;
    let s: Vec<Vec<isize>> =
        [mask, a, b].iter().map(|&t| broadcast_strides(&l.p.tensors[t].dims, &dims)).collect::<R<_>>()?;
    let attrs = encode::where_(&dims, [&s[0], &s[1], &s[2], &contiguous(&dims)]);
    l.p.step(OpCode::Where, vec![Some(mask), Some(a), Some(b)], vec![y], attrs, &n.name);
    Ok(())
}

/// FeatureVectorizer: each input (a 1-D input is a column) cast to f32 and copied into its
/// column range of the output, cut or zero-padded to its `inputdimensions` entry.
fn feature_vectorizer(l: &mut Lowerer<'_>, n: &Node, widths: &[usize]) -> R<()> {
    let ins: Vec<usize> = (0..n.inputs.len()).map(|i| l.input(n, i)).collect::<R<_>>()?;
    if ins.len() != widths.len() {
        bail!("FeatureVectorizer has {} inputs for {} inputdimensions", ins.len(), widths.len());
    }
    let y = l.output(n, 0)?;
    let &[rows, total] = l.p.tensors[y].dims.as_slice() else { bail!("FeatureVectorizer output must be 2-D") };
    let mut parts = Vec::with_capacity(ins.len());
    for &x in &ins {
        let (r, cols) = match l.p.tensors[x].dims[..] {
            [r] => (r, 1),
            [r, c] => (r, c),
            ref d => bail!("FeatureVectorizer needs [N, C] or [N] inputs, got {d:?}"),
        };
        if r != rows {
            bail!("FeatureVectorizer inputs have different row counts");
        }
        if !matches!(l.p.tensors[x].dtype, DType::F32 | DType::F64 | DType::I32 | DType::I64) {
            bail!("FeatureVectorizer on {} is not supported by the compiled path", l.p.tensors[x].dtype);
        }
        parts.push((x, cols));
    }
    if widths.iter().zip(&parts).any(|(&d, &(_, cols))| d > cols) {
        l.p.step(OpCode::Fill, vec![], vec![y], encode::fill(0), &n.name);
    }
    let mut off = 0;
    for (&d, &(x, cols)) in widths.iter().zip(&parts) {
        let take = d.min(cols);
        if take > 0 && rows > 0 {
            let xf = cast_to(l, n, x, DType::F32);
            let dims = [rows, take];
            copy(l, xf, y, &dims, (0, &[cols as isize, 1]), (off, &[total as isize, 1]), &n.name);
        }
        off += d;
    }
    Ok(())
}

/// A `Lookup` of `x` in int64 `keys` (integer inputs, or floats truncated toward zero): the
/// int64 positions, `keys.len()` for a miss (a run-time data error when `strict`).
pub(super) fn lookup(l: &mut Lowerer<'_>, n: &Node, x: usize, keys: &[i64], strict: bool) -> usize {
    let b = keys.iter().flat_map(|x| x.to_le_bytes()).collect();
    let k = l.p.weight(DType::I64, vec![keys.len()], b, format!("{}_keys", n.name));
    let idx = l.p.arena(DType::I64, l.p.tensors[x].dims.clone(), format!("{}_positions", n.name));
    l.p.step(OpCode::Lookup, vec![Some(x), Some(k)], vec![idx], encode::lookup(strict), &n.name);
    idx
}

/// LabelEncoder on numbers: `y = (values ++ default)[position of x in keys]`.
fn label_encoder(
    l: &mut Lowerer<'_>,
    n: &Node,
    keys: &mote_ir::Tensor,
    values: &mote_ir::Tensor,
    default: &mote_ir::Tensor,
) -> R<()> {
    let x = l.input(n, 0)?;
    let xt = l.p.tensors[x].dtype;
    let (kt, vt) = (keys.dtype(), values.dtype());
    if kt == DType::String {
        return super::strmap::label_encoder(l, n, keys, values, default);
    }
    if !matches!(xt, DType::F32 | DType::F64 | DType::I32 | DType::I64) {
        bail!("LabelEncoder on {xt} is not supported by the compiled path (f32, f64, int32, int64)");
    }
    let (float_x, float_keys) = (xt.is_float(), kt.is_float());
    if float_x != float_keys || !(kt.is_float() || kt.is_int()) {
        bail!("LabelEncoder input is {xt} but its keys are {kt}");
    }
    let dims = l.p.tensors[x].dims.clone();
    let idx = if float_keys {
        let k = keys.to_f64_vec().map_err(|e| e.to_string())?;
        let b = k.iter().flat_map(|v| v.to_le_bytes()).collect();
        let kw = l.p.weight(DType::F64, vec![k.len()], b, format!("{}_keys", n.name));
        let idx = l.p.arena(DType::I64, dims, format!("{}_positions", n.name));
        l.p.step(OpCode::Lookup, vec![Some(x), Some(kw)], vec![idx], encode::lookup(false), &n.name);
        idx
    } else {
        lookup(l, n, x, &keys.to_i64_vec().map_err(|e| e.to_string())?, false)
    };
    if vt == DType::String {
        // The positions index the keys as given: the values in their order.
        if keys.len() != values.len() {
            bail!("LabelEncoder has {} keys and {} values", keys.len(), values.len());
        }
        let order: Vec<usize> = (0..values.len()).collect();
        return super::strmap::values_at(l, n, idx, values, default, &order);
    }
    if default.dtype() != vt || default.len() != 1 {
        bail!("LabelEncoder default must be one {vt} value");
    }
    let mut table = super::tensor_bytes(values)?;
    table.extend(super::tensor_bytes(default)?);
    let t = l.p.weight(vt, vec![values.len() + 1], table, format!("{}_values", n.name));
    let y = l.output(n, 0)?;
    l.p.step(OpCode::Gather, vec![Some(t), Some(idx)], vec![y], encode::gather(1, values.len() + 1, 1), &n.name);
    Ok(())
}

/// OneHotEncoder on numbers: `y = f32(position of x in cats == range(k))` over a new last
/// axis; a value not in `cats` gives zeros, or (without `zeros`) a run-time data error.
fn one_hot_encoder(l: &mut Lowerer<'_>, n: &Node, cats: &Labels, zeros: bool) -> R<()> {
    let x = l.input(n, 0)?;
    let xt = l.p.tensors[x].dtype;
    let (k, idx) = match cats {
        Labels::Strings(c) if xt == DType::String => (c.len(), super::strmap::category_positions(l, n, x, c, !zeros)),
        Labels::Ints(c) if matches!(xt, DType::F32 | DType::F64 | DType::I32 | DType::I64) => {
            (c.len(), lookup(l, n, x, c, !zeros))
        }
        _ => bail!(
            "OneHotEncoder on {xt} is not supported by the compiled path (f32, f64, int32, int64 with integer categories, strings with string categories)"
        ),
    };
    let mut view = l.p.tensors[idx].dims.clone();
    view.push(1);
    let idx = l.p.alias(idx, view, format!("{}_column", n.name));
    let range: Vec<u8> = (0..k as i64).flat_map(|v| v.to_le_bytes()).collect();
    let range = l.p.weight(DType::I64, vec![k], range, format!("{}_range", n.name));
    let y = l.output(n, 0)?;
    let hot = l.p.arena(DType::Bool, l.p.tensors[y].dims.clone(), format!("{}_hot", n.name));
    emit_binary(l, BinaryCode::Equal, idx, range, hot, Act::NONE, &n.name)?;
    l.p.step(OpCode::Cast, vec![Some(hot)], vec![y], encode::cast(true, RoundMode::default()), &n.name);
    Ok(())
}

/// SVMClassifier / SVMRegressor as one `Svm` step; the classifier's score width follows the
/// interpreter (pairwise values, coupled probabilities or per-class scores; a single score of
/// a two-label model becomes two columns).
fn svm(l: &mut Lowerer<'_>, n: &Node, s: &Svm, classifier: bool) -> R<()> {
    use mote_rt::ops::ml::svm::{COEF_POSITIVE, MAX_CLASSES, ONE_CLASS};
    let (x, rows, f) = features(l, n)?;
    let counts: Vec<usize> = if classifier { s.vectors_per_class.clone() } else { vec![] };
    let nv = if classifier { counts.iter().sum() } else { s.n_supports };
    let counts = if nv > 0 { counts } else { vec![] };
    if s.support_vectors.len() != nv * f {
        bail!("SVM has {} support vector values for {nv} vectors of {f} features", s.support_vectors.len());
    }
    if s.rho.is_empty() {
        bail!("SVM has no rho");
    }
    let kernel = match s.kernel {
        Kernel::Linear => 0,
        Kernel::Poly => 1,
        Kernel::Rbf => 2,
        Kernel::Sigmoid => 3,
    };
    let mut flags = 0;
    if s.one_class {
        flags |= ONE_CLASS;
    }
    if s.coefficients.iter().all(|&c| c >= 0.0) {
        flags |= COEF_POSITIVE;
    }
    let name = &n.name;
    let sv = l.weight_f32(vec![nv, f], &s.support_vectors, &format!("{name}_support_vectors"));
    let coef = l.weight_f32(vec![s.coefficients.len()], &s.coefficients, &format!("{name}_coefficients"));
    let rho = l.weight_f32(vec![s.rho.len()], &s.rho, &format!("{name}_rho"));
    let pa = l.weight_f32(vec![s.prob_a.len()], &s.prob_a, &format!("{name}_prob_a"));
    let pb = l.weight_f32(vec![s.prob_b.len()], &s.prob_b, &format!("{name}_prob_b"));
    let attrs =
        encode::svm(classifier, kernel, s.gamma, s.coef0, s.degree, post_code(s.post), flags, rows, f, nv, &counts);
    let mut inputs = vec![Some(x), Some(sv), Some(coef), Some(rho), Some(pa), Some(pb)];
    if !classifier {
        if nv == 0 && s.coefficients.len() != f {
            bail!("linear SVMRegressor has {} coefficients for {f} features", s.coefficients.len());
        }
        let y = l.output(n, 0)?;
        l.p.step(OpCode::Svm, inputs, vec![y], attrs, name);
        return Ok(());
    }
    let labels = match &s.labels {
        Some(Labels::Strings(_)) => {
            bail!("SVMClassifier with string labels is not supported by the compiled path (int64 labels)")
        }
        Some(lb) => lb.clone(),
        None => Labels::Ints(vec![]),
    };
    let nl = labels.len();
    let k = nl.max(1);
    let groups = counts.len();
    if k > MAX_CLASSES || groups > k {
        bail!("SVMClassifier with {k} classes and {groups} vector groups is not supported (at most {MAX_CLASSES})");
    }
    let pairs = groups * groups.saturating_sub(1) / 2;
    if nv > 0 {
        if s.coefficients.len() < groups.saturating_sub(1) * nv || s.rho.len() < pairs {
            bail!(
                "SVMClassifier has {} coefficients and {} rho for {groups} classes of {nv} vectors",
                s.coefficients.len(),
                s.rho.len()
            );
        }
        if !s.prob_a.is_empty() && (s.prob_a.len() < k * (k - 1) / 2 || s.prob_b.len() < k * (k - 1) / 2) {
            bail!("SVMClassifier has too few prob_a / prob_b values for {k} classes");
        }
    } else if s.coefficients.len() != k * f {
        bail!("linear SVMClassifier has {} coefficients for {k} classes x {f} features", s.coefficients.len());
    }
    let raw = if nv > 0 && s.prob_a.is_empty() { pairs } else { k };
    let width = match raw {
        1 if s.post == PostTransform::Probit => 1,
        1 if s.rho.len() == 1 && nl == 2 => 2,
        w => w,
    };
    inputs.push(Some(label_table(l, n, &labels)?));
    let label = output_or_temp(l, n, 0, DType::I64, vec![rows])?;
    let scores = l.p.arena(DType::F32, vec![rows, width], format!("{name}_scores"));
    if n.outputs.get(1).copied().flatten().is_some() {
        l.bind(n, 1, scores)?;
    }
    l.p.step(OpCode::Svm, inputs, vec![label, scores], attrs, name);
    Ok(())
}
