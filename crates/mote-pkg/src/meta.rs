//! Signed metadata, read in place (no allocation). Layout (little-endian; `str` is a `u16`
//! length then UTF-8):
//!
//! ```text
//! envelope   "MOTEMETA" | role u8 | body_len u32 | body | nsig u8 | nsig x (key [32] | sig [64])
//!            signatures cover every byte before nsig
//! body       version u32 | expires u64 (unix seconds) | the role's part:
//!   root       4 x (threshold u8 | nkeys u8 | nkeys x key [32])    roles in order root,
//!                                                                   targets, snapshot, timestamp
//!   targets    n u16 | n x (name str | model_version u64 | target str | length u64 | sha256 [32])
//!   snapshot   targets_version u32 | targets_len u32 | targets_sha256 [32]
//!   timestamp  snapshot_version u32 | snapshot_len u32 | snapshot_sha256 [32]
//! ```

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::{Role, VerifyError};
use crate::wire::Reader;

pub const META_MAGIC: &[u8; 8] = b"MOTEMETA";
/// At most this many keys per role (signers are tracked in a 64-bit set).
pub const MAX_KEYS: usize = 32;

/// A metadata file: its role, body and signatures.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    pub role: Role,
    /// The bytes the signatures cover.
    pub signed: &'a [u8],
    pub body: Reader<'a>,
    sigs: &'a [u8],
    /// The whole file (what the role above hashes).
    pub bytes: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Reads the envelope of `bytes` (at `base` in the package), checking it is `role`.
    pub fn parse(bytes: &'a [u8], base: usize, role: Role) -> Result<Envelope<'a>, VerifyError> {
        let mut r = Reader::new(bytes, base);
        if r.take(8, "metadata magic")? != META_MAGIC {
            return Err(VerifyError::Malformed { what: "metadata magic (MOTEMETA)", offset: base });
        }
        let at = r.offset();
        if Role::from_code(r.u8("metadata role")?) != Some(role) {
            return Err(VerifyError::Malformed { what: "metadata role (not the expected role)", offset: at });
        }
        let n = r.u32("metadata body length")? as usize;
        let body_at = r.offset();
        let body = r.take(n, "metadata body")?;
        let signed = &bytes[..r.offset() - base];
        let nsig = usize::from(r.u8("signature count")?);
        let sigs = r.take(nsig * 96, "signatures")?;
        r.end("metadata (bytes after the signatures)")?;
        Ok(Envelope { role, signed, body: Reader::new(body, body_at), sigs, bytes })
    }

    /// Checks that at least `threshold` distinct keys of `keys` signed; see [`VerifyError`] for
    /// the refusals (unknown key, bad signature, below threshold).
    pub fn check(&self, keys: Keys<'_>, threshold: u8) -> Result<(), VerifyError> {
        let (mut seen, mut valid, mut unknown) = (0u64, 0u8, false);
        for s in self.sigs.chunks_exact(96) {
            let key: &[u8; 32] = s[..32].try_into().expect("96-byte chunk");
            let Some(k) = keys.position(key) else {
                unknown = true;
                continue;
            };
            let vk = VerifyingKey::from_bytes(key).map_err(|_| VerifyError::BadSignature { role: self.role })?;
            let sig = Signature::from_bytes(s[32..].try_into().expect("96-byte chunk"));
            if vk.verify_strict(self.signed, &sig).is_err() {
                return Err(VerifyError::BadSignature { role: self.role });
            }
            if seen & (1 << k) == 0 {
                seen |= 1 << k;
                valid += 1;
            }
        }
        if valid >= threshold {
            Ok(())
        } else if valid == 0 && unknown {
            Err(VerifyError::UnknownKey { role: self.role })
        } else {
            Err(VerifyError::BelowThreshold { role: self.role, valid, need: threshold })
        }
    }

    /// The body's `version` and `expires`, and a reader at the role's part.
    pub fn header(&self) -> Result<(u32, u64, Reader<'a>), VerifyError> {
        let mut r = self.body;
        Ok((r.u32("version")?, r.u64("expiry")?, r))
    }
}

/// A role's keys as listed in the root (32 bytes each).
#[derive(Clone, Copy, Debug)]
pub struct Keys<'a>(&'a [u8]);

impl Keys<'_> {
    pub fn position(&self, key: &[u8; 32]) -> Option<usize> {
        self.0.chunks_exact(32).position(|k| k == key)
    }
}

/// A root's keys and thresholds per role.
#[derive(Clone, Copy, Debug)]
pub struct Root<'a> {
    pub env: Envelope<'a>,
    pub version: u32,
    pub expires: u64,
    roles: [(u8, Keys<'a>); 4],
}

impl<'a> Root<'a> {
    /// Reads a root's body (signatures are checked by the caller: a pinned root is trusted as
    /// it is, a new one must be signed by the old and by itself).
    pub fn parse(bytes: &'a [u8], base: usize) -> Result<Root<'a>, VerifyError> {
        let env = Envelope::parse(bytes, base, Role::Root)?;
        let (version, expires, mut r) = env.header()?;
        let mut roles = [(0u8, Keys(&[])); 4];
        for slot in &mut roles {
            let at = r.offset();
            let threshold = r.u8("role threshold")?;
            let n = usize::from(r.u8("role key count")?);
            if threshold == 0 || usize::from(threshold) > n || n > MAX_KEYS {
                return Err(VerifyError::Malformed { what: "role threshold or key count", offset: at });
            }
            *slot = (threshold, Keys(r.take(n * 32, "role keys")?));
        }
        r.end("root body")?;
        Ok(Root { env, version, expires, roles })
    }

    /// The threshold and keys of `role`.
    pub fn role(&self, role: Role) -> (u8, Keys<'a>) {
        self.roles[role as usize - 1]
    }

    /// Checks `env`'s signatures against this root's keys for its role.
    pub fn check(&self, env: &Envelope<'_>) -> Result<(), VerifyError> {
        let (t, keys) = self.role(env.role);
        env.check(keys, t)
    }
}

/// What the timestamp or snapshot metadata says about the file below it.
#[derive(Clone, Copy, Debug)]
pub struct Pointer<'a> {
    pub env: Envelope<'a>,
    pub version: u32,
    pub expires: u64,
    pub next_version: u32,
    pub next_len: u32,
    pub next_sha256: &'a [u8; 32],
}

impl<'a> Pointer<'a> {
    pub fn parse(env: Envelope<'a>) -> Result<Pointer<'a>, VerifyError> {
        let (version, expires, mut r) = env.header()?;
        let next_version = r.u32("next version")?;
        let next_len = r.u32("next length")?;
        let next_sha256 = r.array::<32>("next sha256")?;
        r.end("pointer body")?;
        Ok(Pointer { env, version, expires, next_version, next_len, next_sha256 })
    }
}

/// One model the targets metadata lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub model_version: u64,
    pub target: &'a str,
    pub length: u64,
    pub sha256: &'a [u8; 32],
}

/// The targets metadata.
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    pub env: Envelope<'a>,
    pub version: u32,
    pub expires: u64,
    count: u16,
    entries: Reader<'a>,
}

impl<'a> Targets<'a> {
    pub fn parse(env: Envelope<'a>) -> Result<Targets<'a>, VerifyError> {
        let (version, expires, mut r) = env.header()?;
        let count = r.u16("target count")?;
        let t = Targets { env, version, expires, count, entries: r };
        // Read every entry once so a malformed one is found here.
        let mut it = t.entries();
        for _ in 0..count {
            it.next_entry()?;
        }
        it.r.end("targets body")?;
        Ok(t)
    }

    pub fn entries(&self) -> EntryIter<'a> {
        EntryIter { r: self.entries, left: self.count }
    }

    /// The entry named `name`.
    pub fn find(&self, name: &str) -> Option<Entry<'a>> {
        let mut it = self.entries();
        while let Ok(Some(e)) = it.next_entry() {
            if e.name == name {
                return Some(e);
            }
        }
        None
    }
}

/// Walks the targets' entries.
#[derive(Clone, Copy, Debug)]
pub struct EntryIter<'a> {
    r: Reader<'a>,
    left: u16,
}

impl<'a> EntryIter<'a> {
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, VerifyError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let r = &mut self.r;
        Ok(Some(Entry {
            name: r.str("target name")?,
            model_version: r.u64("model version")?,
            target: r.str("target")?,
            length: r.u64("payload length")?,
            sha256: r.array::<32>("payload sha256")?,
        }))
    }
}
