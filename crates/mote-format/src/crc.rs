//! CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), table-driven, no_std.

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update(bytes).finish()
}

/// Incremental CRC-32.
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Crc32 {
    pub fn new() -> Crc32 {
        Crc32(!0)
    }

    pub fn update(mut self, bytes: &[u8]) -> Crc32 {
        for &b in bytes {
            self.0 = TABLE[((self.0 ^ b as u32) & 0xff) as usize] ^ (self.0 >> 8);
        }
        self
    }

    pub fn finish(self) -> u32 {
        !self.0
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

/// Recomputes the structure checksum of a `.mote` file in place (after an edit, e.g. by a tool
/// or a fuzzer that wants its mutations to reach record validation). Does nothing when the
/// header or section table is too damaged to find the WEIGHTS section.
pub fn reseal(bytes: &mut [u8]) {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u64_at = |b: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if bytes.len() < crate::HEADER_LEN {
        return;
    }
    let n = u32_at(bytes, 24) as usize;
    let table_end = crate::HEADER_LEN + n.min(16) * crate::SECTION_ENTRY_LEN;
    if bytes.len() < table_end {
        return;
    }
    let (mut ws, mut we) = (bytes.len(), bytes.len());
    for i in 0..n.min(16) {
        let e = crate::HEADER_LEN + i * crate::SECTION_ENTRY_LEN;
        if u32_at(bytes, e) == crate::SectionKind::Weights.code() {
            let (o, l) = (u64_at(bytes, e + 8), u64_at(bytes, e + 16));
            match o.checked_add(l) {
                Some(end) if end <= bytes.len() as u64 && o >= 36 => (ws, we) = (o as usize, end as usize),
                _ => return,
            }
        }
    }
    let c = Crc32::new().update(&bytes[..32]).update(&bytes[36..ws]).update(&bytes[we..]).finish();
    bytes[32..36].copy_from_slice(&c.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        assert_eq!(Crc32::new().update(b"1234").update(b"56789").finish(), 0xCBF4_3926);
    }
}
