//! String ops: StringConcat, StringSplit, StringNormalizer, RegexFullMatch and TfIdfVectorizer
//! to the runtime's string steps (op codes 70-74; `mote_rt::ops::text`); Equal on strings to
//! `StringEqual` (75). String-keyed ML maps are in `strmap.rs` (76, 77).
//!
//! A string tensor is element slots plus a byte pool of fixed capacity
//! (`mote_format::strings`). Graph inputs get [`StringLimits::input_pool`] bytes; every result
//! is sized from its operands so it always fits: a concatenation holds each operand's pool as
//! many times as broadcasting repeats it, split pieces fit in their input's pool, and a case
//! change grows a string at most [`CASE_EXPANSION`] times. Constant strings are weights of
//! exactly their bytes. StringSplit's pieces and StringNormalizer's survivors are Bounded
//! outputs (their last axis is counted at run time), so they must be graph outputs.

use std::collections::BTreeMap;

use mote_core::DType;
use mote_format::{OpCode, OutputKind};
use mote_ir::Node;
use mote_ir::ops::text::{CaseChange, Pool, TextOp, TfIdfAttrs, TfIdfMode};
use mote_rt::ops::encode;
use mote_rt::ops::text::{CASE_EXPANSION, MAX_GRAM};

use super::{Lowerer, R, bail, dfa};
use crate::lir::Keys;

/// String sizes the compiler cannot infer (`mote compile --string-bytes`, `--string-pieces`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StringLimits {
    /// Pool bytes of each string input (`None`: [`StringLimits::BYTES_PER_ELEMENT`] per
    /// element, at least [`StringLimits::MIN_INPUT_BYTES`]).
    pub input_bytes: Option<usize>,
    /// Most pieces StringSplit may give one string (`None`: [`StringLimits::PIECES`]).
    pub pieces: Option<usize>,
}

impl StringLimits {
    pub const BYTES_PER_ELEMENT: usize = 64;
    pub const MIN_INPUT_BYTES: usize = 256;
    pub const PIECES: usize = 64;

    /// The pool capacity of a string input of `dims`.
    pub fn input_pool(&self, dims: &[usize]) -> usize {
        let n: usize = dims.iter().product();
        self.input_bytes.unwrap_or((n * Self::BYTES_PER_ELEMENT).max(Self::MIN_INPUT_BYTES))
    }
}

/// Steps from `first` on (lowered from a node that is not a string op) must not touch string
/// tensors unless they are string steps (string Equal, LabelEncoder on strings): the runtime
/// moves and converts strings only through the string steps.
pub fn refuse_strings_in(l: &Lowerer<'_>, first: usize) -> R<()> {
    let strings = l.p.steps[first..]
        .iter()
        .filter(|s| !mote_rt::ops::text::Text::is_text(s.op))
        .flat_map(|s| s.inputs.iter().flatten().chain(&s.outputs))
        .any(|&t| l.p.tensors[t].dtype == DType::String);
    if strings {
        bail!(
            "string tensors are compiled only through StringConcat, StringSplit, StringNormalizer, \
             RegexFullMatch and TfIdfVectorizer (and views); this op would move or convert them"
        );
    }
    Ok(())
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &TextOp) -> R<()> {
    match op {
        TextOp::StringConcat => concat(l, n),
        TextOp::StringSplit { delimiter, maxsplit } => split(l, n, delimiter.as_deref(), *maxsplit),
        TextOp::StringNormalizer { case, case_sensitive, stopwords } => {
            normalize(l, n, *case, *case_sensitive, stopwords)
        }
        TextOp::RegexFullMatch { pattern } => regex(l, n, pattern),
        TextOp::TfIdfVectorizer(a) => tfidf(l, n, a),
    }
}

/// `Equal` on two string tensors: a `StringEqual` step (bytes compared, numpy broadcasting).
pub fn string_equal(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let (a, b) = (string_input(l, n, 0)?, string_input(l, n, 1)?);
    let y = l.output(n, 0)?;
    if l.p.tensors[y].dtype != DType::Bool {
        bail!("Equal on strings gives bool, not {}", l.p.tensors[y].dtype);
    }
    l.p.step(OpCode::StringEqual, vec![Some(a), Some(b)], vec![y], encode::string_equal(), &n.name);
    Ok(())
}

/// Input `i` of `n`, which must be a string tensor.
fn string_input(l: &mut Lowerer<'_>, n: &Node, i: usize) -> R<usize> {
    let t = l.input(n, i)?;
    if l.p.tensors[t].dtype != DType::String {
        bail!("{} needs string input {i}, got {}", n.op.name(), l.p.tensors[t].dtype);
    }
    Ok(t)
}

/// The graph value of output `i`, which must not be read by another node (a Bounded output).
fn bounded_value(l: &Lowerer<'_>, n: &Node, i: usize) -> R<Option<mote_ir::ValueId>> {
    let Some(v) = n.outputs.get(i).copied().flatten() else { return Ok(None) };
    let read = l.g.nodes.iter().any(|m| m.inputs.iter().flatten().any(|&u| u == v));
    if read {
        bail!(
            "{}'s output {i} has a data-dependent length: it is compiled only as a graph output, and another node reads it here",
            n.op.name()
        );
    }
    Ok(Some(v))
}

/// `t` as a Bounded output counted by a new pinned `[1]` i64 tensor along `axis`.
fn count_tensor(l: &mut Lowerer<'_>, n: &Node) -> usize {
    let count = l.p.arena(DType::I64, vec![1], format!("{}.count", n.name));
    // Live to the end, like a graph output: the host reads it after the run.
    l.pin(count);
    count
}

fn concat(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let (a, b) = (string_input(l, n, 0)?, string_input(l, n, 1)?);
    let v = n.outputs.first().copied().flatten().ok_or("StringConcat's output is missing")?;
    let dims = l.value_shape(v)?.1;
    let out: usize = dims.iter().product();
    let repeat = |t: usize| out.checked_div(l.p.tensors[t].numel()).unwrap_or(0) * l.p.tensors[t].pool;
    let pool = repeat(a) + repeat(b);
    let y = l.p.string_arena(dims, pool, &l.g.value(v).name);
    l.bind(n, 0, y)?;
    l.p.step(OpCode::StringConcat, vec![Some(a), Some(b)], vec![y], encode::string_concat(), &n.name);
    Ok(())
}

fn split(l: &mut Lowerer<'_>, n: &Node, delimiter: Option<&str>, maxsplit: Option<usize>) -> R<()> {
    let x = string_input(l, n, 0)?;
    let (xd, pool) = (l.p.tensors[x].dims.clone(), l.p.tensors[x].pool);
    let delimiter = delimiter.filter(|d| !d.is_empty());
    // Most pieces one string of the pool can give, the option's bound, maxsplit + 1.
    let by_pool = match delimiter {
        Some(d) => pool / d.len() + 1,
        None => pool.div_ceil(2),
    };
    let limit = l.strings.pieces.unwrap_or(StringLimits::PIECES);
    let bound = by_pool.min(limit).min(maxsplit.map_or(usize::MAX, |m| m.saturating_add(1))).max(1);
    let yv = bounded_value(l, n, 0)?;
    let mut yd = xd.clone();
    yd.push(bound);
    let name = yv.map_or(format!("{}.pieces", n.name), |v| l.g.value(v).name.clone());
    let y = l.p.string_arena(yd, pool, name);
    let z = match n.outputs.get(1).copied().flatten() {
        Some(_) => l.output(n, 1)?,
        None => l.p.arena(DType::I64, xd.clone(), format!("{}.counts", n.name)),
    };
    let count = count_tensor(l, n);
    let d =
        delimiter.map(|d| l.p.weight(DType::U8, vec![d.len()], d.as_bytes().to_vec(), format!("{}.delimiter", n.name)));
    l.p.step(OpCode::StringSplit, vec![Some(x), d], vec![y, z, count], encode::string_split(maxsplit), &n.name);
    if let Some(v) = yv {
        l.vals.insert(v, y);
        l.signatures.insert(v, (OutputKind::Bounded, Keys::Count { tensor: count, axis: xd.len() as u32 }));
    }
    Ok(())
}

fn normalize(l: &mut Lowerer<'_>, n: &Node, case: CaseChange, case_sensitive: bool, stopwords: &[String]) -> R<()> {
    let x = string_input(l, n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let c = match xd.as_slice() {
        [c] | [1, c] => *c,
        other => bail!("StringNormalizer takes [C] or [1, C] input, got {other:?}"),
    };
    let mut yd = xd.clone();
    *yd.last_mut().unwrap_or(&mut 0) = c.max(1);
    let case_code = match case {
        CaseChange::None => mote_rt::ops::text::CaseChange::None,
        CaseChange::Lower => mote_rt::ops::text::CaseChange::Lower,
        CaseChange::Upper => mote_rt::ops::text::CaseChange::Upper,
    };
    let grow = if case == CaseChange::None { 1 } else { CASE_EXPANSION };
    let pool = l.p.tensors[x].pool * grow;
    let yv = bounded_value(l, n, 0)?;
    let name = yv.map_or(format!("{}.y", n.name), |v| l.g.value(v).name.clone());
    let y = l.p.string_arena(yd, pool, name);
    let stops = (!stopwords.is_empty()).then(|| {
        // Matching ignores case by comparing lowercase forms: store them lowercased.
        let words: Vec<String> =
            stopwords.iter().map(|w| if case_sensitive { w.clone() } else { w.to_lowercase() }).collect();
        l.p.string_weight(vec![words.len()], &words, format!("{}.stopwords", n.name))
    });
    let count = count_tensor(l, n);
    let attrs = encode::string_normalizer(case_code, case_sensitive);
    l.p.step(OpCode::StringNormalizer, vec![Some(x), stops], vec![y, count], attrs, &n.name);
    if let Some(v) = yv {
        l.vals.insert(v, y);
        let axis = yd_axis(&xd);
        l.signatures.insert(v, (OutputKind::Bounded, Keys::Count { tensor: count, axis }));
    }
    Ok(())
}

fn yd_axis(xd: &[usize]) -> u32 {
    xd.len().saturating_sub(1) as u32
}

fn regex(l: &mut Lowerer<'_>, n: &Node, pattern: &str) -> R<()> {
    let x = string_input(l, n, 0)?;
    let t = dfa::compile(pattern)?;
    let states = t.flags.len();
    let classes = l.p.weight(DType::U8, vec![256], t.classes, format!("{}.dfa_classes", n.name));
    let next_bytes = t.next.iter().flat_map(|s| s.to_le_bytes()).collect();
    let next = l.p.weight(DType::U32, vec![states, t.n_classes], next_bytes, format!("{}.dfa_next", n.name));
    let flags = l.p.weight(DType::U8, vec![states], t.flags, format!("{}.dfa_flags", n.name));
    let y = l.output(n, 0)?;
    let ins = vec![Some(x), Some(classes), Some(next), Some(flags)];
    l.p.step(OpCode::RegexFullMatch, ins, vec![y], encode::regex_full_match(), &n.name);
    Ok(())
}

/// The n-gram table: `(n, tokens) -> column`, each n-gram once (its first column), sorted.
fn grams<K: Clone + Ord>(a: &TfIdfAttrs, pool: &[K]) -> R<BTreeMap<(usize, Vec<K>), usize>> {
    let mut map = BTreeMap::new();
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
                    .ok_or_else(|| format!("TfIdfVectorizer: ngram_indexes has no entry for n-gram {id}"))?;
                let key =
                    pool.get(start + g * n..start + (g + 1) * n).ok_or("TfIdfVectorizer: n-gram past the pool")?;
                map.entry((n, key.to_vec())).or_insert(col);
            }
            id += 1;
        }
    }
    Ok(map)
}

/// The table's rows `(n, start, column)` and its tokens, in order.
fn table<K: Clone + Ord>(map: BTreeMap<(usize, Vec<K>), usize>) -> (Vec<u32>, Vec<K>) {
    let (mut rows, mut tokens) = (Vec::new(), Vec::new());
    for ((n, key), col) in map {
        rows.extend([n as u32, tokens.len() as u32, col as u32]);
        tokens.extend(key);
    }
    (rows, tokens)
}

fn tfidf(l: &mut Lowerer<'_>, n: &Node, a: &TfIdfAttrs) -> R<()> {
    let x = l.input(n, 0)?;
    let (xt, xd) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    let (rows, cols) = match xd.as_slice() {
        [] => (1, 1),
        [c] => (1, *c),
        [b, c] => (*b, *c),
        other => bail!("TfIdfVectorizer takes [C] or [B, C] input, got {other:?}"),
    };
    if a.min_gram_length > a.max_gram_length {
        bail!("TfIdfVectorizer: min_gram_length {} > max_gram_length {}", a.min_gram_length, a.max_gram_length);
    }
    let name = |what: &str| format!("{}.{what}", n.name);
    let (rows_table, pool, longest) = match (&a.pool, xt) {
        (Pool::Ints(p), DType::I32 | DType::I64) => {
            let (t, tokens) = table(grams(a, p)?);
            let bytes = tokens.iter().flat_map(|v| v.to_le_bytes()).collect();
            let longest = t.chunks(3).map(|r| r[0] as usize).max();
            (t, l.p.weight(DType::I64, vec![tokens.len()], bytes, name("pool")), longest)
        }
        (Pool::Strings(p), DType::String) => {
            let (t, tokens) = table(grams(a, p)?);
            let longest = t.chunks(3).map(|r| r[0] as usize).max();
            (t, l.p.string_weight(vec![tokens.len()], &tokens, name("pool")), longest)
        }
        _ => bail!("TfIdfVectorizer: input {xt} does not match the pool's token type"),
    };
    let min_n = a.min_gram_length.max(1);
    // Longer n-grams than the table's never match.
    let max_n = a.max_gram_length.min(longest.unwrap_or(0).max(min_n));
    if max_n > MAX_GRAM as usize || min_n > max_n {
        bail!("TfIdfVectorizer: n-grams of {min_n} to {max_n} tokens (the runtime counts up to {MAX_GRAM})");
    }
    let g = rows_table.len() / 3;
    let bytes = rows_table.iter().flat_map(|v| v.to_le_bytes()).collect();
    let gt = l.p.weight(DType::U32, vec![g, 3], bytes, name("grams"));
    let out = a.output_size();
    let weights = (a.mode != TfIdfMode::Tf && !a.weights.is_empty()).then(|| {
        let w: Vec<f32> = (0..out).map(|i| a.weights.get(i).copied().unwrap_or(1.0)).collect();
        l.weight_f32(vec![out], &w, &name("weights"))
    });
    let y = l.output(n, 0)?;
    let mode = match a.mode {
        TfIdfMode::Tf => mote_rt::ops::text::TfIdfMode::Tf,
        TfIdfMode::Idf => mote_rt::ops::text::TfIdfMode::Idf,
        TfIdfMode::TfIdf => mote_rt::ops::text::TfIdfMode::TfIdf,
    };
    let attrs = encode::tfidf(mode, min_n, max_n, a.max_skip_count, rows, cols, out);
    let mut ins = vec![Some(x), Some(pool), Some(gt)];
    if weights.is_some() {
        ins.push(weights);
    }
    l.p.step(OpCode::TfIdfVectorizer, ins, vec![y], attrs, &n.name);
    Ok(())
}
