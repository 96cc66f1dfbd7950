//! The payload a package signs: its manifest (JSON) and the compiled `.mote`.
//!
//! ```text
//! "MOTEPAY1" | manifest_len u32 | manifest (UTF-8 JSON) | model (.mote)
//! ```
//!
//! Read only after [`crate::verify`] has checked the payload's hash.

use crate::error::VerifyError;
use crate::wire::Reader;

pub const PAYLOAD_MAGIC: &[u8; 8] = b"MOTEPAY1";

/// `(manifest JSON, model bytes)` of a verified payload.
pub fn split(payload: &[u8]) -> Result<(&str, &[u8]), VerifyError> {
    let mut r = Reader::new(payload, 0);
    if r.take(8, "payload magic")? != PAYLOAD_MAGIC {
        return Err(VerifyError::Malformed { what: "payload magic (MOTEPAY1)", offset: 0 });
    }
    let n = r.u32("manifest length")? as usize;
    let at = r.offset();
    let m = r.take(n, "manifest")?;
    let m = core::str::from_utf8(m).map_err(|_| VerifyError::Malformed { what: "manifest (not UTF-8)", offset: at })?;
    Ok((m, &payload[at + n..]))
}

/// A payload of `manifest` and `model`. The manifest is padded with spaces so the model starts
/// at a multiple of 64 bytes (read in place from an aligned payload buffer).
#[cfg(feature = "std")]
pub fn join(manifest: &str, model: &[u8]) -> Result<std::vec::Vec<u8>, std::string::String> {
    let pad = (64 - (12 + manifest.len()) % 64) % 64;
    let mut out = PAYLOAD_MAGIC.to_vec();
    let n = u32::try_from(manifest.len() + pad).map_err(|_| std::string::String::from("manifest over 4 GiB"))?;
    crate::wire::write::u32(&mut out, n);
    out.extend_from_slice(manifest.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.extend_from_slice(model);
    Ok(out)
}
