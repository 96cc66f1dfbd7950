//! Verifying a package the way a device must: the metadata chain from the pinned root down to
//! the payload's hash, before one byte of the payload is interpreted.
//!
//! Package layout:
//!
//! ```text
//! "MOTEPKG1" | nsections u8 | nsections x (kind u8 | len u32 | bytes)
//!   kinds: 1 root update (zero or more, in version order), 2 targets, 3 snapshot,
//!          4 timestamp, 5 payload (one each)
//! ```

use sha2::{Digest, Sha256};

use crate::error::{Label, Role, VerifyError};
use crate::meta::{Entry, Envelope, Pointer, Root, Targets};
use crate::wire::Reader;

pub const PKG_MAGIC: &[u8; 8] = b"MOTEPKG1";
/// At most this many root updates in one package.
pub const MAX_ROOT_UPDATES: usize = 8;

/// Section kinds.
pub const ROOT: u8 = 1;
pub const TARGETS: u8 = 2;
pub const SNAPSHOT: u8 = 3;
pub const TIMESTAMP: u8 = 4;
pub const PAYLOAD: u8 = 5;

/// What the device already trusts: the newest versions it has accepted (0 when none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trusted {
    pub timestamp: u32,
    pub snapshot: u32,
    pub targets: u32,
    /// The newest model version of the wanted name the device has installed.
    pub model: u64,
}

/// The device's limits and identity.
#[derive(Clone, Copy, Debug)]
pub struct Device<'a> {
    /// The model the device runs.
    pub name: &'a str,
    /// Its target (`cortex-m4`, `x86_64`...).
    pub target: &'a str,
    /// Now, in unix seconds.
    pub now: u64,
    /// Largest metadata file accepted.
    pub max_metadata: u32,
    /// Largest payload accepted.
    pub max_payload: u64,
}

/// A verified package.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'a> {
    /// The payload, hashed and matching the signed entry.
    pub payload: &'a [u8],
    pub entry: Entry<'a>,
    /// The root now trusted: a root update from the package, or `None` if the pinned one.
    pub new_root: Option<&'a [u8]>,
    /// The versions to remember (rollback protection for the next package).
    pub trusted: Trusted,
}

/// The sections of a package, found but not yet trusted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sections<'a> {
    roots: [(&'a [u8], usize); MAX_ROOT_UPDATES],
    n_roots: usize,
    pub targets: Option<(&'a [u8], usize)>,
    pub snapshot: Option<(&'a [u8], usize)>,
    pub timestamp: Option<(&'a [u8], usize)>,
    pub payload: Option<(&'a [u8], usize)>,
}

impl<'a> Sections<'a> {
    /// Splits `pkg` into its sections, refusing any over the device's caps before reading it.
    pub fn parse(pkg: &'a [u8], dev: &Device<'_>) -> Result<Sections<'a>, VerifyError> {
        let mut r = Reader::new(pkg, 0);
        if r.take(8, "package magic")? != PKG_MAGIC {
            return Err(VerifyError::Malformed { what: "package magic (MOTEPKG1)", offset: 0 });
        }
        let n = r.u8("section count")?;
        let mut s = Sections::default();
        for _ in 0..n {
            let at = r.offset();
            let kind = r.u8("section kind")?;
            let len = r.u32("section length")?;
            let (what, cap) = match kind {
                PAYLOAD => ("the payload", dev.max_payload),
                _ => ("a metadata file", u64::from(dev.max_metadata)),
            };
            if u64::from(len) > cap {
                return Err(VerifyError::TooLarge { what, len: u64::from(len), cap });
            }
            let body_at = r.offset();
            let bytes = (r.take(len as usize, "section")?, body_at);
            let slot = match kind {
                ROOT => {
                    if s.n_roots == MAX_ROOT_UPDATES {
                        return Err(VerifyError::TooLarge {
                            what: "the root update count",
                            len: MAX_ROOT_UPDATES as u64 + 1,
                            cap: MAX_ROOT_UPDATES as u64,
                        });
                    }
                    s.roots[s.n_roots] = bytes;
                    s.n_roots += 1;
                    continue;
                }
                TARGETS => &mut s.targets,
                SNAPSHOT => &mut s.snapshot,
                TIMESTAMP => &mut s.timestamp,
                PAYLOAD => &mut s.payload,
                _ => return Err(VerifyError::Malformed { what: "section kind", offset: at }),
            };
            if slot.replace(bytes).is_some() {
                return Err(VerifyError::Malformed { what: "a repeated section", offset: at });
            }
        }
        r.end("package (bytes after the last section)")?;
        Ok(s)
    }

    /// The root updates, in order.
    pub fn roots(&self) -> &[(&'a [u8], usize)] {
        &self.roots[..self.n_roots]
    }
}

fn need<'a>(s: Option<(&'a [u8], usize)>, what: &'static str) -> Result<(&'a [u8], usize), VerifyError> {
    s.ok_or(VerifyError::Malformed { what, offset: 0 })
}

fn fresh(role: Role, expires: u64, now: u64) -> Result<(), VerifyError> {
    if expires < now { Err(VerifyError::Expired { role, expires, now }) } else { Ok(()) }
}

fn not_older(what: &'static str, trusted: u64, got: u64) -> Result<(), VerifyError> {
    if got < trusted { Err(VerifyError::Rollback { what, trusted, got }) } else { Ok(()) }
}

/// Whether `file` is the one `p` points to (length, then SHA-256).
fn points_to(p: &Pointer<'_>, file: &[u8], role: Role) -> Result<(), VerifyError> {
    let mismatch = VerifyError::MixAndMatch { role, signed_by: p.env.role };
    if file.len() != p.next_len as usize || Sha256::digest(file).as_slice() != p.next_sha256 {
        return Err(mismatch);
    }
    Ok(())
}

/// Verifies `pkg` for `dev` from the pinned `root` and the device's `trusted` versions (TUF's
/// client workflow): the pinned root signed by its own threshold; root updates, each signed by
/// the previous root and by itself; the
/// timestamp, snapshot and targets, each signed by its role's threshold, not expired, not older
/// than trusted, and each the exact file (length and SHA-256) the one above signs; the entry for
/// the device's model and target, not older than installed; the payload's length and SHA-256.
/// Only then is the payload returned.
pub fn verify<'a>(
    pkg: &'a [u8],
    root: &'a [u8],
    trusted: &Trusted,
    dev: &Device<'_>,
) -> Result<Verified<'a>, VerifyError> {
    let s = Sections::parse(pkg, dev)?;
    let mut cur = Root::parse(root, 0)?;
    // Even the pinned root must carry its own threshold of signatures.
    cur.check(&cur.env)?;
    let mut new_root = None;
    for &(bytes, at) in s.roots() {
        let next = Root::parse(bytes, at)?;
        if next.version != cur.version.wrapping_add(1) {
            if next.version <= cur.version {
                return Err(VerifyError::Rollback {
                    what: "root",
                    trusted: u64::from(cur.version),
                    got: u64::from(next.version),
                });
            }
            return Err(VerifyError::RootVersion { trusted: cur.version, got: next.version });
        }
        cur.check(&next.env)?;
        next.check(&next.env)?;
        cur = next;
        new_root = Some(bytes);
    }
    fresh(Role::Root, cur.expires, dev.now)?;

    let (bytes, at) = need(s.timestamp, "the timestamp section")?;
    let ts = Pointer::parse(Envelope::parse(bytes, at, Role::Timestamp)?)?;
    cur.check(&ts.env)?;
    not_older("timestamp", u64::from(trusted.timestamp), u64::from(ts.version))?;
    fresh(Role::Timestamp, ts.expires, dev.now)?;

    let (bytes, at) = need(s.snapshot, "the snapshot section")?;
    points_to(&ts, bytes, Role::Snapshot)?;
    let snap = Pointer::parse(Envelope::parse(bytes, at, Role::Snapshot)?)?;
    cur.check(&snap.env)?;
    if snap.version != ts.next_version {
        return Err(VerifyError::MixAndMatch { role: Role::Snapshot, signed_by: Role::Timestamp });
    }
    not_older("snapshot", u64::from(trusted.snapshot), u64::from(snap.version))?;
    fresh(Role::Snapshot, snap.expires, dev.now)?;

    let (bytes, at) = need(s.targets, "the targets section")?;
    points_to(&snap, bytes, Role::Targets)?;
    let targets = Targets::parse(Envelope::parse(bytes, at, Role::Targets)?)?;
    cur.check(&targets.env)?;
    if targets.version != snap.next_version {
        return Err(VerifyError::MixAndMatch { role: Role::Targets, signed_by: Role::Snapshot });
    }
    not_older("targets", u64::from(trusted.targets), u64::from(targets.version))?;
    fresh(Role::Targets, targets.expires, dev.now)?;

    let entry = targets.find(dev.name).ok_or(VerifyError::NotListed { name: Label::new(dev.name) })?;
    if entry.target != dev.target {
        return Err(VerifyError::WrongTarget { want: Label::new(dev.target), got: Label::new(entry.target) });
    }
    not_older("model", trusted.model, entry.model_version)?;
    if entry.length > dev.max_payload {
        return Err(VerifyError::TooLarge { what: "the signed payload", len: entry.length, cap: dev.max_payload });
    }
    let (payload, _) = need(s.payload, "the payload section")?;
    if payload.len() as u64 != entry.length {
        return Err(VerifyError::PayloadLength { signed: entry.length, got: payload.len() as u64 });
    }
    if Sha256::digest(payload).as_slice() != entry.sha256 {
        return Err(VerifyError::PayloadHash);
    }
    let trusted =
        Trusted { timestamp: ts.version, snapshot: snap.version, targets: targets.version, model: entry.model_version };
    Ok(Verified { payload, entry, new_root, trusted })
}
