//! String tensors (element type 8, format 1.3): `n` element slots followed by a byte pool.
//!
//! ```text
//!  offset 0            8 n                                    nbytes
//!  +---------+---------+-----------------------------------------+
//!  | slot 0  | slot 1 ..| pool: UTF-8 bytes (capacity = nbytes - 8 n) |
//!  +---------+---------+-----------------------------------------+
//!  slot = (offset u32, length u32): element i is pool[offset .. offset + length]
//! ```
//!
//! The pool's capacity is fixed when the file is compiled (the tensor record's byte length), so
//! a step writing strings never allocates; a result that does not fit is a run-time error naming
//! the tensor, never a truncation. Readers check every slot against the pool ([`StrView::get`]
//! returns `None` for a slot outside it), so no slot value can make them read out of bounds.
//! Slots may share or overlap pool bytes (a reader does not care); writers append.

/// Bytes of one element slot.
pub const SLOT_BYTES: usize = 8;

/// The pool capacity of a string tensor of `numel` elements and `nbytes` bytes (`None` when
/// the bytes do not even hold the slots, or the pool is beyond u32 offsets).
pub fn pool_capacity(numel: u64, nbytes: u64) -> Option<u64> {
    let slots = numel.checked_mul(SLOT_BYTES as u64)?;
    nbytes.checked_sub(slots).filter(|&c| c <= u32::MAX as u64)
}

fn word(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(u32::MAX, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A string tensor's bytes, read.
#[derive(Clone, Copy, Debug)]
pub struct StrView<'a> {
    slots: &'a [u8],
    pool: &'a [u8],
}

impl<'a> StrView<'a> {
    /// The view of `bytes` holding `numel` slots then the pool (`None` if too short).
    pub fn new(bytes: &'a [u8], numel: usize) -> Option<StrView<'a>> {
        let n = numel.checked_mul(SLOT_BYTES)?;
        (n <= bytes.len()).then(|| {
            let (slots, pool) = bytes.split_at(n);
            StrView { slots, pool }
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.slots.len() / SLOT_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Element `i`'s bytes, or `None` when `i` is out of range or its slot lies outside the pool.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let at = i.checked_mul(SLOT_BYTES)?;
        let (off, len) = (word(self.slots, at) as usize, word(self.slots, at + 4) as usize);
        self.pool.get(off..off.checked_add(len)?)
    }

    /// Element `i` as UTF-8 text (`None` as [`StrView::get`], or for invalid UTF-8).
    pub fn str(&self, i: usize) -> Option<&'a str> {
        core::str::from_utf8(self.get(i)?).ok()
    }

    /// Pool bytes the slots may refer to.
    pub fn capacity(&self) -> usize {
        self.pool.len()
    }
}

/// The pool is full: the string being written does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolFull;

/// Writes a string tensor's slots and pool, appending each element's bytes to the pool.
#[derive(Debug)]
pub struct StrWriter<'a> {
    slots: &'a mut [u8],
    pool: &'a mut [u8],
    used: usize,
    start: usize,
}

impl<'a> StrWriter<'a> {
    /// A writer over `bytes` holding `numel` slots then the pool (`None` if too short). The
    /// pool starts empty.
    pub fn new(bytes: &'a mut [u8], numel: usize) -> Option<StrWriter<'a>> {
        let n = numel.checked_mul(SLOT_BYTES)?;
        if n > bytes.len() || bytes.len() - n > u32::MAX as usize {
            return None;
        }
        let (slots, pool) = bytes.split_at_mut(n);
        Some(StrWriter { slots, pool, used: 0, start: 0 })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.slots.len() / SLOT_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Pool bytes written so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Appends `bytes` to the element being built (see [`StrWriter::finish`]).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), PoolFull> {
        let end = self.used.checked_add(bytes.len()).ok_or(PoolFull)?;
        self.pool.get_mut(self.used..end).ok_or(PoolFull)?.copy_from_slice(bytes);
        self.used = end;
        Ok(())
    }

    /// Appends one character's UTF-8 bytes.
    pub fn push_char(&mut self, c: char) -> Result<(), PoolFull> {
        let mut b = [0u8; 4];
        self.push(c.encode_utf8(&mut b).as_bytes())
    }

    /// Ends the element being built as element `i` (the bytes pushed since the last finish);
    /// an `i` out of range is ignored.
    pub fn finish(&mut self, i: usize) {
        let (off, len) = (self.start as u32, (self.used - self.start) as u32);
        if let Some(s) = i.checked_mul(SLOT_BYTES).and_then(|a| self.slots.get_mut(a..a + SLOT_BYTES)) {
            s[..4].copy_from_slice(&off.to_le_bytes());
            s[4..].copy_from_slice(&len.to_le_bytes());
        }
        self.start = self.used;
    }

    /// Writes element `i` whole.
    pub fn set(&mut self, i: usize, bytes: &[u8]) -> Result<(), PoolFull> {
        self.push(bytes)?;
        self.finish(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_strings_read_back() {
        let mut buf = [0u8; 3 * SLOT_BYTES + 8];
        let mut w = StrWriter::new(&mut buf, 3).unwrap();
        w.set(0, b"ab").unwrap();
        w.set(2, b"").unwrap();
        w.push(b"cd").unwrap();
        w.push_char('\u{e9}').unwrap();
        w.finish(1);
        assert_eq!(w.used(), 6);
        assert_eq!(w.set(0, b"xyz"), Err(PoolFull));
        let v = StrView::new(&buf, 3).unwrap();
        assert_eq!((v.len(), v.capacity()), (3, 8));
        assert_eq!(v.str(0), Some("ab"));
        assert_eq!(v.str(1), Some("cd\u{e9}"));
        assert_eq!(v.str(2), Some(""));
        assert_eq!(v.get(3), None);
    }

    #[test]
    fn slots_outside_the_pool_are_refused() {
        let mut buf = [0u8; SLOT_BYTES + 4];
        buf[..4].copy_from_slice(&2u32.to_le_bytes());
        buf[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(StrView::new(&buf, 1).unwrap().get(0), None);
        buf[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(StrView::new(&buf, 1).unwrap().get(0), None);
        buf[SLOT_BYTES] = 0xFF;
        buf[..8].copy_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
        let v = StrView::new(&buf, 1).unwrap();
        assert_eq!((v.get(0), v.str(0)), (Some(&[0xFF][..]), None));
        assert!(StrView::new(&buf, 2).is_none());
        assert_eq!(pool_capacity(2, 15), None);
        assert_eq!(pool_capacity(2, 20), Some(4));
    }
}
