//! `StringEqual` (75): `y = (a == b)` element-wise with numpy broadcasting: `a`, `b` strings,
//! `y` bool (its dims the broadcast of theirs). Strings are equal when their bytes are. No
//! attribute words: the broadcast is derived from the shapes.

use mote_core::DType;
use mote_format::StepRef;

use super::bcast::Broadcast;
use super::{BAD_SLOT, strs, want_strings};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault, out, want, want_numel};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct StringEqual {
    bc: Broadcast,
}

impl StringEqual {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<StringEqual, StepFault> {
        io.arity(2, 2, 1)?;
        Words::new(step).end()?;
        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        want_strings(&a)?;
        want_strings(&b)?;
        want(&y, DType::Bool)?;
        want_numel(&y, y.numel())?;
        Ok(StringEqual { bc: Broadcast::of(&a, &b, &y)? })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (a, b) = (strs(mem, &io.input(0)?)?, strs(mem, &io.input(1)?)?);
        let y = out::<u8>(mem, &io.output(0)?);
        let n = y.len();
        self.bc.each(n, |k, ia, ib| {
            let same = a.get(ia).ok_or(BAD_SLOT)? == b.get(ib).ok_or(BAD_SLOT)?;
            if let Some(o) = y.get_mut(k) {
                *o = same as u8;
            }
            Ok(())
        })
    }
}

/// StringEqual's attribute words (none).
#[cfg(feature = "alloc")]
pub fn encode_string_equal() -> alloc::vec::Vec<u32> {
    alloc::vec::Vec::new()
}
