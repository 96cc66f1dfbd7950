//! Tensor-aware deltas between two payloads (host and Linux devices, `std`).
//!
//! The new payload is cut into segments along its `.mote` weight tensors (and the bytes
//! between them); each segment becomes one operation against the old payload: `Copy` a range
//! that is unchanged; for a changed tensor whichever of these compresses smallest: its new
//! bytes, its new 4-byte elements as byte planes, its XOR with the old tensor of the same name
//! and size, or (4-byte elements) a mask of the elements now zero plus the XOR planes of the
//! rest — pruning zeroes weights, fine-tuning keeps their sign and exponent. The operations are compressed with zstd using the old payload as a
//! reference prefix (what `zstd --patch-from` does for the whole file), so raw bytes that
//! still occur in the old payload cost little.
//!
//! ```text
//! "MOTEDLT1" | old_sha256 [32] | new_sha256 [32] | new_len u64 | zstd(ops)
//! ops: 0 Copy (old_offset u64, len u64) | 1 Xor (old_offset u64, len u64, bytes)
//!      2 Raw (len u64, bytes) | 3 RawPlanes (len u64, 4 byte planes)
//!      4 XorPlanes (old_offset u64, len u64, zero mask [len/32 rounded up], 4 planes of the rest)
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

/// Operation codes of the stream.
const COPY: u8 = 0;
const XOR: u8 = 1;
const RAW: u8 = 2;
/// Raw 4-byte elements stored as four byte planes (all first bytes, then all second...): the
/// high bytes of floats and ints repeat, so planes compress far better than interleaved bytes.
const RAW_PLANES: u8 = 3;
/// 4-byte elements against the old ones: a bit mask of elements now zero (pruning), then the
/// XOR with the old bits of the others as byte planes (fine-tuning leaves sign and exponent).
const XOR_PLANES: u8 = 4;

fn put(stream: &mut Vec<u8>, op: u8, words: &[u64], bytes: &[u8]) {
    stream.push(op);
    words.iter().for_each(|w| stream.extend_from_slice(&w.to_le_bytes()));
    stream.extend_from_slice(bytes);
}

/// The byte planes of the 4-byte elements `elems`.
fn planes(elems: &[[u8; 4]]) -> Vec<u8> {
    (0..4).flat_map(|k| elems.iter().map(move |e| e[k])).collect()
}

fn words(b: &[u8]) -> Vec<[u8; 4]> {
    b.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()
}

/// The zero mask and XOR planes of `new` against `old` (equal lengths, multiples of 4).
fn xor_planes(new: &[u8], old: &[u8]) -> Vec<u8> {
    let (n, o) = (words(new), words(old));
    let mut mask = vec![0u8; n.len().div_ceil(8)];
    let mut rest = Vec::with_capacity(n.len());
    for (i, (a, b)) in n.iter().zip(&o).enumerate() {
        if *a == [0; 4] && *b != [0; 4] {
            mask[i / 8] |= 1 << (i % 8);
        } else {
            rest.push([a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]]);
        }
    }
    mask.extend(planes(&rest));
    mask
}

/// The bytes `new[from..to]` between tensors: copied when unchanged at the same place (headers,
/// manifest), else raw.
fn gap(stream: &mut Vec<u8>, old: &[u8], new: &[u8], from: usize, to: usize) {
    if from < to {
        if old.get(from..to) == Some(&new[from..to]) {
            put(stream, COPY, &[from as u64, (to - from) as u64], &[]);
        } else {
            put(stream, RAW, &[(to - from) as u64], &new[from..to]);
        }
    }
}

fn zsize(b: &[u8]) -> usize {
    zstd::bulk::compress(b, 3).map_or(b.len(), |c| c.len())
}

/// What [`make`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delta {
    /// The delta, smaller than the new payload.
    Patch(Vec<u8>, Stats),
    /// The delta would not be smaller than the new payload (`delta_len`): send the full one.
    Full { delta_len: usize, stats: Stats },
}

/// How the new payload's weight tensors were encoded (counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub tensors: usize,
    pub copied: usize,
    pub raw: usize,
    pub raw_planes: usize,
    pub xor: usize,
    pub xor_planes: usize,
}

/// The delta turning `old` into `new` (see the module doc), or [`Delta::Full`] when it is not
/// smaller than `new`.
pub fn make(old: &[u8], new: &[u8]) -> Result<Delta, String> {
    if old.len() > MAX_PAYLOAD || new.len() > MAX_PAYLOAD {
        return Err(format!("payloads over {MAX_PAYLOAD} bytes are sent whole"));
    }
    let old_t: HashMap<(String, usize), usize> = tensors(old).into_iter().map(|s| ((s.name, s.len), s.start)).collect();
    let mut stream = Vec::new();
    let mut at = 0;
    let mut st = Stats::default();
    for s in tensors(new) {
        st.tensors += 1;
        gap(&mut stream, old, new, at, s.start);
        let cur = &new[s.start..s.start + s.len];
        let (o, n) = (old_t.get(&(s.name.clone(), s.len)).copied(), s.len as u64);
        // The candidates: (op, header words, bytes); the one that compresses smallest is kept.
        let mut cands: Vec<(u8, Vec<u64>, Vec<u8>)> = vec![(RAW, vec![n], cur.to_vec())];
        if s.len % 4 == 0 {
            cands.push((RAW_PLANES, vec![n], planes(&words(cur))));
        }
        if let Some(o) = o {
            let base = &old[o..o + s.len];
            if base == cur {
                put(&mut stream, COPY, &[o as u64, n], &[]);
                st.copied += 1;
                at = s.start + s.len;
                continue;
            }
            cands.push((XOR, vec![o as u64, n], cur.iter().zip(base).map(|(a, b)| a ^ b).collect()));
            if s.len % 4 == 0 {
                cands.push((XOR_PLANES, vec![o as u64, n], xor_planes(cur, base)));
            }
        }
        let (op, head, bytes) = cands.into_iter().min_by_key(|c| zsize(&c.2)).expect("raw is a candidate");
        *match op {
            RAW => &mut st.raw,
            RAW_PLANES => &mut st.raw_planes,
            XOR => &mut st.xor,
            _ => &mut st.xor_planes,
        } += 1;
        put(&mut stream, op, &head, &bytes);
        at = s.start + s.len;
    }
    gap(&mut stream, old, new, at, new.len());
    let mut out = DELTA_MAGIC.to_vec();
    out.extend_from_slice(&Sha256::digest(old));
    out.extend_from_slice(&Sha256::digest(new));
    out.extend_from_slice(&(new.len() as u64).to_le_bytes());
    let mut enc = zstd::stream::write::Encoder::with_ref_prefix(&mut out, LEVEL, old).map_err(|e| e.to_string())?;
    enc.long_distance_matching(true).map_err(|e| e.to_string())?;
    enc.window_log(window_log(old.len() + stream.len())).map_err(|e| e.to_string())?;
    enc.write_all(&stream).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())?;
    Ok(if out.len() < new.len() { Delta::Patch(out, st) } else { Delta::Full { delta_len: out.len(), stats: st } })
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
        let src = match op {
            COPY | XOR | XOR_PLANES => Some(r.u64("delta offset").map_err(err)? as usize),
            RAW | RAW_PLANES => None,
            _ => return Err(bad("unknown operation")),
        };
        let n = r.u64("delta length").map_err(err)? as usize;
        if out.len() + n > new_len || (matches!(op, RAW_PLANES | XOR_PLANES) && !n.is_multiple_of(4)) {
            return Err(bad("an operation runs past the new length, or splits an element"));
        }
        let base = match src {
            Some(o) => Some(
                o.checked_add(n).and_then(|e| old.get(o..e)).ok_or_else(|| bad("a range outside the old payload"))?,
            ),
            None => None,
        };
        let elems = n / 4;
        match (op, base) {
            (COPY, Some(b)) => out.extend_from_slice(b),
            (XOR, Some(b)) => out.extend(b.iter().zip(r.take(n, "delta bytes").map_err(err)?).map(|(a, x)| a ^ x)),
            (RAW_PLANES, _) => {
                let p = r.take(n, "delta planes").map_err(err)?;
                out.extend((0..elems).flat_map(|j| (0..4).map(move |k| p[k * elems + j])));
            }
            (XOR_PLANES, Some(b)) => {
                let mask = r.take(elems.div_ceil(8), "delta mask").map_err(err)?;
                let zeroed = |j: usize| mask[j / 8] & (1 << (j % 8)) != 0;
                let kept = (0..elems).filter(|&j| !zeroed(j)).count();
                let p = r.take(4 * kept, "delta planes").map_err(err)?;
                let mut m = 0;
                for j in 0..elems {
                    if zeroed(j) {
                        out.extend_from_slice(&[0; 4]);
                    } else {
                        out.extend((0..4).map(|k| b[4 * j + k] ^ p[k * kept + m]));
                        m += 1;
                    }
                }
            }
            _ => out.extend_from_slice(r.take(n, "delta bytes").map_err(err)?),
        }
    }
    if out.len() != new_len || Sha256::digest(&out).as_slice() != want {
        return Err(ApplyError::Mismatch);
    }
    Ok(out)
}
