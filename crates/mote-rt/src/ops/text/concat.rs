//! `StringConcat` (70): `y = a + b` element-wise with numpy broadcasting. Operands and result
//! are string tensors; the broadcast is derived from the shapes (no attribute words).

use mote_format::StepRef;

use super::bcast::Broadcast;
use super::{BAD_SLOT, full, strs, want_strings, writer};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Concat {
    bc: Broadcast,
}

impl Concat {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Concat, StepFault> {
        io.arity(2, 2, 1)?;
        Words::new(step).end()?;
        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [a, b, y] {
            want_strings(&t)?;
        }
        Ok(Concat { bc: Broadcast::of(&a, &b, &y)? })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (a, b, y) = (strs(mem, &io.input(0)?)?, strs(mem, &io.input(1)?)?, io.output(0)?);
        let mut w = writer(mem, &y)?;
        self.bc.each(w.len(), |k, ia, ib| {
            w.push(a.get(ia).ok_or(BAD_SLOT)?).map_err(full(0))?;
            w.push(b.get(ib).ok_or(BAD_SLOT)?).map_err(full(0))?;
            w.finish(k);
            Ok(())
        })
    }
}

/// StringConcat's attribute words (none).
#[cfg(feature = "alloc")]
pub fn encode_concat() -> alloc::vec::Vec<u32> {
    alloc::vec::Vec::new()
}
