//! Building and signing metadata and packages (host side, `std`): the writer of the layouts
//! [`crate::meta`] and [`crate::verify`] read.

extern crate std;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::error::Role;
use crate::meta::{Envelope, MAX_KEYS, META_MAGIC};
use crate::verify::{PAYLOAD, PKG_MAGIC, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use crate::wire::write;

/// A role's threshold and public keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    pub threshold: u8,
    pub keys: Vec<[u8; 32]>,
}

/// A root: version, expiry and the keys of the four roles (root, targets, snapshot, timestamp).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootSpec {
    pub version: u32,
    pub expires: u64,
    pub roles: [RoleKeys; 4],
}

/// A model the targets metadata lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySpec {
    pub name: String,
    pub model_version: u64,
    pub target: String,
    pub length: u64,
    pub sha256: [u8; 32],
}

impl EntrySpec {
    /// The entry of `payload`.
    pub fn of(name: &str, model_version: u64, target: &str, payload: &[u8]) -> EntrySpec {
        EntrySpec {
            name: name.to_string(),
            model_version,
            target: target.to_string(),
            length: payload.len() as u64,
            sha256: Sha256::digest(payload).into(),
        }
    }
}

fn header(version: u32, expires: u64) -> Vec<u8> {
    let mut b = Vec::new();
    write::u32(&mut b, version);
    write::u64(&mut b, expires);
    b
}

/// An unsigned metadata file of `role` with `body`.
pub fn envelope(role: Role, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = META_MAGIC.to_vec();
    out.push(role as u8);
    write::u32(&mut out, u32::try_from(body.len()).map_err(|_| "metadata body over 4 GiB".to_string())?);
    out.extend_from_slice(body);
    out.push(0);
    Ok(out)
}

/// The root metadata of `spec`, unsigned.
pub fn root(spec: &RootSpec) -> Result<Vec<u8>, String> {
    let mut b = header(spec.version, spec.expires);
    for (role, rk) in Role::ALL.iter().zip(&spec.roles) {
        let n = rk.keys.len();
        if rk.threshold == 0 || usize::from(rk.threshold) > n || n > MAX_KEYS {
            return Err(format!("{role}: threshold {} of {n} keys (1..=keys, at most {MAX_KEYS} keys)", rk.threshold));
        }
        b.push(rk.threshold);
        b.push(n as u8);
        rk.keys.iter().for_each(|k| b.extend_from_slice(k));
    }
    envelope(Role::Root, &b)
}

/// The targets metadata listing `entries`, unsigned.
pub fn targets(version: u32, expires: u64, entries: &[EntrySpec]) -> Result<Vec<u8>, String> {
    let mut b = header(version, expires);
    write::u16(&mut b, u16::try_from(entries.len()).map_err(|_| "over 65535 targets".to_string())?);
    for e in entries {
        write::str(&mut b, &e.name)?;
        write::u64(&mut b, e.model_version);
        write::str(&mut b, &e.target)?;
        write::u64(&mut b, e.length);
        b.extend_from_slice(&e.sha256);
    }
    envelope(Role::Targets, &b)
}

/// Snapshot (`role` Snapshot, pointing at a signed targets file) or timestamp (`role`
/// Timestamp, pointing at a signed snapshot file) metadata, unsigned.
pub fn pointer(role: Role, version: u32, expires: u64, next: &[u8], next_version: u32) -> Result<Vec<u8>, String> {
    let mut b = header(version, expires);
    write::u32(&mut b, next_version);
    write::u32(&mut b, u32::try_from(next.len()).map_err(|_| "metadata over 4 GiB".to_string())?);
    b.extend_from_slice(&Sha256::digest(next));
    envelope(role, &b)
}

/// `meta` with one more signature, by `key` (a key that already signed is replaced).
pub fn sign(meta: &[u8], role: Role, key: &SigningKey) -> Result<Vec<u8>, String> {
    let env = Envelope::parse(meta, 0, role).map_err(|e| e.to_string())?;
    let pk = key.verifying_key().to_bytes();
    let mut sigs: Vec<Vec<u8>> = meta[env.signed.len() + 1..].chunks_exact(96).map(<[u8]>::to_vec).collect();
    sigs.retain(|s| s[..32] != pk);
    if sigs.len() >= 255 {
        return Err("255 signatures already".into());
    }
    let mut s = pk.to_vec();
    s.extend_from_slice(&key.sign(env.signed).to_bytes());
    sigs.push(s);
    let mut out = env.signed.to_vec();
    out.push(sigs.len() as u8);
    sigs.iter().for_each(|s| out.extend_from_slice(s));
    Ok(out)
}

/// A package: root updates (oldest first), the three metadata files and the payload.
pub fn package(
    roots: &[&[u8]],
    targets: &[u8],
    snapshot: &[u8],
    timestamp: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let mut sections: Vec<(u8, &[u8])> = roots.iter().map(|r| (ROOT, *r)).collect();
    sections.extend([(TARGETS, targets), (SNAPSHOT, snapshot), (TIMESTAMP, timestamp), (PAYLOAD, payload)]);
    let mut out = PKG_MAGIC.to_vec();
    out.push(u8::try_from(sections.len()).map_err(|_| "too many sections".to_string())?);
    for (kind, bytes) in sections {
        out.push(kind);
        write::u32(&mut out, u32::try_from(bytes.len()).map_err(|_| "a section over 4 GiB".to_string())?);
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// A fresh signing key from the operating system's generator.
pub fn generate_key() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness from the operating system: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Fresh keys (one per role, threshold 1) and their signed root: packages for tests, demos and
/// load generators, where a real key ceremony (`mote keygen`, `mote sign`) is not wanted.
#[derive(Debug)]
pub struct TestSigner {
    keys: [SigningKey; 4],
    pub root: Vec<u8>,
    expires: u64,
}

impl TestSigner {
    pub fn generate(expires: u64) -> Result<TestSigner, String> {
        let keys = [generate_key()?, generate_key()?, generate_key()?, generate_key()?];
        let role = |k: &SigningKey| RoleKeys { threshold: 1, keys: vec![k.verifying_key().to_bytes()] };
        let spec =
            RootSpec { version: 1, expires, roles: [role(&keys[0]), role(&keys[1]), role(&keys[2]), role(&keys[3])] };
        let root = sign(&root(&spec)?, Role::Root, &keys[0])?;
        Ok(TestSigner { keys, root, expires })
    }

    /// A package of `payload` (metadata versions = the model version, so each newer model passes
    /// the device's rollback checks).
    pub fn package(&self, name: &str, model_version: u64, target: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let v = u32::try_from(model_version).map_err(|_| "model version over u32 for test metadata".to_string())?;
        let e = self.expires;
        let t = sign(
            &targets(v, e, &[EntrySpec::of(name, model_version, target, payload)])?,
            Role::Targets,
            &self.keys[1],
        )?;
        let s = sign(&pointer(Role::Snapshot, v, e, &t, v)?, Role::Snapshot, &self.keys[2])?;
        let ts = sign(&pointer(Role::Timestamp, v, e, &s, v)?, Role::Timestamp, &self.keys[3])?;
        package(&[], &t, &s, &ts, payload)
    }
}

/// Hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` bytes from hex.
pub fn unhex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let s = s.trim();
    if s.len() != 2 * N || !s.is_ascii() {
        return Err(format!("expected {} hex digits, got {}", 2 * N, s.len()));
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| format!("`{s}` is not hex"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let k = [7u8, 0, 255, 16];
        assert_eq!(unhex::<4>(&hex(&k)).unwrap(), k);
        assert!(unhex::<4>("0700ff1").is_err());
        assert!(unhex::<2>("zz00").is_err());
    }
}
