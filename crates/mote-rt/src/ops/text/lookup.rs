//! `StringLookup` (76): `x` (strings), `keys` (strings `[K]`, a weight) -> `y` (i64, x's
//! element count): the position of each string of `x` in `keys`, or `K` when it is missing (a
//! data error when `strict`). Attribute words: `[strict]`.
//!
//! The keys are sorted strictly ascending by their bytes (so each key is there once), UTF-8,
//! and inside their pool: checked at load, so the lookup is a binary search. The compiler sorts
//! a LabelEncoder's keys and permutes its values to match.

use core::cmp::Ordering;

use mote_core::DType;
use mote_format::strings::StrView;
use mote_format::{Model, StepRef};

use super::{BAD_SLOT, check_strings, strs, want_strings, weight_strings};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, out, want, want_numel};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct StringLookup {
    strict: bool,
}

/// The position of `s` in the ascending `keys`, or `None` (a slot outside its pool compares as
/// a data error).
fn search(keys: &StrView<'_>, s: &[u8]) -> Result<Option<usize>, RunFault> {
    let (mut lo, mut hi) = (0, keys.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match keys.get(mid).ok_or(BAD_SLOT)?.cmp(s) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Ok(Some(mid)),
        }
    }
    Ok(None)
}

impl StringLookup {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<StringLookup, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let strict = w.bool()?;
        w.end()?;
        let (x, keys, y) = (io.input(0)?, weight_strings(io, 1)?, io.output(0)?);
        want_strings(&x)?;
        if keys.rank != 1 {
            return Err(StepFault::Shape);
        }
        want(&y, DType::I64)?;
        want_numel(&y, x.numel())?;
        Ok(StringLookup { strict })
    }

    /// The keys: UTF-8 inside their pool and strictly ascending.
    pub fn check_tables(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let t = io.input(1)?;
        check_strings(model, &t)?;
        let bytes = model.weight_bytes(&t).ok_or(StepFault::Shape)?;
        let v = StrView::new(bytes, t.numel()).ok_or(StepFault::Shape)?;
        let ascending = (1..v.len()).all(|i| v.get(i - 1) < v.get(i));
        if ascending { Ok(()) } else { Err(StepFault::Shape) }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (x, keys) = (strs(mem, &io.input(0)?)?, strs(mem, &io.input(1)?)?);
        let y = out::<i64>(mem, &io.output(0)?);
        for (i, o) in y.iter_mut().enumerate() {
            *o = match search(&keys, x.get(i).ok_or(BAD_SLOT)?)? {
                Some(p) => p as i64,
                None if self.strict => return Err(RunFault::Data("a string is not a known category")),
                None => keys.len() as i64,
            };
        }
        Ok(())
    }
}

/// StringLookup's attribute words: whether a missing string is an error.
#[cfg(feature = "alloc")]
pub fn encode_string_lookup(strict: bool) -> alloc::vec::Vec<u32> {
    alloc::vec![strict as u32]
}
