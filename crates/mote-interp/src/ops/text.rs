//! String ops (host only).

use std::collections::HashMap;
use std::hash::Hash;

use mote_ir::ops::text::{CaseChange, Pool, TextOp, TfIdfAttrs, TfIdfMode};
use mote_ir::{Tensor, Value};
use mote_kernels::reference::elementwise::ref_binary;

use super::elementwise::broadcast_shape;
use super::{EvalCx, Inputs, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &TextOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        TextOp::StringNormalizer { case, case_sensitive, stopwords } => {
            one(normalize(inputs.tensor(0)?, *case, *case_sensitive, stopwords)?)
        }
        TextOp::StringSplit { delimiter, maxsplit } => {
            let (y, z) = string_split(inputs.tensor(0)?, delimiter.as_deref(), *maxsplit)?;
            Ok(vec![Value::Tensor(y), Value::Tensor(z)])
        }
        TextOp::StringConcat => {
            let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
            let (Some(x), Some(y)) = (a.strings(), b.strings()) else {
                bail!("StringConcat needs string tensors, got {} and {}", a.dtype(), b.dtype());
            };
            let shape = broadcast_shape(a.shape(), b.shape())?;
            let xr: Vec<&str> = x.iter().map(String::as_str).collect();
            let yr: Vec<&str> = y.iter().map(String::as_str).collect();
            let mut out = vec![String::new(); numel(&shape)?];
            ref_binary(&xr, a.shape(), &yr, b.shape(), &mut out, &shape, |p, q| {
                let mut s = String::with_capacity(p.len() + q.len());
                s.push_str(p);
                s.push_str(q);
                s
            });
            one(Tensor::from_strings(shape, out)?)
        }
        TextOp::RegexFullMatch { pattern } => {
            let x = inputs.tensor(0)?;
            let s = x.strings().ok_or_else(|| op_err!("RegexFullMatch needs a string tensor, got {}", x.dtype()))?;
            let re = regex::Regex::new(&format!(r"\A(?:{pattern})\z"))
                .map_err(|e| op_err!("RegexFullMatch: invalid pattern {pattern:?}: {e}"))?;
            let out: Vec<bool> = s.iter().map(|v| re.is_match(v)).collect();
            one(Tensor::from_vec(x.shape().to_vec(), out)?)
        }
        TextOp::TfIdfVectorizer(a) => one(tfidf(a, inputs.tensor(0)?)?),
    }
}

fn change_case(s: &str, case: CaseChange) -> String {
    match case {
        CaseChange::None => s.to_string(),
        CaseChange::Lower => s.to_lowercase(),
        CaseChange::Upper => s.to_uppercase(),
    }
}

fn normalize(x: &Tensor, case: CaseChange, case_sensitive: bool, stopwords: &[String]) -> Result<Tensor, OpError> {
    let s = x.strings().ok_or_else(|| op_err!("StringNormalizer needs a string tensor, got {}", x.dtype()))?;
    let two_d = match x.shape() {
        [_] => false,
        [1, _] => true,
        other => bail!("StringNormalizer takes [C] or [1, C] input, got {other:?}"),
    };
    let stops: Vec<String> =
        if case_sensitive { stopwords.to_vec() } else { stopwords.iter().map(|w| w.to_lowercase()).collect() };
    let mut out: Vec<String> = s
        .iter()
        .filter(|v| {
            let key = if case_sensitive { (*v).clone() } else { v.to_lowercase() };
            !stops.contains(&key)
        })
        .map(|v| change_case(v, case))
        .collect();
    if out.is_empty() {
        out.push(String::new());
    }
    let shape = if two_d { vec![1, out.len()] } else { vec![out.len()] };
    Ok(Tensor::from_strings(shape, out)?)
}

/// Python's `str.split(delimiter, maxsplit)`, except that (as onnxruntime, and the spec for
/// whitespace splitting) an empty string has no pieces and a whitespace-split remainder loses
/// its trailing whitespace.
fn split_one<'s>(s: &'s str, delimiter: Option<&str>, maxsplit: Option<usize>) -> Vec<&'s str> {
    let max = maxsplit.unwrap_or(usize::MAX);
    if s.is_empty() {
        return Vec::new();
    }
    // An empty delimiter means whitespace (as the ONNX spec says); `find("")` would never advance.
    match delimiter.filter(|d| !d.is_empty()) {
        Some(d) => {
            let mut parts = Vec::new();
            let mut rest = s;
            while parts.len() < max {
                match rest.find(d) {
                    Some(i) => {
                        parts.push(&rest[..i]);
                        rest = &rest[i + d.len()..];
                    }
                    None => break,
                }
            }
            parts.push(rest);
            parts
        }
        None => {
            // Runs of whitespace separate pieces; leading/trailing whitespace yields nothing.
            let mut parts = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if parts.len() == max {
                    parts.push(rest.trim_end());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                parts.push(&rest[..end]);
                rest = rest[end..].trim_start();
            }
            parts
        }
    }
}

fn string_split(x: &Tensor, delimiter: Option<&str>, maxsplit: Option<usize>) -> Result<(Tensor, Tensor), OpError> {
    let s = x.strings().ok_or_else(|| op_err!("StringSplit needs a string tensor, got {}", x.dtype()))?;
    let pieces: Vec<Vec<&str>> = s.iter().map(|v| split_one(v, delimiter, maxsplit)).collect();
    let width = pieces.iter().map(Vec::len).max().unwrap_or(0);
    let mut shape = x.shape().to_vec();
    shape.push(width);
    let mut out = vec![String::new(); numel(&shape)?];
    for (i, p) in pieces.iter().enumerate() {
        for (j, piece) in p.iter().enumerate() {
            out[i * width + j] = piece.to_string();
        }
    }
    let counts: Vec<i64> = pieces.iter().map(|p| p.len() as i64).collect();
    Ok((Tensor::from_strings(shape, out)?, Tensor::from_vec(x.shape().to_vec(), counts)?))
}

/// The pool's n-grams within the gram-length range, mapped to their output column.
fn ngram_table<K: Clone + Eq + Hash>(a: &TfIdfAttrs, pool: &[K]) -> Result<HashMap<Vec<K>, usize>, OpError> {
    let mut map = HashMap::new();
    let mut id = 0usize;
    for (i, &start) in a.ngram_counts.iter().enumerate() {
        let n = i + 1;
        let end = a.ngram_counts.get(i + 1).copied().unwrap_or(pool.len());
        let count = end.saturating_sub(start) / n;
        for g in 0..count {
            if (a.min_gram_length..=a.max_gram_length).contains(&n) {
                let col = *a
                    .ngram_indexes
                    .get(id)
                    .ok_or_else(|| op_err!("TfIdfVectorizer: ngram_indexes has no entry for n-gram {id}"))?;
                let key = pool[start + g * n..start + (g + 1) * n].to_vec();
                map.entry(key).or_insert(col);
            }
            id += 1;
        }
    }
    Ok(map)
}

/// Counts the pool n-grams of each row (`rows x cols` tokens) into `freq` (`rows x out`).
fn count_ngrams<K: Clone + Eq + Hash>(
    a: &TfIdfAttrs,
    table: &HashMap<Vec<K>, usize>,
    tokens: &[K],
    rows: usize,
    cols: usize,
    freq: &mut [u64],
) {
    let out = a.output_size();
    let mut key: Vec<K> = Vec::with_capacity(a.max_gram_length.min(cols));
    for r in 0..rows {
        let row = &tokens[r * cols..(r + 1) * cols];
        // Skips of `cols` or more cannot form n-grams of two or more tokens.
        for skip in 1..=a.max_skip_count.saturating_add(1).min(cols.max(1)) {
            // Unigrams do not depend on the skip distance: count them once.
            let min_n = if skip == 1 { a.min_gram_length } else { a.min_gram_length.max(2) };
            if min_n > a.max_gram_length {
                break;
            }
            for start in 0..cols {
                key.clear();
                for n in 1..=a.max_gram_length {
                    let pos = start + (n - 1) * skip;
                    if pos >= cols {
                        break;
                    }
                    key.push(row[pos].clone());
                    if n >= min_n
                        && let Some(&col) = table.get(&key)
                    {
                        freq[r * out + col] += 1;
                    }
                }
            }
        }
    }
}

fn tfidf(a: &TfIdfAttrs, x: &Tensor) -> Result<Tensor, OpError> {
    let (rows, cols, out_shape) = match x.shape() {
        [] => (1, 1, vec![a.output_size()]),
        [c] => (1, *c, vec![a.output_size()]),
        [b, c] => (*b, *c, vec![*b, a.output_size()]),
        other => bail!("TfIdfVectorizer takes [C] or [B, C] input, got {other:?}"),
    };
    let out = a.output_size();
    let mut freq = vec![0u64; numel(&out_shape)?];
    match (&a.pool, x.strings()) {
        (Pool::Strings(p), Some(s)) => {
            let table = ngram_table(a, p)?;
            count_ngrams(a, &table, s, rows, cols, &mut freq);
        }
        (Pool::Ints(p), None) => {
            let toks = x.to_i64_vec().map_err(|e| op_err!("TfIdfVectorizer: {e}"))?;
            let table = ngram_table(a, p)?;
            count_ngrams(a, &table, &toks, rows, cols, &mut freq);
        }
        _ => bail!("TfIdfVectorizer: input {} does not match the pool's token type", x.dtype()),
    }
    let y: Vec<f32> = freq
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let w = a.weights.get(i % out.max(1)).copied();
            match a.mode {
                TfIdfMode::Tf => f as f32,
                TfIdfMode::Idf => {
                    if f > 0 {
                        w.unwrap_or(1.0)
                    } else {
                        0.0
                    }
                }
                TfIdfMode::TfIdf => w.unwrap_or(1.0) * f as f32,
            }
        })
        .collect();
    Ok(Tensor::from_vec(out_shape, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_python() {
        assert_eq!(split_one("  a  b c ", None, None), vec!["a", "b", "c"]);
        assert_eq!(split_one("  a  b c ", None, Some(1)), vec!["a", "b c"]);
        assert_eq!(split_one("", None, None), Vec::<&str>::new());
        assert_eq!(split_one("", Some(","), None), Vec::<&str>::new());
        assert_eq!(split_one("a,,b", Some(","), None), vec!["a", "", "b"]);
        assert_eq!(split_one("a,b,c", Some(","), Some(1)), vec!["a", "b,c"]);
        assert_eq!(split_one("a--b", Some("--"), None), vec!["a", "b"]);
    }

    #[test]
    fn tfidf_counts_skip_grams() {
        let a = TfIdfAttrs {
            mode: TfIdfMode::Tf,
            min_gram_length: 2,
            max_gram_length: 2,
            max_skip_count: 1,
            ngram_counts: vec![0, 2],
            ngram_indexes: vec![0, 1, 2],
            pool: Pool::Ints(vec![7, 8, 1, 3]),
            weights: vec![],
        };
        // Tokens 1 2 3: bigram (1,3) only exists with skip 2.
        let x = Tensor::from_vec(vec![3], vec![1i64, 2, 3]).unwrap();
        let y = tfidf(&a, &x).unwrap();
        assert_eq!(y.typed::<f32>().unwrap(), &[0.0, 0.0, 1.0]);
    }
}
