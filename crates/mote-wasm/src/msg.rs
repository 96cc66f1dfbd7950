//! A fixed-size error message (no allocation on the error path).

use core::fmt;

/// Up to `CAP` bytes of UTF-8; longer text is cut at a character boundary.
#[derive(Debug)]
pub struct Msg {
    buf: [u8; Msg::CAP],
    len: usize,
}

impl Msg {
    pub const CAP: usize = 240;

    pub const fn new() -> Msg {
        Msg { buf: [0; Msg::CAP], len: 0 }
    }

    /// Replaces the message with `value`'s `Display` text.
    pub fn set(&mut self, value: &dyn fmt::Display) {
        self.len = 0;
        // `write_str` never fails: it truncates.
        let _ = fmt::write(self, format_args!("{value}"));
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Default for Msg {
    fn default() -> Msg {
        Msg::new()
    }
}

impl fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = Msg::CAP - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Msg;

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let mut m = Msg::new();
        // "a" then two-byte characters: byte CAP falls inside one.
        let long = format!("a{}", "é".repeat(Msg::CAP));
        m.set(&long);
        assert_eq!(m.as_bytes().len(), Msg::CAP - 1);
        assert!(core::str::from_utf8(m.as_bytes()).is_ok());
        m.set(&"short");
        assert_eq!(m.as_bytes(), b"short");
    }
}
