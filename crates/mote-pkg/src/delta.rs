//! Tensor-aware deltas between two payloads (host and Linux devices, `std`).
//!
//! The new payload is cut into segments along its `.mote` weight tensors (and the bytes
//! between them); each segment becomes one operation against the old payload: `Copy` a range
//! that is unchanged, `Xor` a tensor of the same name and size (a fine-tuned tensor's bits
//! mostly cancel), or `Raw` new bytes — for each changed tensor whichever of `Xor` and `Raw`
//! compresses smaller. The operations are compressed with zstd using the old payload as a
//! reference prefix (what `zstd --patch-from` does for the whole file), so raw bytes that
//! still occur in the old payload cost little.
//!
//! ```text
//! "MOTEDLT1" | old_sha256 [32] | new_sha256 [32] | new_len u64 | zstd(ops)
//! ops: 0 Copy (old_offset u64, len u64) | 1 Xor (old_offset u64, len u64, bytes) | 2 Raw (len u64, bytes)
//! ```
//!
//! Applying checks the old payload's hash first and the rebuilt payload's length and hash last;
//! the caller compares the new hash with the signed targets entry, and fetches the full
//! package when anything fails.

extern crate std;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use sha2::{Digest, Sha256};

pub const DELTA_MAGIC: &[u8; 8] = b"MOTEDLT1";
const LEVEL: i32 = 19;
/// The largest payload a delta is made or applied for (zstd's default decoder window limit).
pub const MAX_PAYLOAD: usize = 1 << 30;

/// A weight tensor's place in a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    name: String,
    start: usize,
    len: usize,
}

/// The weight tensors of the `.mote` inside `payload`, by absolute byte range (empty when the
/// payload is not a readable package payload: then the delta is byte-level only).
fn tensors(payload: &[u8]) -> Vec<Segment> {
    let Ok((_, model)) = crate::payload::split(payload) else { return Vec::new() };
    let model_at = payload.len() - model.len();
    if model.as_ptr().align_offset(8) == 0 {
        return tensors_aligned(model, model_at);
    }
    // The reader wants 8-byte aligned bytes: an aligned copy.
    let mut buf = vec![0u8; model.len() + 8];
    let off = buf.as_ptr().align_offset(8);
    if off >= 8 {
        return Vec::new();
    }
    buf[off..off + model.len()].copy_from_slice(model);
    tensors_aligned(&buf[off..off + model.len()], model_at)
}

fn tensors_aligned(model: &[u8], model_at: usize) -> Vec<Segment> {
    let Ok(m) = mote_format::Model::parse(model) else { return Vec::new() };
    let base = m.weights().as_ptr() as usize - model.as_ptr() as usize;
    let mut out: Vec<Segment> = (0..m.tensor_count() as u32)
        .filter_map(|i| m.tensor(i))
        .filter(|t| m.weight_bytes(t).is_some() && t.nbytes > 0)
        .map(|t| Segment {
            name: t.name.to_string(),
            start: model_at + base + t.offset as usize,
            len: t.nbytes as usize,
        })
        .collect();
    out.sort_by_key(|s| s.start);
    // Tensors may share bytes (views): keep the first of overlapping ones.
    let mut end = 0;
    out.retain(|s| {
        let keep = s.start >= end;
        if keep {
            end = s.start + s.len;
        }
        keep
    });
    out
}

enum Op<'a> {
    Copy(usize, usize),
    Xor(usize, Vec<u8>),
    Raw(&'a [u8]),
}

/// The bytes `new[from..to]` between tensors: copied when unchanged at the same place (headers,
/// manifest), else raw.
fn gap<'a>(ops: &mut Vec<Op<'a>>, old: &[u8], new: &'a [u8], from: usize, to: usize) {
    if from < to {
        ops.push(if old.get(from..to) == Some(&new[from..to]) {
            Op::Copy(from, to - from)
        } else {
            Op::Raw(&new[from..to])
        });
    }
}

fn zsize(b: &[u8]) -> usize {
    zstd::bulk::compress(b, 3).map_or(b.len(), |c| c.len())
}

/// What [`make`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delta {
    /// The delta, smaller than the new payload.
    Patch(Vec<u8>),
    /// The delta would not be smaller than the new payload (`delta_len`): send the full one.
    Full { delta_len: usize },
}

/// The delta turning `old` into `new` (see the module doc), or [`Delta::Full`] when it is not
/// smaller than `new`.
pub fn make(old: &[u8], new: &[u8]) -> Result<Delta, String> {
    if old.len() > MAX_PAYLOAD || new.len() > MAX_PAYLOAD {
        return Err(format!("payloads over {MAX_PAYLOAD} bytes are sent whole"));
    }
    let old_t: HashMap<(String, usize), usize> = tensors(old).into_iter().map(|s| ((s.name, s.len), s.start)).collect();
    let mut ops = Vec::new();
    let mut at = 0;
    for s in tensors(new) {
        gap(&mut ops, old, new, at, s.start);
        let cur = &new[s.start..s.start + s.len];
        match old_t.get(&(s.name.clone(), s.len)) {
            Some(&o) if &old[o..o + s.len] == cur => ops.push(Op::Copy(o, s.len)),
            Some(&o) => {
                let x: Vec<u8> = cur.iter().zip(&old[o..o + s.len]).map(|(a, b)| a ^ b).collect();
                if zsize(&x) < zsize(cur) { ops.push(Op::Xor(o, x)) } else { ops.push(Op::Raw(cur)) }
            }
            None => ops.push(Op::Raw(cur)),
        }
        at = s.start + s.len;
    }
    gap(&mut ops, old, new, at, new.len());
    let mut stream = Vec::new();
    for op in &ops {
        match op {
            Op::Copy(o, n) => {
                stream.push(0);
                stream.extend_from_slice(&(*o as u64).to_le_bytes());
                stream.extend_from_slice(&(*n as u64).to_le_bytes());
            }
            Op::Xor(o, x) => {
                stream.push(1);
                stream.extend_from_slice(&(*o as u64).to_le_bytes());
                stream.extend_from_slice(&(x.len() as u64).to_le_bytes());
                stream.extend_from_slice(x);
            }
            Op::Raw(b) => {
                stream.push(2);
                stream.extend_from_slice(&(b.len() as u64).to_le_bytes());
                stream.extend_from_slice(b);
            }
        }
    }
    let mut out = DELTA_MAGIC.to_vec();
    out.extend_from_slice(&Sha256::digest(old));
    out.extend_from_slice(&Sha256::digest(new));
    out.extend_from_slice(&(new.len() as u64).to_le_bytes());
    let mut enc = zstd::stream::write::Encoder::with_ref_prefix(&mut out, LEVEL, old).map_err(|e| e.to_string())?;
    enc.long_distance_matching(true).map_err(|e| e.to_string())?;
    enc.window_log(window_log(old.len() + stream.len())).map_err(|e| e.to_string())?;
    enc.write_all(&stream).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())?;
    Ok(if out.len() < new.len() { Delta::Patch(out) } else { Delta::Full { delta_len: out.len() } })
}

fn window_log(n: usize) -> u32 {
    (usize::BITS - n.max(1 << 10).leading_zeros()).clamp(10, 30)
}

/// Why a delta could not be applied (the device then fetches the full package).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// Not a delta, or corrupt.
    Malformed(String),
    /// The delta was made from another payload than the one installed.
    WrongBase,
    /// The rebuilt payload is not the one the delta was made for.
    Mismatch,
}

impl core::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ApplyError::Malformed(m) => write!(f, "malformed delta: {m}"),
            ApplyError::WrongBase => f.write_str("the delta was made from another payload than the installed one"),
            ApplyError::Mismatch => f.write_str("the rebuilt payload does not hash to the delta's target"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// The new payload from `old` and `delta`; its SHA-256 is the delta's (the caller also checks
/// it against the signed entry). `max_len` caps the rebuilt size.
pub fn apply(old: &[u8], delta: &[u8], max_len: usize) -> Result<Vec<u8>, ApplyError> {
    let bad = |m: &str| ApplyError::Malformed(m.to_string());
    if delta.len() < 80 || &delta[..8] != DELTA_MAGIC {
        return Err(bad("no MOTEDLT1 magic"));
    }
    if Sha256::digest(old).as_slice() != &delta[8..40] {
        return Err(ApplyError::WrongBase);
    }
    let want: [u8; 32] = delta[40..72].try_into().expect("32 bytes");
    let new_len = u64::from_le_bytes(delta[72..80].try_into().expect("8 bytes"));
    let new_len = usize::try_from(new_len)
        .ok()
        .filter(|&n| n <= max_len.min(MAX_PAYLOAD))
        .ok_or_else(|| bad("the new payload is over the cap"))?;
    let mut dec = zstd::stream::read::Decoder::with_ref_prefix(&delta[80..], old).map_err(|e| bad(&e.to_string()))?;
    dec.window_log_max(30).map_err(|e| bad(&e.to_string()))?;
    // The stream is at most the new payload plus 17 bytes per operation; read a bounded amount.
    let mut stream = Vec::new();
    dec.take(2 * new_len as u64 + (1 << 20)).read_to_end(&mut stream).map_err(|e| bad(&e.to_string()))?;
    let mut out = Vec::with_capacity(new_len);
    let mut r = crate::wire::Reader::new(&stream, 0);
    let err = |e: crate::VerifyError| ApplyError::Malformed(e.to_string());
    while !r.is_empty() {
        let op = r.u8("delta op").map_err(err)?;
        let (src, n) = match op {
            0 | 1 => (Some(r.u64("delta offset").map_err(err)? as usize), r.u64("delta length").map_err(err)? as usize),
            2 => (None, r.u64("delta length").map_err(err)? as usize),
            _ => return Err(bad("unknown operation")),
        };
        if out.len() + n > new_len {
            return Err(bad("the operations run past the new length"));
        }
        let from_old = |o: usize| {
            o.checked_add(n).and_then(|e| old.get(o..e)).ok_or_else(|| bad("a range outside the old payload"))
        };
        match (op, src) {
            (0, Some(o)) => out.extend_from_slice(from_old(o)?),
            (1, Some(o)) => {
                let base = from_old(o)?;
                let x = r.take(n, "delta bytes").map_err(err)?;
                out.extend(base.iter().zip(x).map(|(a, b)| a ^ b));
            }
            _ => out.extend_from_slice(r.take(n, "delta bytes").map_err(err)?),
        }
    }
    if out.len() != new_len || Sha256::digest(&out).as_slice() != want {
        return Err(ApplyError::Mismatch);
    }
    Ok(out)
}
