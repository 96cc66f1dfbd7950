//! `ai.onnx.ml` ops. Inputs are `[N, C]` (a 1-D input is one row); scores are computed in f64
//! and returned as f32 as onnxruntime does.

mod svm;
mod tree;

use std::collections::HashMap;

use mote_ir::ops::ml::{Imputed, Labels, LinearClassifier, MlOp, Norm, PostTransform};
use mote_ir::{DType, Data, Elem, Tensor, Value, dispatch};

use super::{EvalCx, Inputs, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &MlOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        MlOp::LinearClassifier(c) => linear_classifier(c, inputs.tensor(0)?),
        MlOp::LinearRegressor { coefficients, intercepts, targets, post } => {
            let (x, n, c) = rows(inputs.tensor(0)?, "LinearRegressor")?;
            if *targets == 0 || targets.checked_mul(c) != Some(coefficients.len()) {
                bail!("LinearRegressor has {} coefficients for {targets} targets and {c} features", coefficients.len());
            }
            numel(&[n, *targets])?;
            let mut y = affine(&x, n, c, coefficients, intercepts, *targets);
            for row in y.chunks_mut(*targets) {
                post_transform(*post, row);
            }
            one(f32_tensor(vec![n, *targets], &y)?)
        }
        MlOp::Normalizer { norm } => {
            let t = inputs.tensor(0)?;
            let (mut x, _, c) = rows(t, "Normalizer")?;
            for row in x.chunks_mut(c.max(1)) {
                // As onnxruntime: MAX divides by the (signed) row maximum; a zero norm leaves
                // the row unchanged.
                let d = match norm {
                    Norm::Max => row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v)),
                    Norm::L1 => row.iter().map(|v| v.abs()).sum(),
                    Norm::L2 => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
                };
                if d != 0.0 && d.is_finite() {
                    row.iter_mut().for_each(|v| *v /= d);
                }
            }
            one(f32_tensor(t.shape().to_vec(), &x)?)
        }
        MlOp::ZipMap { labels } => {
            let (x, n, c) = rows(inputs.tensor(0)?, "ZipMap")?;
            if c != labels.len() {
                bail!("ZipMap has {} labels but the input has {c} columns", labels.len());
            }
            let keys = labels_tensor(labels, &(0..c).collect::<Vec<_>>())?;
            let maps = (0..n)
                .map(|i| Ok(Value::Map { keys: keys.clone(), values: f32_tensor(vec![c], &x[i * c..(i + 1) * c])? }))
                .collect::<Result<Vec<_>, OpError>>()?;
            Ok(vec![Value::Sequence(maps)])
        }
        MlOp::LabelEncoder { keys, values, default } => one(label_encode(inputs.tensor(0)?, keys, values, default)?),
        MlOp::Trees(t) => tree::eval(t, inputs.tensor(0)?),
        MlOp::ArrayFeatureExtractor => one(array_feature_extractor(inputs.tensor(0)?, inputs.tensor(1)?)?),
        MlOp::Binarizer { threshold } => {
            let x = inputs.tensor(0)?;
            let th = *threshold as f64;
            let data = dispatch!(x.data(), [F32, F64, I64, I32], v => {
                T::wrap(v.iter().map(|&e| T::from_f64(if e.to_f64() > th { 1.0 } else { 0.0 })).collect())
            }, else bail!("Binarizer needs a float or int tensor, got {}", x.dtype()));
            one(Tensor::new(x.shape().to_vec(), data)?)
        }
        MlOp::Scaler { offset, scale } => {
            let t = inputs.tensor(0)?;
            let (x, _, c) = rows(t, "Scaler")?;
            let pick = |v: &[f32], j: usize, what: &str| -> Result<f64, OpError> {
                match v.len() {
                    1 => Ok(v[0] as f64),
                    l if l == c => Ok(v[j] as f64),
                    l => Err(op_err!("Scaler {what} has {l} values for {c} features")),
                }
            };
            let mut y = Vec::with_capacity(x.len());
            for (i, v) in x.iter().enumerate() {
                let j = i % c.max(1);
                y.push((v - pick(offset, j, "offset")?) * pick(scale, j, "scale")?);
            }
            one(f32_tensor(t.shape().to_vec(), &y)?)
        }
        MlOp::Imputer { imputed, replaced_float, replaced_int } => {
            one(impute(inputs.tensor(0)?, imputed, *replaced_float, *replaced_int)?)
        }
        MlOp::OneHotEncoder { cats, zeros } => one(one_hot(inputs.tensor(0)?, cats, *zeros)?),
        MlOp::CategoryMapper { ints, strings, default_int, default_string } => {
            let x = inputs.tensor(0)?;
            match x.data() {
                Data::String(v) => {
                    let m: HashMap<&str, i64> = strings.iter().map(String::as_str).zip(ints.iter().copied()).collect();
                    let y: Vec<i64> = v.iter().map(|s| m.get(s.as_str()).copied().unwrap_or(*default_int)).collect();
                    one(Tensor::from_vec(x.shape().to_vec(), y)?)
                }
                Data::I64(v) => {
                    let m: HashMap<i64, &String> = ints.iter().copied().zip(strings.iter()).collect();
                    let y: Vec<String> =
                        v.iter().map(|i| m.get(i).copied().unwrap_or(default_string).clone()).collect();
                    one(Tensor::from_strings(x.shape().to_vec(), y)?)
                }
                _ => bail!("CategoryMapper needs a string or int64 tensor, got {}", x.dtype()),
            }
        }
        MlOp::FeatureVectorizer { dims } => one(feature_vectorizer(inputs, dims)?),
        MlOp::SvmClassifier(s) => svm::classify(s, inputs.tensor(0)?),
        MlOp::SvmRegressor(s) => svm::regress(s, inputs.tensor(0)?),
    }
}

/// `x` as f64 rows: `(data, n_rows, n_cols)`; a 1-D tensor is one row.
pub(crate) fn rows(x: &Tensor, what: &str) -> Result<(Vec<f64>, usize, usize), OpError> {
    let (n, c) = match x.shape() {
        [c] => (1, *c),
        [n, c] => (*n, *c),
        s => bail!("{what} needs a [N, C] or [C] tensor, got shape {s:?}"),
    };
    if !x.dtype().is_numeric() {
        bail!("{what} needs a numeric tensor, got {}", x.dtype());
    }
    Ok((x.to_f64_vec()?, n, c))
}

pub(crate) fn f32_tensor(shape: Vec<usize>, v: &[f64]) -> Result<Tensor, OpError> {
    Ok(Tensor::from_vec(shape, v.iter().map(|&x| x as f32).collect::<Vec<f32>>())?)
}

/// The labels at `idx` as a 1-D tensor.
pub(crate) fn labels_tensor(labels: &Labels, idx: &[usize]) -> Result<Tensor, OpError> {
    Ok(match labels {
        Labels::Ints(l) => Tensor::from_vec(vec![idx.len()], idx.iter().map(|&i| l[i]).collect::<Vec<_>>())?,
        Labels::Strings(l) => Tensor::from_strings(vec![idx.len()], idx.iter().map(|&i| l[i].clone()).collect())?,
    })
}

/// `x [n, c] @ w^T [c, e] + b` (b empty = 0).
fn affine(x: &[f64], n: usize, c: usize, w: &[f32], b: &[f32], e: usize) -> Vec<f64> {
    let mut y = vec![0.0; n * e];
    for i in 0..n {
        let xr = &x[i * c..(i + 1) * c];
        for j in 0..e {
            let wr = &w[j * c..(j + 1) * c];
            let s: f64 = xr.iter().zip(wr).map(|(a, &b)| a * b as f64).sum();
            y[i * e + j] = s + b.get(j).map_or(0.0, |&v| v as f64);
        }
    }
    y
}

fn logistic(x: f64) -> f64 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 { 1.0 - v } else { v }
}

/// Approximate inverse error function used by onnxruntime and the ONNX reference.
fn erf_inv(x: f64) -> f64 {
    let sgn = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    if x == 0.0 {
        return 0.0;
    }
    let log = x.ln();
    let v = 2.0 / (std::f64::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    sgn * (-v + (v * v - v2).sqrt()).sqrt()
}

/// Applies a post-transform to one row of scores.
pub(crate) fn post_transform(p: PostTransform, row: &mut [f64]) {
    match p {
        PostTransform::None => {}
        PostTransform::Logistic => row.iter_mut().for_each(|v| *v = logistic(*v)),
        PostTransform::Probit => row.iter_mut().for_each(|v| *v = std::f64::consts::SQRT_2 * erf_inv(*v * 2.0 - 1.0)),
        PostTransform::Softmax => {
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
            row.iter_mut().for_each(|v| *v = (*v - m).exp());
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        PostTransform::SoftmaxZero => {
            // Like softmax, but exact zeros stay zero (scaled by e^-max instead of exp'd).
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
            let e = (-m).exp();
            let mut s = 0.0;
            for v in row.iter_mut() {
                *v = if v.abs() > 1e-7 { (*v - m).exp() } else { *v * e };
                s += *v;
            }
            if s == 0.0 {
                row.iter_mut().for_each(|v| *v = 0.5);
            } else {
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
    }
}

/// Index of the first maximum (NaN never wins).
pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn linear_classifier(c: &LinearClassifier, x: &Tensor) -> Result<Vec<Value>, OpError> {
    let (x, n, f) = rows(x, "LinearClassifier")?;
    // The class count comes from the intercepts when given; like onnxruntime, the weights are
    // the first `classes x features` coefficients (models exported with more features than
    // their input takes still run).
    let e = if c.intercepts.is_empty() {
        if f == 0 || !c.coefficients.len().is_multiple_of(f) {
            bail!("LinearClassifier has {} coefficients for {f} features", c.coefficients.len());
        }
        c.coefficients.len() / f
    } else {
        c.intercepts.len()
    };
    if e == 0 {
        bail!("LinearClassifier has no classes (no intercepts and no coefficients)");
    }
    if e.checked_mul(f).is_none_or(|w| c.coefficients.len() < w) {
        bail!("LinearClassifier has {} coefficients for {e} classes x {f} features", c.coefficients.len());
    }
    let mut scores = affine(&x, n, f, &c.coefficients, &c.intercepts, e);
    let n_labels = c.labels.len();
    if e == 1 && n_labels == 2 {
        // onnxruntime's binary case: one score s for two labels. The logistic (or probit)
        // applies to s alone, the scores are [1 - p, p], and the label is the second when s > 0.
        let mut out = Vec::with_capacity(2 * n);
        let mut idx = Vec::with_capacity(n);
        for &s in &scores {
            let mut p = [s];
            if matches!(c.post, PostTransform::Logistic | PostTransform::Probit) {
                post_transform(c.post, &mut p);
            }
            out.extend([1.0 - p[0], p[0]]);
            idx.push(usize::from(s > 0.0));
        }
        let labels = labels_tensor(&c.labels, &idx)?;
        return Ok(vec![Value::Tensor(labels), Value::Tensor(f32_tensor(vec![n, 2], &out)?)]);
    }
    let cols = e;
    for row in scores.chunks_mut(cols) {
        post_transform(c.post, row);
    }
    let label_idx: Vec<usize> = if cols > 1 {
        scores.chunks(cols).map(argmax).collect()
    } else {
        let th = if c.post == PostTransform::None { 0.0 } else { 0.5 };
        scores.iter().map(|&s| usize::from(s >= th)).collect()
    };
    let labels = if cols > 1 {
        if label_idx.iter().any(|&i| i >= n_labels) {
            bail!("LinearClassifier has {n_labels} labels for {cols} classes");
        }
        labels_tensor(&c.labels, &label_idx)?
    } else {
        // A single score: the first label when positive, else 0 / "".
        match &c.labels {
            Labels::Ints(l) => Tensor::from_vec(
                vec![n],
                label_idx.iter().map(|&b| if b == 1 { l.first().copied().unwrap_or(1) } else { 0 }).collect::<Vec<_>>(),
            )?,
            Labels::Strings(l) => Tensor::from_strings(
                vec![n],
                label_idx
                    .iter()
                    .map(|&b| if b == 1 { l.first().cloned().unwrap_or_default() } else { String::new() })
                    .collect(),
            )?,
        }
    };
    Ok(vec![Value::Tensor(labels), Value::Tensor(f32_tensor(vec![n, cols], &scores)?)])
}

/// A hashable lookup key for LabelEncoder: floats compare by value (-0 == 0, NaN == NaN).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Int(i64),
    Float(u64),
    Str(String),
}

fn float_key(v: f64) -> Key {
    let v = if v == 0.0 { 0.0 } else { v };
    Key::Float(if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() })
}

fn keys_of(t: &Tensor) -> Result<Vec<Key>, OpError> {
    Ok(match t.data() {
        Data::String(v) => v.iter().cloned().map(Key::Str).collect(),
        Data::F32(_) | Data::F64(_) => t.to_f64_vec()?.into_iter().map(float_key).collect(),
        _ => t.to_i64_vec()?.into_iter().map(Key::Int).collect(),
    })
}

fn label_encode(x: &Tensor, keys: &Tensor, values: &Tensor, default: &Tensor) -> Result<Tensor, OpError> {
    let same_kind = |a: DType, b: DType| a == b || (a.is_int() && b.is_int()) || (a.is_float() && b.is_float());
    if !same_kind(x.dtype(), keys.dtype()) {
        bail!("LabelEncoder input is {} but its keys are {}", x.dtype(), keys.dtype());
    }
    let mut map = HashMap::new();
    for (i, k) in keys_of(keys)?.into_iter().enumerate() {
        map.entry(k).or_insert(i);
    }
    // Misses index the default, appended after the values.
    let miss = values.len();
    let idx: Vec<usize> = keys_of(x)?.iter().map(|k| map.get(k).copied().unwrap_or(miss)).collect();
    let table = concat_1d(values, default)?;
    Ok(Tensor::new(x.shape().to_vec(), table.data().gather(&idx))?)
}

fn concat_1d(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    let data = match (a.data(), b.data()) {
        (Data::String(x), Data::String(y)) => Data::String(x.iter().chain(y).cloned().collect()),
        (d, _) => mote_ir::dispatch_elem!(d, x => {
            let y = b.typed::<T>()?;
            T::wrap(x.iter().chain(y).copied().collect())
        }, else unreachable!()),
    };
    Ok(Tensor::new(vec![a.len() + b.len()], data)?)
}

fn array_feature_extractor(x: &Tensor, idx: &Tensor) -> Result<Tensor, OpError> {
    let ind = idx.to_i64_vec().map_err(|e| op_err!("ArrayFeatureExtractor indices: {e}"))?;
    let xs = x.shape();
    let Some(&c) = xs.last() else { bail!("ArrayFeatureExtractor needs X of rank >= 1") };
    let cols: Vec<usize> = ind
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&u| u < c)
                .ok_or_else(|| op_err!("ArrayFeatureExtractor index {i} is out of range for {c} columns"))
        })
        .collect::<Result<_, _>>()?;
    let outer = x.len().checked_div(c).unwrap_or(0);
    let mut shape = if xs.len() == 1 { vec![1] } else { xs[..xs.len() - 1].to_vec() };
    shape.push(cols.len());
    numel(&shape)?;
    let flat: Vec<usize> = (0..outer).flat_map(|r| cols.iter().map(move |&j| r * c + j)).collect();
    Ok(Tensor::new(shape, x.data().gather(&flat))?)
}

fn impute(x: &Tensor, imputed: &Imputed, rf: f32, ri: i64) -> Result<Tensor, OpError> {
    let c = match x.shape() {
        [c] | [_, c] => *c,
        s => bail!("Imputer needs a [N, C] or [C] tensor, got {s:?}"),
    };
    let pick = |len: usize, j: usize| -> Result<usize, OpError> {
        match len {
            1 => Ok(0),
            l if l == c => Ok(j),
            l => Err(op_err!("Imputer has {l} imputed values for {c} features")),
        }
    };
    let mut y = x.clone();
    match (y.data_mut(), imputed) {
        (Data::F32(v), Imputed::Floats(f)) => {
            for (i, e) in v.iter_mut().enumerate() {
                if *e == rf || (rf.is_nan() && e.is_nan()) {
                    *e = f[pick(f.len(), i % c)?];
                }
            }
        }
        (Data::F64(v), Imputed::Floats(f)) => {
            for (i, e) in v.iter_mut().enumerate() {
                if *e == rf as f64 || (rf.is_nan() && e.is_nan()) {
                    *e = f[pick(f.len(), i % c)?] as f64;
                }
            }
        }
        (Data::I64(v), Imputed::Ints(f)) => {
            for (i, e) in v.iter_mut().enumerate() {
                if *e == ri {
                    *e = f[pick(f.len(), i % c)?];
                }
            }
        }
        (Data::I32(v), Imputed::Ints(f)) => {
            for (i, e) in v.iter_mut().enumerate() {
                if *e as i64 == ri {
                    *e = f[pick(f.len(), i % c)?] as i32;
                }
            }
        }
        _ => bail!("Imputer: input {} does not match the imputed values' type", x.dtype()),
    }
    Ok(y)
}

fn one_hot(x: &Tensor, cats: &Labels, zeros: bool) -> Result<Tensor, OpError> {
    let k = cats.len();
    let pos: Vec<Option<usize>> = match (cats, x.data()) {
        (Labels::Strings(c), Data::String(v)) => {
            let m: HashMap<&str, usize> = c.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
            v.iter().map(|s| m.get(s.as_str()).copied()).collect()
        }
        (Labels::Ints(c), d) if !matches!(d, Data::String(_)) => {
            let m: HashMap<i64, usize> = c.iter().enumerate().map(|(i, &v)| (v, i)).collect();
            // Float inputs are truncated to integers, as onnxruntime does.
            x.to_f64_vec()?.iter().map(|&v| m.get(&(v as i64)).copied()).collect()
        }
        _ => bail!("OneHotEncoder: input {} does not match the category type", x.dtype()),
    };
    if !zeros && let Some(i) = pos.iter().position(Option::is_none) {
        bail!("OneHotEncoder: element {i} is not a known category (and zeros = 0)");
    }
    let mut shape = x.shape().to_vec();
    shape.push(k);
    let mut y = vec![0.0f32; numel(&shape)?];
    for (i, p) in pos.iter().enumerate() {
        if let Some(j) = p {
            y[i * k + j] = 1.0;
        }
    }
    Ok(Tensor::from_vec(shape, y)?)
}

fn feature_vectorizer(inputs: &Inputs<'_>, dims: &[usize]) -> Result<Tensor, OpError> {
    let ts = inputs.tensors()?;
    if ts.len() != dims.len() {
        bail!("FeatureVectorizer has {} inputs for {} inputdimensions", ts.len(), dims.len());
    }
    let total = dims
        .iter()
        .try_fold(0usize, |a, &d| a.checked_add(d))
        .ok_or_else(|| op_err!("FeatureVectorizer: inputdimensions {dims:?} overflow"))?;
    let mut n = None;
    let mut parts = Vec::with_capacity(ts.len());
    for t in &ts {
        // A 1-D input is a column.
        let (x, rows_, cols) = match t.shape() {
            [r] => (t.to_f64_vec()?, *r, 1),
            _ => rows(t, "FeatureVectorizer")?,
        };
        if *n.get_or_insert(rows_) != rows_ {
            bail!("FeatureVectorizer inputs have different row counts");
        }
        parts.push((x, cols));
    }
    let n = n.unwrap_or(0);
    let mut y = vec![0.0f64; numel(&[n, total])?];
    let mut off = 0;
    for ((x, cols), &d) in parts.iter().zip(dims) {
        for r in 0..n {
            for j in 0..d.min(*cols) {
                y[r * total + off + j] = x[r * cols + j];
            }
        }
        off += d;
    }
    f32_tensor(vec![n, total], &y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_transforms() {
        let mut r = [1.0, 2.0, 3.0];
        post_transform(PostTransform::Softmax, &mut r);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12 && r[2] > r[1]);
        let mut z = [0.0, 0.0];
        post_transform(PostTransform::SoftmaxZero, &mut z);
        assert_eq!(z, [0.5, 0.5]);
        let mut l = [0.0, -50.0];
        post_transform(PostTransform::Logistic, &mut l);
        assert_eq!(l[0], 0.5);
        assert!(l[1] >= 0.0 && l[1] < 1e-20);
        let mut p = [0.5];
        post_transform(PostTransform::Probit, &mut p);
        assert_eq!(p[0], 0.0);
    }

    #[test]
    fn label_encoder_float_keys_and_default() {
        let keys = Tensor::from_vec(vec![3], vec![0.0f32, f32::NAN, 2.5]).unwrap();
        let values = Tensor::from_vec(vec![3], vec![10i64, 20, 30]).unwrap();
        let default = Tensor::scalar(-1i64);
        let x = Tensor::from_vec(vec![4], vec![-0.0f32, f32::NAN, 2.5, 7.0]).unwrap();
        let y = label_encode(&x, &keys, &values, &default).unwrap();
        assert_eq!(y.typed::<i64>().unwrap(), &[10, 20, 30, -1]);
    }

    #[test]
    fn binary_linear_classifier_mirrors_scores() {
        let c = LinearClassifier {
            coefficients: vec![1.0, 1.0],
            intercepts: vec![0.0],
            labels: Labels::Ints(vec![3, 7]),
            post: PostTransform::None,
        };
        let x = Tensor::from_vec(vec![2, 2], vec![1.0f32, 1.0, -1.0, -2.0]).unwrap();
        let out = linear_classifier(&c, &x).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<i64>().unwrap(), &[7, 3]);
        assert_eq!(out[1].as_tensor().unwrap().typed::<f32>().unwrap(), &[-1.0, 2.0, 4.0, -3.0]);
    }
}
