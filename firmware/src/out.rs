//! Lines over semihosting: `key value`, `output i hex`, `error where: code c [step s]`. No
//! `core::fmt` (its machinery is kilobytes) and no 64-bit division (a libcall on Cortex-M).

use cortex_m_semihosting::hio;

fn write(bytes: &[u8]) {
    if let Ok(mut h) = hio::hstdout() {
        let _ = h.write_all(bytes);
    }
}

/// Writes `v` in decimal, dividing 16-bit limbs by 10 so every division is a u32 one.
fn decimal(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut limbs = [(v >> 48) as u32, (v >> 32) as u32 & 0xffff, (v >> 16) as u32 & 0xffff, v as u32 & 0xffff];
    let mut i = buf.len();
    loop {
        let mut rem = 0u32;
        for limb in &mut limbs {
            let cur = (rem << 16) | *limb;
            *limb = cur / 10;
            rem = cur % 10;
        }
        i -= 1;
        buf[i] = b'0' + rem as u8;
        if limbs.iter().all(|&l| l == 0) || i == 0 {
            return &buf[i..];
        }
    }
}

fn write_decimal(v: u64) {
    let mut buf = [0; 20];
    write(decimal(v, &mut buf));
}

/// `key value\n`.
pub fn line(key: &str, value: u64) {
    write(key.as_bytes());
    write(b" ");
    write_decimal(value);
    write(b"\n");
}

/// `key i <hex of bytes>\n`, written in chunks. Out of line: its buffer is not in `main`'s
/// frame, which is on the stack through the whole inference.
#[inline(never)]
pub fn hex(key: &str, i: usize, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    write(key.as_bytes());
    write(b" ");
    write_decimal(i as u64);
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

/// `error where: code <code>[ step <step>]\n` (`mote_rt::RtError::code` and `step`); returns
/// false.
pub fn error(at: &str, code: u32, step: Option<u32>) -> bool {
    write(b"error ");
    write(at.as_bytes());
    write(b": code ");
    write_decimal(code.into());
    if let Some(s) = step {
        write(b" step ");
        write_decimal(s.into());
    }
    write(b"\n");
    false
}
