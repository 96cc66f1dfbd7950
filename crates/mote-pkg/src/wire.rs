//! The byte layout's reader: little-endian integers, `u16`-length-prefixed strings and fixed
//! arrays, every read bounds-checked and every failure naming what was read and where.

use crate::error::VerifyError;

/// A cursor over `bytes`; `base` is the offset of `bytes[0]` in the file (for errors).
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], base: usize) -> Reader<'a> {
        Reader { bytes, pos: 0, base }
    }

    /// The offset of the next byte in the file.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], VerifyError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(VerifyError::Malformed { what, offset: self.offset() })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<&'a [u8; N], VerifyError> {
        let s = self.take(N, what)?;
        Ok(s.try_into().expect("take returned N bytes"))
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, VerifyError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, VerifyError> {
        Ok(u16::from_le_bytes(*self.array(what)?))
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, VerifyError> {
        Ok(u32::from_le_bytes(*self.array(what)?))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, VerifyError> {
        Ok(u64::from_le_bytes(*self.array(what)?))
    }

    /// A `u16`-length-prefixed UTF-8 string.
    pub fn str(&mut self, what: &'static str) -> Result<&'a str, VerifyError> {
        let at = self.offset();
        let n = self.u16(what)? as usize;
        core::str::from_utf8(self.take(n, what)?).map_err(|_| VerifyError::Malformed { what, offset: at })
    }

    /// Fails unless every byte was read.
    pub fn end(&self, what: &'static str) -> Result<(), VerifyError> {
        if self.is_empty() { Ok(()) } else { Err(VerifyError::Malformed { what, offset: self.offset() }) }
    }
}

/// The writer side (host).
#[cfg(feature = "std")]
pub mod write {
    extern crate std;
    use std::vec::Vec;

    pub fn u16(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// A `u16`-length-prefixed string; longer strings are an error.
    pub fn str(out: &mut Vec<u8>, s: &str) -> Result<(), std::string::String> {
        let n = u16::try_from(s.len()).map_err(|_| std::format!("`{s}` is longer than 65535 bytes"))?;
        u16(out, n);
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
