//! Why a package or its metadata was refused: one variant per attack or defect, each message
//! naming it.

use core::fmt;

/// The four metadata roles (TUF's): root keys certify the others' keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Root = 1,
    Targets = 2,
    Snapshot = 3,
    Timestamp = 4,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];

    pub fn from_code(c: u8) -> Option<Role> {
        Role::ALL.get(usize::from(c).wrapping_sub(1)).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A short name kept inline (no allocation): the first 48 bytes of a model or target name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Label {
    bytes: [u8; 48],
    len: u8,
}

impl Label {
    pub fn new(s: &str) -> Label {
        let mut end = s.len().min(48);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 48];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        Label { bytes, len: end as u8 }
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Bytes that do not follow the layout (`offset` in the file).
    Malformed { what: &'static str, offset: usize },
    /// Endless data: a part larger than the device accepts, refused before it is read.
    TooLarge { what: &'static str, len: u64, cap: u64 },
    /// Every signature was made by a key the role does not list.
    UnknownKey { role: Role },
    /// A listed key's signature does not verify: the metadata was altered.
    BadSignature { role: Role },
    /// Fewer valid signatures from distinct listed keys than the role's threshold.
    BelowThreshold { role: Role, valid: u8, need: u8 },
    /// Rollback: older than what the device already trusts or runs.
    Rollback { what: &'static str, trusted: u64, got: u64 },
    /// Freeze: metadata past its expiry, so the device may be kept from seeing newer versions.
    Expired { role: Role, expires: u64, now: u64 },
    /// Mix-and-match: metadata that is not the version (length, hash) the role above it signed.
    MixAndMatch { role: Role, signed_by: Role },
    /// A new root that does not directly follow the trusted one.
    RootVersion { trusted: u32, got: u32 },
    /// The targets metadata does not list the wanted model.
    NotListed { name: Label },
    /// The package is built for another target.
    WrongTarget { want: Label, got: Label },
    /// The payload's length is not the one the targets metadata signs.
    PayloadLength { signed: u64, got: u64 },
    /// Tampered payload: its SHA-256 is not the one the targets metadata signs.
    PayloadHash,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VerifyError::*;
        match self {
            Malformed { what, offset } => write!(f, "malformed package: {what} at byte {offset}"),
            TooLarge { what, len, cap } => {
                write!(f, "endless data: {what} is {len} bytes, over this device's cap of {cap}")
            }
            UnknownKey { role } => write!(f, "unknown key: no {role} signature is by a key the root lists for {role}"),
            BadSignature { role } => write!(f, "bad signature: a {role} signature does not verify (altered metadata)"),
            BelowThreshold { role, valid, need } => {
                write!(f, "signatures below threshold: {valid} valid {role} signature(s), {need} needed")
            }
            Rollback { what, trusted, got } => {
                write!(f, "rollback: {what} version {got} is older than the trusted {trusted}")
            }
            Expired { role, expires, now } => {
                write!(f, "freeze: {role} metadata expired at {expires} (now {now}); the server must re-sign it")
            }
            MixAndMatch { role, signed_by } => {
                write!(f, "mix-and-match: the {role} metadata is not the one the {signed_by} metadata signs")
            }
            RootVersion { trusted, got } => {
                write!(f, "root update to version {got} does not follow the trusted version {trusted}")
            }
            NotListed { name } => write!(f, "the targets metadata does not list the model `{name}`"),
            WrongTarget { want, got } => write!(f, "wrong target: the package is for `{got}`, this device is `{want}`"),
            PayloadLength { signed, got } => {
                write!(f, "tampered payload: {got} bytes, the targets metadata signs {signed}")
            }
            PayloadHash => write!(f, "tampered payload: its SHA-256 is not the one the targets metadata signs"),
        }
    }
}

impl core::error::Error for VerifyError {}
