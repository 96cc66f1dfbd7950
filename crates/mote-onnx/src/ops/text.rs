//! String ops: ONNX attributes -> [`TextOp`].

use mote_ir::Op;
use mote_ir::ops::text::{CaseChange, Pool, TextOp, TfIdfAttrs, TfIdfMode};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "StringNormalizer"),
    ("", "StringSplit"),
    ("", "StringConcat"),
    ("", "RegexFullMatch"),
    ("", "TfIdfVectorizer"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "StringNormalizer" => {
            cx.expect_inputs(1, 1)?;
            let case = match cx.string("case_change_action", "NONE")?.as_str() {
                "NONE" => CaseChange::None,
                "LOWER" => CaseChange::Lower,
                "UPPER" => CaseChange::Upper,
                other => return Err(invalid!("unknown case_change_action {other:?}")),
            };
            // Case mapping is locale independent here, which matches en_US.
            let locale = cx.string("locale", "")?;
            if !matches!(locale.as_str(), "" | "en_US" | "en_US.UTF-8" | "en_US.utf8" | "C" | "C.UTF-8") {
                return Err(unsupported!("StringNormalizer locale {locale:?} is not supported (only en_US)"));
            }
            TextOp::StringNormalizer {
                case,
                case_sensitive: cx.int("is_case_sensitive", 0)? != 0,
                stopwords: cx.strings("stopwords")?.unwrap_or_default(),
            }
        }
        "StringSplit" => {
            cx.expect_inputs(1, 1)?;
            let delimiter = cx.string_opt("delimiter")?.filter(|d| !d.is_empty());
            let maxsplit = match cx.int_opt("maxsplit")? {
                None => None,
                Some(m) => Some(usize::try_from(m).map_err(|_| invalid!("maxsplit must be >= 0, got {m}"))?),
            };
            TextOp::StringSplit { delimiter, maxsplit }
        }
        "StringConcat" => {
            cx.expect_inputs(2, 2)?;
            TextOp::StringConcat
        }
        "RegexFullMatch" => {
            cx.expect_inputs(1, 1)?;
            let pattern =
                cx.string_opt("pattern")?.ok_or_else(|| invalid!("required attribute `pattern` is missing"))?;
            TextOp::RegexFullMatch { pattern }
        }
        "TfIdfVectorizer" => {
            cx.expect_inputs(1, 1)?;
            TextOp::TfIdfVectorizer(tfidf(cx)?)
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Text(op)))
}

fn tfidf(cx: &NodeCtx<'_>) -> Result<TfIdfAttrs, NodeError> {
    let mode = match cx.string_opt("mode")?.as_deref() {
        Some("TF") => TfIdfMode::Tf,
        Some("IDF") => TfIdfMode::Idf,
        Some("TFIDF") => TfIdfMode::TfIdf,
        Some(other) => return Err(invalid!("unknown mode {other:?}")),
        None => return Err(invalid!("required attribute `mode` is missing")),
    };
    let req = |name: &str| cx.req_int(name);
    let min = req("min_gram_length")?;
    let max = req("max_gram_length")?;
    let skip = req("max_skip_count")?;
    if min < 1 || max < min || skip < 0 {
        return Err(invalid!("bad gram lengths: min {min}, max {max}, max_skip_count {skip}"));
    }
    let pool = match (cx.ints("pool_int64s")?, cx.strings("pool_strings")?) {
        (Some(p), None) => Pool::Ints(p),
        (None, Some(p)) => Pool::Strings(p),
        _ => return Err(invalid!("exactly one of pool_int64s and pool_strings must be given")),
    };
    let ngram_counts =
        cx.usizes("ngram_counts")?.ok_or_else(|| invalid!("required attribute `ngram_counts` is missing"))?;
    let ngram_indexes =
        cx.usizes("ngram_indexes")?.ok_or_else(|| invalid!("required attribute `ngram_indexes` is missing"))?;
    if ngram_counts.windows(2).any(|w| w[0] > w[1]) || ngram_counts.iter().any(|&c| c > pool.len()) {
        return Err(invalid!("ngram_counts {ngram_counts:?} must be increasing offsets into the pool"));
    }
    let weights = cx.floats("weights")?.unwrap_or_default();
    let a = TfIdfAttrs {
        mode,
        min_gram_length: min as usize,
        max_gram_length: max as usize,
        max_skip_count: skip as usize,
        ngram_counts,
        ngram_indexes,
        pool,
        weights,
    };
    if !a.weights.is_empty() && a.weights.len() < a.output_size() {
        return Err(invalid!("weights has {} values for {} output columns", a.weights.len(), a.output_size()));
    }
    Ok(a)
}
