//! Losses over a batch, each returning the mean loss and its gradient with respect to the
//! model's output. Logits are `[rows, classes]`, row-major.

/// Softmax of each row, computed stably (in f64), at temperature `t`.
fn softmax_rows(logits: &[f32], classes: usize, t: f32) -> Vec<f64> {
    let mut p = Vec::with_capacity(logits.len());
    for row in logits.chunks(classes) {
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let e: Vec<f64> = row.iter().map(|&v| f64::from((v - max) / t).exp()).collect();
        let s: f64 = e.iter().sum();
        p.extend(e.iter().map(|v| v / s));
    }
    p
}

fn check(len: usize, classes: usize, rows: usize) -> Result<(), String> {
    if classes == 0 || len != rows * classes {
        return Err(format!("{len} logits are not {rows} rows of {classes} classes"));
    }
    Ok(())
}

/// Softmax cross-entropy against integer labels, with label smoothing `eps` (the target puts
/// `1 - eps + eps / K` on the label and `eps / K` elsewhere).
pub fn cross_entropy(logits: &[f32], classes: usize, labels: &[usize], eps: f32) -> Result<(f32, Vec<f32>), String> {
    check(logits.len(), classes, labels.len())?;
    if let Some(&l) = labels.iter().find(|&&l| l >= classes) {
        return Err(format!("label {l} is not below the class count {classes}"));
    }
    let p = softmax_rows(logits, classes, 1.0);
    let n = labels.len() as f64;
    let (off, on) = (f64::from(eps) / classes as f64, 1.0 - f64::from(eps) + f64::from(eps) / classes as f64);
    let mut loss = 0.0f64;
    let mut grad = Vec::with_capacity(logits.len());
    for (r, &label) in labels.iter().enumerate() {
        for k in 0..classes {
            let target = if k == label { on } else { off };
            let pk = p[r * classes + k];
            loss -= target * pk.max(1e-300).ln();
            grad.push(((pk - target) / n) as f32);
        }
    }
    Ok(((loss / n) as f32, grad))
}

/// Mean squared error over all elements.
pub fn mse(pred: &[f32], target: &[f32]) -> Result<(f32, Vec<f32>), String> {
    if pred.len() != target.len() || pred.is_empty() {
        return Err(format!("{} predictions against {} targets", pred.len(), target.len()));
    }
    let n = pred.len() as f64;
    let loss: f64 = pred.iter().zip(target).map(|(p, t)| f64::from(p - t).powi(2)).sum::<f64>() / n;
    let grad = pred.iter().zip(target).map(|(p, t)| (2.0 * f64::from(p - t) / n) as f32).collect();
    Ok((loss as f32, grad))
}

/// Distillation loss: `T² · KL(softmax(teacher / T) ‖ softmax(student / T))`, the mean over
/// rows (the `T²` keeps gradient sizes comparable across temperatures, as Hinton et al. do).
/// The gradient is with respect to the student's logits.
pub fn distillation(student: &[f32], teacher: &[f32], classes: usize, t: f32) -> Result<(f32, Vec<f32>), String> {
    if student.len() != teacher.len() {
        return Err(format!("{} student logits against {} teacher logits", student.len(), teacher.len()));
    }
    check(student.len(), classes, student.len() / classes.max(1))?;
    if !(t > 0.0 && t.is_finite()) {
        return Err(format!("temperature {t} must be positive"));
    }
    let (ps, pt) = (softmax_rows(student, classes, t), softmax_rows(teacher, classes, t));
    let rows = (student.len() / classes) as f64;
    let t2 = f64::from(t) * f64::from(t);
    let mut loss = 0.0f64;
    for (s, q) in ps.iter().zip(&pt) {
        if *q > 0.0 {
            loss += q * (q.ln() - s.max(1e-300).ln());
        }
    }
    // d/dz_s of T² KL = T² · (p_s - p_t) / T = T (p_s - p_t).
    let grad = ps.iter().zip(&pt).map(|(s, q)| (f64::from(t) * (s - q) / rows) as f32).collect();
    Ok(((t2 * loss / rows) as f32, grad))
}

/// The fraction of rows whose largest logit is at the label.
pub fn accuracy(logits: &[f32], classes: usize, labels: &[usize]) -> f32 {
    if classes == 0 || labels.is_empty() {
        return 0.0;
    }
    let hits = logits
        .chunks(classes)
        .zip(labels)
        .filter(|(row, l)| {
            let best =
                row.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 == **l
        })
        .count();
    hits as f32 / labels.len() as f32
}
