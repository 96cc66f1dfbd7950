//! String steps (op codes 70-77, format 1.3): StringConcat, StringSplit, StringNormalizer,
//! RegexFullMatch (a DFA table the compiler builds), TfIdfVectorizer, StringEqual, and
//! StringLookup / StringGather (string keys and values of LabelEncoder, as sorted tables).
//!
//! String tensors are element slots plus a byte pool of fixed capacity
//! ([`mote_format::strings`]). A step reads every slot through a bounds-checked view (a slot
//! outside its pool is a data error, as is invalid UTF-8 where characters matter) and appends
//! its results to the output's pool; a result that does not fit is
//! [`RunFault::StringCapacity`], which the runtime reports with the tensor and its capacity.
//! Nothing allocates.

mod bcast;
mod case;
mod concat;
mod dfa;
mod equal;
mod gather;
mod lookup;
mod normalize;
mod split;
mod tfidf;

use mote_core::DType;
use mote_format::strings::{PoolFull, StrView, StrWriter};
use mote_format::{Model, OpCode, StepRef, Storage, TensorRef};

use super::{Io, RunFault, inp, out};
use crate::error::StepFault;
use crate::mem::Mem;

#[cfg(feature = "alloc")]
pub use concat::encode_concat;
#[cfg(feature = "alloc")]
pub use dfa::encode_regex_full_match;
#[cfg(feature = "alloc")]
pub use equal::encode_string_equal;
#[cfg(feature = "alloc")]
pub use gather::encode_string_gather;
#[cfg(feature = "alloc")]
pub use lookup::encode_string_lookup;
#[cfg(feature = "alloc")]
pub use normalize::encode_normalizer;
#[cfg(feature = "alloc")]
pub use split::{NO_MAXSPLIT, encode_split};
#[cfg(feature = "alloc")]
pub use tfidf::encode_tfidf;

pub use case::{CASE_EXPANSION, lowercase_chars, uppercase_chars};
pub use dfa::{ACCEPT as DFA_ACCEPT, QUIT as DFA_QUIT};
pub use normalize::CaseChange;
pub use tfidf::{MAX_GRAM, TfIdfMode};

/// A decoded string step.
#[derive(Clone, Copy, Debug)]
pub enum Text {
    Concat(concat::Concat),
    Split(split::Split),
    Normalize(normalize::Normalize),
    Regex(dfa::RegexFullMatch),
    TfIdf(tfidf::TfIdf),
    Equal(equal::StringEqual),
    Lookup(lookup::StringLookup),
    Gather(gather::StringGather),
}

impl Text {
    /// Whether `op` is a string step (the only steps that may read or write string tensors).
    pub fn is_text(op: OpCode) -> bool {
        matches!(
            op,
            OpCode::StringConcat
                | OpCode::StringSplit
                | OpCode::StringNormalizer
                | OpCode::RegexFullMatch
                | OpCode::TfIdfVectorizer
                | OpCode::StringEqual
                | OpCode::StringLookup
                | OpCode::StringGather
        )
    }

    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Text, StepFault> {
        Ok(match step.op {
            OpCode::StringConcat => Text::Concat(concat::Concat::decode(step, io)?),
            OpCode::StringSplit => Text::Split(split::Split::decode(step, io)?),
            OpCode::StringNormalizer => Text::Normalize(normalize::Normalize::decode(step, io)?),
            OpCode::RegexFullMatch => Text::Regex(dfa::RegexFullMatch::decode(step, io)?),
            OpCode::TfIdfVectorizer => Text::TfIdf(tfidf::TfIdf::decode(step, io)?),
            OpCode::StringEqual => Text::Equal(equal::StringEqual::decode(step, io)?),
            OpCode::StringLookup => Text::Lookup(lookup::StringLookup::decode(step, io)?),
            OpCode::StringGather => Text::Gather(gather::StringGather::decode(step, io)?),
            _ => return Err(StepFault::UnsupportedOp),
        })
    }

    /// Checks the constant tables the step trusts (once, at load): the DFA's transitions and
    /// the TF-IDF n-gram table, that constant strings (stopwords, pool tokens, lookup keys,
    /// gathered values) are UTF-8 inside their pools, and that lookup keys are sorted.
    pub fn check_constants(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        match self {
            Text::Regex(r) => r.check_tables(model, io),
            Text::TfIdf(t) => t.check_tables(model, io),
            Text::Normalize(_) => io.opt(1).map_or(Ok(()), |t| check_strings(model, &t)),
            Text::Lookup(s) => s.check_tables(model, io),
            Text::Gather(s) => s.check_tables(model, io),
            Text::Concat(_) | Text::Split(_) | Text::Equal(_) => Ok(()),
        }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        match self {
            Text::Concat(s) => s.run(mem, io),
            Text::Split(s) => s.run(mem, io),
            Text::Normalize(s) => s.run(mem, io),
            Text::Regex(s) => s.run(mem, io),
            Text::TfIdf(s) => s.run(mem, io),
            Text::Equal(s) => s.run(mem, io),
            Text::Lookup(s) => s.run(mem, io),
            Text::Gather(s) => s.run(mem, io),
        }
    }
}

/// A slot outside its pool (a tampered input or file).
const BAD_SLOT: RunFault = RunFault::Data("a string slot lies outside its tensor's pool");
/// Characters were needed and the bytes are not UTF-8.
const NOT_UTF8: RunFault = RunFault::Data("a string is not valid UTF-8");

/// Requires a plain string tensor.
fn want_strings(t: &TensorRef<'_>) -> Result<(), StepFault> {
    if t.dtype != DType::String {
        return Err(StepFault::DType);
    }
    t.string_capacity().map(|_| ()).ok_or(StepFault::Shape)
}

/// Input `i`: a string tensor stored in the weights (a table checked at load).
fn weight_strings<'a>(io: &Io<'a>, i: usize) -> Result<TensorRef<'a>, StepFault> {
    let t = io.input(i)?;
    want_strings(&t)?;
    if t.storage != Storage::Weights {
        return Err(StepFault::Shape);
    }
    Ok(t)
}

/// The string view of `t`.
fn strs<'m>(mem: &Mem<'m>, t: &TensorRef<'_>) -> Result<StrView<'m>, RunFault> {
    StrView::new(inp::<u8>(mem, t), t.numel()).ok_or(BAD_SLOT)
}

/// A writer filling output `t` (its pool starts empty).
fn writer<'m>(mem: &Mem<'m>, t: &TensorRef<'_>) -> Result<StrWriter<'m>, RunFault> {
    StrWriter::new(out::<u8>(mem, t), t.numel()).ok_or(BAD_SLOT)
}

/// Element `i` of `v` as text.
fn text<'a>(v: &StrView<'a>, i: usize) -> Result<&'a str, RunFault> {
    core::str::from_utf8(v.get(i).ok_or(BAD_SLOT)?).map_err(|_| NOT_UTF8)
}

/// Output `k`'s pool is full.
fn full(k: usize) -> impl Fn(PoolFull) -> RunFault {
    move |_| RunFault::StringCapacity { output: k }
}

/// A constant string tensor: a weight whose every element is UTF-8 inside its pool.
fn check_strings(model: &Model<'_>, t: &TensorRef<'_>) -> Result<(), StepFault> {
    let bytes = model.weight_bytes(t).ok_or(StepFault::Shape)?;
    let v = StrView::new(bytes, t.numel()).ok_or(StepFault::Shape)?;
    if (0..v.len()).all(|i| v.str(i).is_some()) { Ok(()) } else { Err(StepFault::Shape) }
}

/// Writes `v` into the one-element i64 tensor `t`.
fn set_count(mem: &Mem<'_>, t: &TensorRef<'_>, v: usize) {
    if let Some(c) = out::<i64>(mem, t).first_mut() {
        *c = v as i64;
    }
}

#[cfg(test)]
mod tests;
