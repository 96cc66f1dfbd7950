//! Formatting helpers shared by the commands: types, sizes, value summaries.

use mote_ir::{Data, Dim, Tensor, Value, ValueType, dispatch_elem};
use serde_json::{Value as Json, json};

/// `f32[N,3,224,224]` style.
pub fn type_str(ty: &ValueType) -> String {
    ty.to_string()
}

/// A shape as JSON: numbers for known dims, strings for symbols, null for unknown.
pub fn shape_json(ty: &ValueType) -> Json {
    match ty.as_tensor().and_then(|t| t.shape.as_ref()) {
        None => Json::Null,
        Some(s) => Json::Array(
            s.iter()
                .map(|d| match d {
                    Dim::Known(k) => json!(k),
                    Dim::Sym(n) => json!(n),
                    Dim::Unknown => Json::Null,
                })
                .collect(),
        ),
    }
}

pub fn dtype_json(ty: &ValueType) -> Json {
    match ty {
        ValueType::Tensor(t) => t.dtype.map(|d| json!(d.name())).unwrap_or(Json::Null),
        other => json!(other.to_string()),
    }
}

/// `1.23 M` style for counts.
pub fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.2} K", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", n as f64 / 1e6),
        _ => format!("{:.2} G", n as f64 / 1e9),
    }
}

/// `4.70 MB` style for byte sizes (decimal units).
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.2} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Summary statistics of a tensor for printing.
pub fn summary(t: &Tensor) -> Json {
    let n = t.len();
    if let Some(s) = t.strings() {
        return json!({ "first": s.iter().take(6).collect::<Vec<_>>() });
    }
    if let Data::Bool(v) = t.data() {
        return json!({ "true": v.iter().filter(|&&b| b).count(), "first": v.iter().take(8).collect::<Vec<_>>() });
    }
    let vals: Vec<f64> =
        dispatch_elem!(t.data(), v => v.iter().map(|x| mote_ir::Elem::to_f64(*x)).collect(), else vec![]);
    let mut out = serde_json::Map::new();
    if n > 0 {
        let finite: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite()).collect();
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
        out.insert("min".into(), num(min));
        out.insert("max".into(), num(max));
        out.insert("mean".into(), num(mean));
        let nonfinite = n - finite.len();
        if nonfinite > 0 {
            out.insert("non_finite".into(), json!(nonfinite));
        }
    }
    out.insert("first".into(), Json::Array(vals.iter().take(6).map(|&x| num(x)).collect()));
    // Classifier-like outputs ([K] or [1, K] with K >= 5): the top 5 indices.
    let k = t.shape().last().copied().unwrap_or(0);
    if k >= 5 && n == k && t.dtype().is_float() {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
        out.insert("top5".into(), json!(idx.iter().take(5).map(|&i| json!([i, num(vals[i])])).collect::<Vec<_>>()));
    }
    Json::Object(out)
}

fn num(x: f64) -> Json {
    serde_json::Number::from_f64(x).map(Json::Number).unwrap_or(Json::Null)
}

/// One line for a summary JSON.
pub fn summary_line(s: &Json) -> String {
    let mut parts = Vec::new();
    if let Some(o) = s.as_object() {
        for key in ["min", "max", "mean", "true", "non_finite"] {
            if let Some(v) = o.get(key) {
                parts.push(format!("{key} {}", short(v)));
            }
        }
        if let Some(t) = o.get("top5").and_then(|t| t.as_array()) {
            let items: Vec<String> = t.iter().map(|p| format!("{}:{}", p[0], short(&p[1]))).collect();
            parts.push(format!("top5 [{}]", items.join(", ")));
        } else if let Some(f) = o.get("first").and_then(|f| f.as_array()) {
            let items: Vec<String> = f.iter().map(short).collect();
            parts.push(format!("first [{}]", items.join(", ")));
        }
    }
    parts.join("  ")
}

fn short(v: &Json) -> String {
    match v.as_f64() {
        Some(x) if v.is_f64() => format!("{x:.6}").trim_end_matches('0').trim_end_matches('.').to_string(),
        _ => v.to_string(),
    }
}

/// A short description of any value.
pub fn value_desc(v: &Value) -> String {
    match v {
        Value::Tensor(t) => format!("{}{:?}", t.dtype(), t.shape()),
        Value::Sequence(items) => match items.first() {
            Some(first) => format!("sequence of {} item(s), first: {}", items.len(), value_desc(first)),
            None => "empty sequence".into(),
        },
        Value::Map { keys, values } => {
            let k: Vec<String> = match keys.strings() {
                Some(s) => s.iter().map(|x| format!("{x:?}")).collect(),
                None => keys.to_f64_vec().unwrap_or_default().iter().map(|x| format!("{x}")).collect(),
            };
            let v = values.to_f64_vec().unwrap_or_default();
            let entries: Vec<String> = k.iter().zip(&v).take(5).map(|(k, v)| format!("{k}: {v:.6}")).collect();
            let more = if k.len() > 5 { ", ..." } else { "" };
            format!("map {{{}{more}}}", entries.join(", "))
        }
        Value::Optional(None) => "empty optional".into(),
        Value::Optional(Some(v)) => format!("optional {}", value_desc(v)),
    }
}
