//! Lines over semihosting: `key value`, `output i hex`, `error where: message`.

use core::fmt::Write;

use cortex_m_semihosting::hio;

fn write(bytes: &[u8]) {
    if let Ok(mut h) = hio::hstdout() {
        let _ = h.write_all(bytes);
    }
}

/// Writes `v` in decimal.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// `key value\n`.
pub fn line(key: &str, value: u64) {
    let mut buf = [0; 20];
    write(key.as_bytes());
    write(b" ");
    write(decimal(value, &mut buf));
    write(b"\n");
}

/// `key i <hex of bytes>\n`, written in chunks.
pub fn hex(key: &str, i: usize, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0; 20];
    write(key.as_bytes());
    write(b" ");
    write(decimal(i as u64, &mut buf));
    write(b" ");
    let mut chunk = [0u8; 256];
    for part in bytes.chunks(chunk.len() / 2) {
        for (k, b) in part.iter().enumerate() {
            chunk[2 * k] = DIGITS[(b >> 4) as usize];
            chunk[2 * k + 1] = DIGITS[(b & 15) as usize];
        }
        write(&chunk[..2 * part.len()]);
    }
    write(b"\n");
}

/// `error what\n`; returns false (the run failed).
pub fn fail(what: &str) -> bool {
    write(b"error ");
    write(what.as_bytes());
    write(b"\n");
    false
}

/// `error where: <the error's message>\n`; returns false.
pub fn error(at: &str, e: &mote_rt::RtError) -> bool {
    if let Ok(mut h) = hio::hstdout() {
        let _ = writeln!(h, "error {at}: {e}");
    }
    false
}
