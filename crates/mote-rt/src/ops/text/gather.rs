//! `StringGather` (77): `table` (strings `[K]`, a weight), `indices` (i64) -> `y` (strings,
//! `indices`' element count): `y[i] = table[indices[i]]`. An index outside `0..K` is a data
//! error. No attribute words.
//!
//! The table is checked at load (UTF-8 inside its pool); the compiler sizes `y`'s pool for the
//! longest entry at every element, so the step never runs out of room.

use mote_core::DType;
use mote_format::{Model, StepRef};

use super::{BAD_SLOT, check_strings, full, strs, want_strings, weight_strings, writer};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, inp, want, want_numel};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct StringGather;

impl StringGather {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<StringGather, StepFault> {
        io.arity(2, 2, 1)?;
        Words::new(step).end()?;
        let (table, idx, y) = (weight_strings(io, 0)?, io.input(1)?, io.output(0)?);
        if table.rank != 1 {
            return Err(StepFault::Shape);
        }
        want(&idx, DType::I64)?;
        want_strings(&y)?;
        want_numel(&idx, y.numel())?;
        Ok(StringGather)
    }

    /// The table's strings: UTF-8 inside their pool.
    pub fn check_tables(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        check_strings(model, &io.input(0)?)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (table, idx) = (strs(mem, &io.input(0)?)?, inp::<i64>(mem, &io.input(1)?));
        let mut w = writer(mem, &io.output(0)?)?;
        for (i, &j) in idx.iter().enumerate().take(w.len()) {
            let j = usize::try_from(j).ok().filter(|&j| j < table.len());
            let s = table.get(j.ok_or(RunFault::Data("StringGather: an index is out of range"))?).ok_or(BAD_SLOT)?;
            w.set(i, s).map_err(full(0))?;
        }
        Ok(())
    }
}

/// StringGather's attribute words (none).
#[cfg(feature = "alloc")]
pub fn encode_string_gather() -> alloc::vec::Vec<u32> {
    alloc::vec::Vec::new()
}
