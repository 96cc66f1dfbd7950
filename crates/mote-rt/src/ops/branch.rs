//! Run-time control flow: `Branch` (op 62) skips the next `count` steps when its condition (a
//! bool tensor of one element) is false; `Jump` (op 63) always skips the next `count` steps. A
//! compiled `If` whose condition is known only at run time is `Branch` + the then-steps + `Jump`
//! + the else-steps, both branches writing the same output tensors.
//!
//! Attributes: `[count]`. Skips only go forward and must end inside the step list
//! ([`Runtime::load`](crate::Runtime::load) checks it), so no file can make a run loop or leave
//! the steps; a skipped step only leaves its outputs unwritten.

use mote_core::DType;
use mote_format::{OpCode, StepRef};

use super::{Io, inp, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A `Branch` or `Jump` step.
#[derive(Clone, Copy, Debug)]
pub struct Skip {
    count: u32,
    conditional: bool,
}

impl Skip {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Skip, StepFault> {
        let conditional = step.op == OpCode::Branch;
        if conditional {
            io.arity(1, 1, 0)?;
            let c = io.input(0)?;
            want(&c, DType::Bool)?;
            want_numel(&c, 1)?;
        } else {
            io.arity(0, 0, 0)?;
        }
        let mut w = Words::new(step);
        let count = w.u32()?;
        w.end()?;
        Ok(Skip { count, conditional })
    }

    /// The most steps it skips (the load checks they exist).
    pub fn span(&self) -> usize {
        self.count as usize
    }

    /// The steps to skip in this run: `count` for a `Jump` or a false condition, else 0.
    pub fn skip(&self, mem: &Mem<'_>, io: &Io<'_>) -> usize {
        if !self.conditional {
            return self.span();
        }
        match io.input(0) {
            Ok(c) if inp::<u8>(mem, &c).first().is_some_and(|&b| b != 0) => 0,
            _ => self.span(),
        }
    }
}

/// `Branch` / `Jump` attributes: the number of following steps skipped.
#[cfg(feature = "alloc")]
pub fn encode_skip(count: usize) -> alloc::vec::Vec<u32> {
    alloc::vec![count as u32]
}
