//! `RegexFullMatch` (73): `x` (strings), `classes` (u8 `[256]`), `next` (u32 `[S, K]`),
//! `flags` (u8 `[S]`) -> `y` (bool, x's dims). No attribute words.
//!
//! The pattern is compiled on the host into a deterministic automaton over bytes: byte `b`
//! belongs to class `classes[b]`, state `s` goes to `next[s, class]`, the walk starts in state
//! 0, and the string fully matches when the state reached after its last byte has flag bit 0.
//! Flag bit 1 marks the quit state (a `\b` the DFA cannot decide on non-ASCII text): reaching
//! it is a data error. The tables must be weights and are checked at load (classes `< K`,
//! states `< S`, flags `<= 3`), so the walk never leaves them.

use mote_core::DType;
use mote_format::{Model, StepRef, Storage, TensorRef};

use super::{BAD_SLOT, strs, want_strings};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, inp, out, want, want_numel};
use crate::words::Words;

/// Flag: the state accepts at the end of the text.
pub const ACCEPT: u8 = 1;
/// Flag: the automaton gave up (absorbing).
pub const QUIT: u8 = 2;

#[derive(Clone, Copy, Debug)]
pub struct RegexFullMatch {
    states: usize,
    classes: usize,
}

fn weight<'a>(io: &Io<'a>, i: usize, dtype: DType) -> Result<TensorRef<'a>, StepFault> {
    let t = io.input(i)?;
    want(&t, dtype)?;
    if t.storage != Storage::Weights {
        return Err(StepFault::Shape);
    }
    Ok(t)
}

impl RegexFullMatch {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<RegexFullMatch, StepFault> {
        io.arity(4, 4, 1)?;
        Words::new(step).end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want_strings(&x)?;
        want(&y, DType::Bool)?;
        want_numel(&y, x.numel())?;
        if x.dims() != y.dims() {
            return Err(StepFault::Shape);
        }
        let (classes, next, flags) = (weight(io, 1, DType::U8)?, weight(io, 2, DType::U32)?, weight(io, 3, DType::U8)?);
        want_numel(&classes, 256)?;
        let (states, k) = match next.dims() {
            &[s, k] if s >= 1 && k >= 1 => (s as usize, k as usize),
            _ => return Err(StepFault::Shape),
        };
        want_numel(&next, next.numel())?;
        want_numel(&flags, states)?;
        Ok(RegexFullMatch { states, classes: k })
    }

    /// Every class, state and flag in range.
    pub fn check_tables(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let bytes = |i: usize| io.input(i).ok().and_then(|t| model.weight_bytes(&t)).ok_or(StepFault::Shape);
        let ok = bytes(1)?.iter().all(|&c| (c as usize) < self.classes)
            && bytes(2)?.chunks_exact(4).all(|w| (u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize) < self.states)
            && bytes(3)?.iter().all(|&f| f <= ACCEPT | QUIT);
        if ok { Ok(()) } else { Err(StepFault::Shape) }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (x, y) = (strs(mem, &io.input(0)?)?, out::<u8>(mem, &io.output(0)?));
        let classes = inp::<u8>(mem, &io.input(1)?);
        let next = inp::<u32>(mem, &io.input(2)?);
        let flags = inp::<u8>(mem, &io.input(3)?);
        const BAD_TABLE: RunFault = RunFault::Data("RegexFullMatch: a DFA table entry is out of range");
        for (i, o) in y.iter_mut().enumerate() {
            let mut state = 0usize;
            for &b in x.get(i).ok_or(BAD_SLOT)? {
                let class = *classes.get(b as usize).ok_or(BAD_TABLE)? as usize;
                let at = state.checked_mul(self.classes).and_then(|s| s.checked_add(class)).ok_or(BAD_TABLE)?;
                state = *next.get(at).ok_or(BAD_TABLE)? as usize;
            }
            let f = *flags.get(state).ok_or(BAD_TABLE)?;
            if f & QUIT != 0 {
                return Err(RunFault::Data(
                    "RegexFullMatch: the pattern's word boundary is only decided on ASCII text, and this string is not",
                ));
            }
            *o = (f & ACCEPT != 0) as u8;
        }
        Ok(())
    }
}

/// RegexFullMatch's attribute words (none: the automaton is in the step's weight inputs).
#[cfg(feature = "alloc")]
pub fn encode_regex_full_match() -> alloc::vec::Vec<u32> {
    alloc::vec::Vec::new()
}
