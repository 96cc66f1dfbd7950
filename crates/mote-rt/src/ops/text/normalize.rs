//! `StringNormalizer` (72): `x` (strings `[C]` or `[1, C]`), `stopwords?` (strings `[S]`, a
//! weight; lowercased by the compiler when matching ignores case) -> `y` (strings, x's rank,
//! last dim `max(C, 1)`), `count` (i64 `[1]`). Attributes `[case (0 none, 1 lower, 2 upper),
//! case_sensitive]`.
//!
//! The strings that are not stopwords (compared as they are, or by their lowercase when not
//! `case_sensitive`), in order, with their case changed (see [`super::case`]); when none is
//! left the result is one empty string. `y` is a Bounded output (axis: the last) of `count`
//! elements.

use mote_format::StepRef;

use super::case::{lowercase_chars, uppercase_chars};
use super::{full, set_count, strs, text, want_strings, writer};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, want, want_numel};
use crate::words::Words;

/// The case change a StringNormalizer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseChange {
    None = 0,
    Lower = 1,
    Upper = 2,
}

#[derive(Clone, Copy, Debug)]
pub struct Normalize {
    case: CaseChange,
    case_sensitive: bool,
}

impl Normalize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Normalize, StepFault> {
        io.arity(1, 2, 2)?;
        let mut w = Words::new(step);
        let case = [CaseChange::None, CaseChange::Lower, CaseChange::Upper][w.upto(2)?];
        let case_sensitive = w.bool()?;
        w.end()?;
        let (x, y, count) = (io.input(0)?, io.output(0)?, io.output(1)?);
        want_strings(&x)?;
        want_strings(&y)?;
        if let Some(s) = io.opt(1) {
            want_strings(&s)?;
            if s.storage != mote_format::Storage::Weights {
                return Err(StepFault::Shape);
            }
        }
        want(&count, mote_core::DType::I64)?;
        want_numel(&count, 1)?;
        let c = x.numel();
        let shape_ok = match (x.dims(), y.dims()) {
            (&[_], &[m]) | (&[1, _], &[1, m]) => m as usize == c.max(1),
            _ => false,
        };
        if !shape_ok {
            return Err(StepFault::Shape);
        }
        Ok(Normalize { case, case_sensitive })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (x, y, count) = (strs(mem, &io.input(0)?)?, io.output(0)?, io.output(1)?);
        let stops = match io.opt(1) {
            Some(t) => Some(strs(mem, &t)?),
            None => None,
        };
        let mut w = writer(mem, &y)?;
        let mut kept = 0;
        for i in 0..x.len() {
            let s = text(&x, i)?;
            if let Some(stops) = &stops {
                let mut stop = false;
                for j in 0..stops.len() {
                    let word = text(stops, j)?;
                    stop |= if self.case_sensitive { word == s } else { lowercase_chars(s).eq(word.chars()) };
                }
                if stop {
                    continue;
                }
            }
            match self.case {
                CaseChange::None => w.push(s.as_bytes()).map_err(full(0))?,
                CaseChange::Lower => lowercase_chars(s).try_for_each(|c| w.push_char(c)).map_err(full(0))?,
                CaseChange::Upper => uppercase_chars(s).try_for_each(|c| w.push_char(c)).map_err(full(0))?,
            }
            w.finish(kept);
            kept += 1;
        }
        if kept == 0 {
            w.finish(0);
            kept = 1;
        }
        set_count(mem, &count, kept);
        Ok(())
    }
}

/// StringNormalizer's attribute words.
#[cfg(feature = "alloc")]
pub fn encode_normalizer(case: CaseChange, case_sensitive: bool) -> alloc::vec::Vec<u32> {
    alloc::vec![case as u32, case_sensitive as u32]
}
