//! String ops: StringNormalizer, StringSplit, StringConcat, RegexFullMatch, TfIdfVectorizer.

use mote_core::DType;

use crate::infer::{InferCx, InferError, broadcast};
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// String ops.
#[derive(Clone, Debug, PartialEq)]
pub enum TextOp {
    /// Drops stop-word elements of a `[C]` or `[1, C]` string tensor, then changes case. An
    /// all-dropped input gives `[""]` (or `[[""]]`).
    StringNormalizer {
        case: CaseChange,
        case_sensitive: bool,
        stopwords: Vec<String>,
    },
    /// Splits every string: outputs the pieces `[..x.shape, max_pieces]` (padded with "") and
    /// the piece counts `[..x.shape]` (int64). `delimiter: None` splits on runs of whitespace.
    StringSplit {
        delimiter: Option<String>,
        maxsplit: Option<usize>,
    },
    /// Broadcasting concatenation of two string tensors.
    StringConcat,
    /// Whether each string fully matches an RE2-syntax pattern.
    RegexFullMatch {
        pattern: String,
    },
    TfIdfVectorizer(TfIdfAttrs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseChange {
    None,
    Lower,
    Upper,
}

/// TfIdfVectorizer attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct TfIdfAttrs {
    pub mode: TfIdfMode,
    pub min_gram_length: usize,
    pub max_gram_length: usize,
    pub max_skip_count: usize,
    /// Start offset in the pool of the 1-grams, 2-grams, ...
    pub ngram_counts: Vec<usize>,
    /// Output column of each n-gram of the pool, in pool order.
    pub ngram_indexes: Vec<usize>,
    pub pool: Pool,
    /// Per output column (IDF and TFIDF); empty = all ones.
    pub weights: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TfIdfMode {
    Tf,
    Idf,
    TfIdf,
}

/// The n-gram pool: int64 or string tokens.
#[derive(Clone, Debug, PartialEq)]
pub enum Pool {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Pool {
    pub fn len(&self) -> usize {
        match self {
            Pool::Ints(v) => v.len(),
            Pool::Strings(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TfIdfAttrs {
    /// Number of output columns: `max(ngram_indexes) + 1`.
    pub fn output_size(&self) -> usize {
        self.ngram_indexes.iter().max().map_or(0, |m| m.saturating_add(1))
    }
}

impl OpFamily for TextOp {
    fn name(&self) -> &'static str {
        match self {
            TextOp::StringNormalizer { .. } => "StringNormalizer",
            TextOp::StringSplit { .. } => "StringSplit",
            TextOp::StringConcat => "StringConcat",
            TextOp::RegexFullMatch { .. } => "RegexFullMatch",
            TextOp::TfIdfVectorizer(_) => "TfIdfVectorizer",
        }
    }

    fn describe(&self) -> String {
        match self {
            TextOp::TfIdfVectorizer(a) => format!(
                "{{ {:?}, grams {}..={}, skip {}, pool of {}, {} outputs }}",
                a.mode,
                a.min_gram_length,
                a.max_gram_length,
                a.max_skip_count,
                a.pool.len(),
                a.output_size()
            ),
            other => {
                let s = format!("{other:?}");
                match s.find('{') {
                    Some(i) => s[i..].to_string(),
                    None => String::new(),
                }
            }
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let shape = cx.shape(0).map(|s| s.to_vec());
        Ok(match self {
            TextOp::StringNormalizer { .. } => {
                let s = shape.map(|s| {
                    let mut d = vec![Dim::Unknown; s.len()];
                    if s.len() == 2 {
                        d[0] = Dim::Known(1);
                    }
                    d
                });
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::String), shape: s })]
            }
            TextOp::StringSplit { .. } => {
                let pieces = shape.clone().map(|mut s| {
                    s.push(Dim::Unknown);
                    s
                });
                vec![
                    ValueType::Tensor(TensorType { dtype: Some(DType::String), shape: pieces }),
                    ValueType::Tensor(TensorType { dtype: Some(DType::I64), shape }),
                ]
            }
            TextOp::StringConcat => {
                let s = match (cx.shape(0), cx.shape(1)) {
                    (Some(a), Some(b)) => Some(broadcast(a, b)?),
                    _ => None,
                };
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::String), shape: s })]
            }
            TextOp::RegexFullMatch { .. } => {
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::Bool), shape })]
            }
            TextOp::TfIdfVectorizer(a) => {
                let out = Dim::Known(a.output_size());
                let s = match shape.as_deref() {
                    Some([]) | Some([_]) => Some(vec![out]),
                    Some([b, _]) => Some(vec![b.clone(), out]),
                    _ => None,
                };
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape: s })]
            }
        })
    }
}
