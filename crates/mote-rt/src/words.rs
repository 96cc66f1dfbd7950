//! Attribute words: a cursor that decodes a step's u32 words with bounds checks, and the writer
//! the compiler encodes them with.

use mote_format::StepRef;

use crate::error::StepFault;

/// Reads a step's attribute words in order; every read past the end or out of range is
/// [`StepFault::Attrs`].
#[derive(Debug)]
pub struct Words<'s, 'a> {
    step: &'s StepRef<'a>,
    pos: usize,
}

impl<'s, 'a> Words<'s, 'a> {
    pub fn new(step: &'s StepRef<'a>) -> Self {
        Words { step, pos: 0 }
    }

    pub fn u32(&mut self) -> Result<u32, StepFault> {
        if self.pos >= self.step.attr_len() {
            return Err(StepFault::Attrs);
        }
        self.pos += 1;
        Ok(self.step.attr(self.pos - 1))
    }

    pub fn i32(&mut self) -> Result<i32, StepFault> {
        self.u32().map(|w| w as i32)
    }

    pub fn f32(&mut self) -> Result<f32, StepFault> {
        self.u32().map(f32::from_bits)
    }

    /// A u32 that must be at most `max`.
    pub fn upto(&mut self, max: u32) -> Result<usize, StepFault> {
        let w = self.u32()?;
        if w > max {
            return Err(StepFault::Attrs);
        }
        Ok(w as usize)
    }

    pub fn bool(&mut self) -> Result<bool, StepFault> {
        Ok(self.upto(1)? == 1)
    }

    /// Fills `out` from the next words.
    pub fn i32s(&mut self, out: &mut [i32]) -> Result<(), StepFault> {
        for o in out {
            *o = self.i32()?;
        }
        Ok(())
    }

    /// Fills `out` from the next words, each at most `max`.
    pub fn usizes(&mut self, out: &mut [usize], max: u32) -> Result<(), StepFault> {
        for o in out {
            *o = self.upto(max)?;
        }
        Ok(())
    }

    /// Every word consumed: trailing words are an error (they mean a different encoding).
    pub fn end(&self) -> Result<(), StepFault> {
        if self.pos == self.step.attr_len() { Ok(()) } else { Err(StepFault::Attrs) }
    }
}

/// Appends attribute words (host side).
#[cfg(feature = "alloc")]
#[derive(Debug, Default)]
pub struct WordsOut(pub alloc::vec::Vec<u32>);

#[cfg(feature = "alloc")]
impl WordsOut {
    pub fn u32(&mut self, w: u32) -> &mut Self {
        self.0.push(w);
        self
    }

    pub fn i32(&mut self, w: i32) -> &mut Self {
        self.u32(w as u32)
    }

    pub fn f32(&mut self, w: f32) -> &mut Self {
        self.u32(w.to_bits())
    }

    pub fn usize(&mut self, w: usize) -> &mut Self {
        self.u32(u32::try_from(w).unwrap_or(u32::MAX))
    }

    pub fn bool(&mut self, w: bool) -> &mut Self {
        self.u32(w as u32)
    }

    pub fn i32s(&mut self, ws: &[i32]) -> &mut Self {
        ws.iter().for_each(|&w| {
            self.i32(w);
        });
        self
    }

    pub fn usizes(&mut self, ws: &[usize]) -> &mut Self {
        ws.iter().for_each(|&w| {
            self.usize(w);
        });
        self
    }
}
