//! Comparing values against references, with per-dtype tolerances.

use mote_ir::{DType, Data, Tensor, Value, dispatch_elem};

/// How close a result must be to its reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Float outputs pass when `|got - want| <= atol + rtol * |want|`.
    pub atol: f64,
    pub rtol: f64,
    /// Integer outputs may differ by this many units (0 = exact; 1 = one quantization step).
    pub int_steps: u64,
}

impl Tolerance {
    /// The default for float32: atol 1e-4, rtol 5e-4; integers and bools exact.
    pub const DEFAULT: Tolerance = Tolerance { atol: 1e-4, rtol: 5e-4, int_steps: 0 };

    /// The tolerance for an output of `dtype`: half-precision floats have ~3 significant
    /// digits (f16) or ~2 (bf16), so a correctly rounded result can differ by an ulp.
    pub fn for_dtype(self, dtype: DType) -> Tolerance {
        match dtype {
            DType::F16 => Tolerance { atol: self.atol.max(1e-3), rtol: self.rtol.max(1e-3), ..self },
            DType::BF16 => Tolerance { atol: self.atol.max(1e-2), rtol: self.rtol.max(1e-2), ..self },
            // float8/float4 results are rounded conversions: compared exactly, by value.
            d if d.is_low_precision_float() => Tolerance { atol: 0.0, rtol: 0.0, ..self },
            _ => self,
        }
    }
}

/// Compares `got` with `want`; `Err` describes the first difference.
pub fn compare_value(got: &Value, want: &Value, tol: Tolerance) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) => compare_tensor(g, w, tol),
        (Value::Sequence(g), Value::Sequence(w)) => {
            if g.len() != w.len() {
                return Err(format!("sequence length {} != expected {}", g.len(), w.len()));
            }
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                compare_value(a, b, tol).map_err(|e| format!("sequence item {i}: {e}"))?;
            }
            Ok(())
        }
        (Value::Map { keys: gk, values: gv }, Value::Map { keys: wk, values: wv }) => {
            compare_tensor(gk, wk, Tolerance { int_steps: 0, ..tol }).map_err(|e| format!("map keys: {e}"))?;
            // Reference files written from Python store float map values as doubles: compare
            // float values as numbers, whatever their width.
            if gv.dtype().is_float() && wv.dtype().is_float() && gv.dtype() != wv.dtype() {
                let g = widen(gv).map_err(|e| format!("map values: {e}"))?;
                let w = widen(wv).map_err(|e| format!("map values: {e}"))?;
                return compare_tensor(&g, &w, tol).map_err(|e| format!("map values: {e}"));
            }
            compare_tensor(gv, wv, tol).map_err(|e| format!("map values: {e}"))
        }
        (Value::Optional(g), Value::Optional(w)) => match (g, w) {
            (None, None) => Ok(()),
            (Some(a), Some(b)) => compare_value(a, b, tol),
            (a, _) => Err(format!(
                "optional is {} but expected {}",
                if a.is_some() { "set" } else { "empty" },
                if a.is_some() { "empty" } else { "set" }
            )),
        },
        // An optional that holds a value compares equal to the bare value.
        (Value::Optional(Some(g)), w) => compare_value(g, w, tol),
        (g, Value::Optional(Some(w))) => compare_value(g, w, tol),
        (g, w) => Err(format!("got a {}, expected a {}", g.kind(), w.kind())),
    }
}

/// The largest `|got - want|` over all elements of two values of the same structure (integers
/// in units, i.e. quantization steps), or `None` if their structure or shapes differ.
pub fn max_abs_diff(got: &Value, want: &Value) -> Option<f64> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) if g.shape() == w.shape() => {
            let (g, w) = (g.to_f64_vec().ok()?, w.to_f64_vec().ok()?);
            Some(g.iter().zip(&w).map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() }).fold(0.0, f64::max))
        }
        (Value::Sequence(g), Value::Sequence(w)) if g.len() == w.len() => {
            g.iter().zip(w).map(|(a, b)| max_abs_diff(a, b)).try_fold(0.0, |acc, d| Some(f64::max(acc, d?)))
        }
        (Value::Map { keys: gk, values: gv }, Value::Map { keys: wk, values: wv }) if gk == wk => {
            max_abs_diff(&Value::Tensor(gv.clone()), &Value::Tensor(wv.clone()))
        }
        (Value::Optional(Some(g)), Value::Optional(Some(w))) => max_abs_diff(g, w),
        _ => None,
    }
}

fn widen(t: &Tensor) -> Result<Tensor, String> {
    Tensor::from_vec(t.shape().to_vec(), t.to_f64_vec().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Compares dtype, shape and elements.
pub fn compare_tensor(got: &Tensor, want: &Tensor, tol: Tolerance) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {} != expected {}", got.dtype(), want.dtype()));
    }
    if got.shape() != want.shape() {
        return Err(format!("shape {:?} != expected {:?}", got.shape(), want.shape()));
    }
    let tol = tol.for_dtype(want.dtype());
    match (got.data(), want.data()) {
        (Data::String(g), Data::String(w)) => {
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                if a != b {
                    return Err(format!("element {i}: {a:?} != expected {b:?}"));
                }
            }
            Ok(())
        }
        _ if want.dtype().is_float() || want.dtype().is_low_precision_float() => {
            let g = got.to_f64_vec().map_err(|e| e.to_string())?;
            let w = want.to_f64_vec().map_err(|e| e.to_string())?;
            let mut worst: Option<(usize, f64)> = None;
            let mut bad = 0usize;
            for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
                let ok = if b.is_nan() {
                    a.is_nan()
                } else if b.is_infinite() {
                    a == b
                } else {
                    (a - b).abs() <= tol.atol + tol.rtol * b.abs()
                };
                if !ok {
                    bad += 1;
                    let d = if (a - b).is_nan() { f64::INFINITY } else { (a - b).abs() };
                    if worst.is_none_or(|(_, wd)| d > wd) {
                        worst = Some((i, d));
                    }
                }
            }
            match worst {
                None => Ok(()),
                Some((i, d)) => Err(format!(
                    "{bad} of {} elements differ; worst at {i}: got {} expected {} (|diff| {d:.3e}, atol {:.0e}, rtol {:.0e})",
                    g.len(),
                    g[i],
                    w[i],
                    tol.atol,
                    tol.rtol
                )),
            }
        }
        (gd, _) => {
            let g: Vec<i128> = dispatch_elem!(gd, v => v.iter().map(|x| to_i128(*x)).collect(), else vec![]);
            let w: Vec<i128> = dispatch_elem!(want.data(), v => v.iter().map(|x| to_i128(*x)).collect(), else vec![]);
            for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
                if (a - b).unsigned_abs() > tol.int_steps as u128 {
                    return Err(format!("element {i}: got {a} expected {b} (allowed difference {})", tol.int_steps));
                }
            }
            Ok(())
        }
    }
}

fn to_i128<T: mote_ir::Elem>(x: T) -> i128 {
    // Integers and bools only; u64 values above i64::MAX survive through f64 only approximately,
    // so use the debug text for an exact value.
    format!("{x:?}").parse::<i128>().unwrap_or_else(|_| if x.to_f64() != 0.0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_tolerance_and_nan() {
        let a = Tensor::from_vec(vec![3], vec![1.0f32, f32::NAN, 100.0]).unwrap();
        let b = Tensor::from_vec(vec![3], vec![1.00005f32, f32::NAN, 100.04]).unwrap();
        assert!(compare_tensor(&a, &b, Tolerance::DEFAULT).is_ok());
        let c = Tensor::from_vec(vec![3], vec![1.001f32, f32::NAN, 100.0]).unwrap();
        assert!(compare_tensor(&c, &b, Tolerance::DEFAULT).unwrap_err().contains("worst at 0"));
    }

    #[test]
    fn low_precision_compare_by_value() {
        use mote_ir::{F8E4M3Fn, I4};
        let f8 = |v: &[f32]| {
            Tensor::from_vec(vec![v.len()], v.iter().map(|&x| F8E4M3Fn::from_f32(x)).collect::<Vec<_>>()).unwrap()
        };
        assert!(compare_tensor(&f8(&[0.5, -0.0, f32::NAN]), &f8(&[0.5, 0.0, f32::NAN]), Tolerance::DEFAULT).is_ok());
        // One code apart (0.5 vs 0.5625) is a difference, whatever the f32 tolerance.
        assert!(compare_tensor(&f8(&[0.5]), &f8(&[0.5625]), Tolerance { atol: 1.0, ..Tolerance::DEFAULT }).is_err());
        let i4 = |v: &[i64]| {
            Tensor::from_vec(vec![v.len()], v.iter().map(|&x| I4::wrapping_from(x)).collect::<Vec<_>>()).unwrap()
        };
        assert!(compare_tensor(&i4(&[-8, 7]), &i4(&[-8, 7]), Tolerance::DEFAULT).is_ok());
        assert!(compare_tensor(&i4(&[-8, 7]), &i4(&[-7, 7]), Tolerance::DEFAULT).unwrap_err().contains("got -8"));
    }

    #[test]
    fn integers_exact_unless_steps_allowed() {
        let a = Tensor::from_vec(vec![2], vec![5i8, -3]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![5i8, -2]).unwrap();
        assert!(compare_tensor(&a, &b, Tolerance::DEFAULT).is_err());
        assert!(compare_tensor(&a, &b, Tolerance { int_steps: 1, ..Tolerance::DEFAULT }).is_ok());
        let big = Tensor::from_vec(vec![1], vec![u64::MAX]).unwrap();
        let big2 = Tensor::from_vec(vec![1], vec![u64::MAX - 1]).unwrap();
        assert!(compare_tensor(&big, &big2, Tolerance::DEFAULT).is_err());
    }

    #[test]
    fn shape_and_dtype_must_match() {
        let a = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        let b = Tensor::from_vec(vec![1, 2], vec![1.0f32, 2.0]).unwrap();
        assert!(compare_tensor(&a, &b, Tolerance::DEFAULT).unwrap_err().contains("shape"));
        let c = Tensor::from_vec(vec![2], vec![1.0f64, 2.0]).unwrap();
        assert!(compare_tensor(&a, &c, Tolerance::DEFAULT).unwrap_err().contains("dtype"));
    }
}
