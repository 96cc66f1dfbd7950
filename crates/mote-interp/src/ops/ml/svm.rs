//! SVMClassifier and SVMRegressor, following onnxruntime's (libsvm's) one-vs-one scheme.

use mote_ir::ops::ml::{Kernel, Labels, PostTransform, Svm};
use mote_ir::{Tensor, Value};

use super::{argmax, f32_tensor, logistic, post_transform, rows};
use crate::error::OpError;
use crate::{bail, op_err};

fn kernel(s: &Svm, k: Kernel, a: &[f64], b: &[f32]) -> f64 {
    let dot = || a.iter().zip(b).map(|(x, &y)| x * y as f64).sum::<f64>();
    match k {
        Kernel::Linear => dot(),
        Kernel::Poly => (dot() * s.gamma as f64 + s.coef0 as f64).powi(s.degree),
        Kernel::Sigmoid => (dot() * s.gamma as f64 + s.coef0 as f64).tanh(),
        Kernel::Rbf => {
            let d: f64 = a.iter().zip(b).map(|(x, &y)| (x - y as f64) * (x - y as f64)).sum();
            (-(s.gamma as f64) * d).exp()
        }
    }
}

/// Support vectors as rows of `f` features (checked).
fn vectors(s: &Svm, n: usize, f: usize) -> Result<Vec<&[f32]>, OpError> {
    if s.support_vectors.len() != n * f {
        bail!("SVM has {} support vector values for {n} vectors of {f} features", s.support_vectors.len());
    }
    Ok(if f == 0 { vec![&[][..]; n] } else { s.support_vectors.chunks(f).collect() })
}

pub(super) fn regress(s: &Svm, x: &Tensor) -> Result<Vec<Value>, OpError> {
    let (xv, n, f) = rows(x, "SVMRegressor")?;
    let sv = vectors(s, s.n_supports, f)?;
    if s.n_supports == 0 && s.coefficients.len() != f {
        bail!("linear SVMRegressor has {} coefficients for {f} features", s.coefficients.len());
    }
    let mut y = Vec::with_capacity(n);
    for r in 0..n {
        let row = &xv[r * f..(r + 1) * f];
        let mut v = if s.n_supports > 0 {
            sv.iter().zip(&s.coefficients).map(|(v, &c)| c as f64 * kernel(s, s.kernel, row, v)).sum::<f64>()
        } else {
            kernel(s, Kernel::Linear, row, &s.coefficients)
        };
        v += s.rho[0] as f64;
        y.push(if s.one_class { if v > 0.0 { 1.0 } else { -1.0 } } else { v });
    }
    Ok(vec![Value::Tensor(f32_tensor(vec![n, 1], &y)?)])
}

/// libsvm's pairwise coupling of one-vs-one probabilities `r` (`k x k`) into class
/// probabilities.
fn multiclass_probability(k: usize, r: &[f64]) -> Vec<f64> {
    let mut q = vec![0.0; k * k];
    let mut p = vec![1.0 / k as f64; k];
    let mut qp = vec![0.0; k];
    for t in 0..k {
        for j in 0..k {
            if j < t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = q[j * k + t];
            } else if j > t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
    }
    let eps = 0.005 / k as f64;
    for _ in 0..k.max(100) {
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
        }
        let mut pqp: f64 = (0..k).map(|t| p[t] * qp[t]).sum();
        if qp.iter().all(|&v| (v - pqp).abs() < eps) {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / ((1.0 + diff) * (1.0 + diff));
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

pub(super) fn classify(s: &Svm, x: &Tensor) -> Result<Vec<Value>, OpError> {
    let (xv, n, f) = rows(x, "SVMClassifier")?;
    let classes = s.labels.as_ref().map_or(1, |l| l.len().max(1));
    let nv: usize = s.vectors_per_class.iter().sum();
    let svc = nv > 0;
    let sv = vectors(s, nv, f)?;
    if !svc && s.coefficients.len() != classes * f {
        bail!("linear SVMClassifier has {} coefficients for {classes} classes x {f} features", s.coefficients.len());
    }
    let mut starts = Vec::with_capacity(s.vectors_per_class.len());
    let mut acc = 0;
    for &c in &s.vectors_per_class {
        starts.push(acc);
        acc += c;
    }
    let all_positive = s.coefficients.iter().all(|&c| c >= 0.0);
    let has_proba = svc && !s.prob_a.is_empty();
    let mut all_scores: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut labels: Vec<Label> = Vec::with_capacity(n);
    let mut kern = vec![0.0; nv];
    for r in 0..n {
        let row = &xv[r * f..(r + 1) * f];
        let (scores, votes) = if svc {
            for (j, v) in sv.iter().enumerate() {
                kern[j] = kernel(s, s.kernel, row, v);
            }
            let mut votes = vec![0.0; classes];
            let mut scores = Vec::with_capacity(classes * (classes - 1) / 2);
            let coef = |row: usize, from: usize, len: usize| -> f64 {
                let c = &s.coefficients[row * nv + from..row * nv + from + len];
                c.iter().zip(&kern[from..from + len]).map(|(&a, b)| a as f64 * b).sum()
            };
            let mut e = 0;
            for i in 0..s.vectors_per_class.len() {
                for j in i + 1..s.vectors_per_class.len() {
                    let (si, ci) = (starts[i], s.vectors_per_class[i]);
                    let (sj, cj) = (starts[j], s.vectors_per_class[j]);
                    let v = s.rho[e] as f64 + coef(j - 1, si, ci) + coef(i, sj, cj);
                    votes[if v > 0.0 { i } else { j }] += 1.0;
                    scores.push(v);
                    e += 1;
                }
            }
            if has_proba {
                let mut pr = vec![0.0; classes * classes];
                let mut e = 0;
                for i in 0..classes {
                    for j in i + 1..classes {
                        let sc = scores.get(e).copied().unwrap_or(0.0);
                        let v = 1.0 - logistic(sc * s.prob_a[e] as f64 + s.prob_b[e] as f64);
                        let v = v.clamp(1e-7, 1.0 - 1e-7);
                        pr[i * classes + j] = v;
                        pr[j * classes + i] = 1.0 - v;
                        e += 1;
                    }
                }
                (multiclass_probability(classes, &pr), Some(votes))
            } else {
                (scores, Some(votes))
            }
        } else {
            let scores: Vec<f64> = (0..classes)
                .map(|j| s.rho[0] as f64 + kernel(s, Kernel::Linear, row, &s.coefficients[j * f..(j + 1) * f]))
                .collect();
            (scores, None)
        };
        let (max_class, max_weight) = match &votes {
            Some(v) => {
                let m = argmax(v);
                (m, v[m])
            }
            None if scores.is_empty() => (0, 0.0),
            None => {
                let m = argmax(&scores);
                (m, scores[m])
            }
        };
        let nl = s.labels.as_ref().map_or(0, Labels::len);
        let mut second = false;
        let label = if s.rho.len() == 1 {
            if nl == 2 {
                second = true;
                Label::Index(if !has_proba && all_positive && max_weight >= 0.5 { 1 } else { max_class })
            } else {
                Label::Raw(i64::from(max_weight > 0.0))
            }
        } else {
            Label::Index(max_class)
        };
        labels.push(label);
        all_scores.push(write_scores(scores, s.post, second));
    }
    let width = all_scores.first().map_or(0, Vec::len);
    if all_scores.iter().any(|v| v.len() != width) {
        bail!("SVMClassifier produced rows of different widths");
    }
    let flat: Vec<f64> = all_scores.concat();
    let label_t = match &s.labels {
        Some(Labels::Strings(l)) => {
            let pick = |lb: &Label| match *lb {
                Label::Index(i) => l.get(i).cloned().unwrap_or_default(),
                Label::Raw(v) => usize::try_from(v).ok().and_then(|i| l.get(i)).cloned().unwrap_or_default(),
            };
            Tensor::from_strings(vec![n], labels.iter().map(pick).collect())?
        }
        other => {
            let l = match other {
                Some(Labels::Ints(l)) => &l[..],
                _ => &[],
            };
            let pick = |lb: &Label| match *lb {
                Label::Index(i) => l.get(i).copied().unwrap_or(i as i64),
                Label::Raw(v) => v,
            };
            Tensor::from_vec(vec![n], labels.iter().map(pick).collect::<Vec<_>>())?
        }
    };
    let scores = f32_tensor(vec![n, width], &flat).map_err(|e| op_err!("SVMClassifier: {e}"))?;
    Ok(vec![Value::Tensor(label_t), Value::Tensor(scores)])
}

/// A predicted label: an index into the class labels, or (single `rho`, not two classes) the
/// raw value 1 / 0 as onnxruntime outputs it.
enum Label {
    Index(usize),
    Raw(i64),
}

/// Final score row: post-transform, and a single score becomes two columns for binary models.
fn write_scores(mut v: Vec<f64>, post: PostTransform, binary: bool) -> Vec<f64> {
    if v.len() == 1 {
        let s = v[0];
        if post == PostTransform::Probit {
            post_transform(post, &mut v);
            return v;
        }
        if binary {
            let mut two = vec![-s, s];
            post_transform(post, &mut two);
            return two;
        }
        return v;
    }
    post_transform(post, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupling_of_consistent_pairs() {
        // Two classes with P(0 beats 1) = 0.8: the coupled probabilities are [0.8, 0.2].
        let p = multiclass_probability(2, &[0.0, 0.8, 0.2, 0.0]);
        assert!((p[0] - 0.8).abs() < 1e-3 && (p[1] - 0.2).abs() < 1e-3, "{p:?}");
    }

    #[test]
    fn linear_regressor_and_one_class() {
        let mut s = Svm {
            kernel: Kernel::Linear,
            gamma: 0.0,
            coef0: 0.0,
            degree: 0,
            support_vectors: vec![],
            coefficients: vec![1.0, -1.0],
            rho: vec![0.5],
            post: PostTransform::None,
            vectors_per_class: vec![],
            n_supports: 0,
            prob_a: vec![],
            prob_b: vec![],
            labels: None,
            one_class: false,
        };
        let x = Tensor::from_vec(vec![2, 2], vec![1.0f32, 3.0, 2.0, 0.0]).unwrap();
        let y = regress(&s, &x).unwrap();
        assert_eq!(y[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[-1.5, 2.5]);
        s.one_class = true;
        let y = regress(&s, &x).unwrap();
        assert_eq!(y[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[-1.0, 1.0]);
    }
}
