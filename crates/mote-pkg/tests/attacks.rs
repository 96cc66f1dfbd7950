//! Every attack the package format defends against, refused with the error that names it; a
//! valid package and a key rotation accepted; no single-byte change of a package passes.

use ed25519_dalek::SigningKey;
use mote_pkg::make::{self, EntrySpec, RoleKeys, RootSpec};
use mote_pkg::{Device, Role, Trusted, VerifyError, verify};

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

fn pk(k: &SigningKey) -> [u8; 32] {
    k.verifying_key().to_bytes()
}

/// A repository: root keys 1, 2, 3 (threshold 2); targets 10; snapshot 20; timestamp 30.
struct Repo {
    root: Vec<u8>,
    targets_key: SigningKey,
}

fn root_spec(version: u32, root_keys: &[&SigningKey], threshold: u8, targets: &SigningKey) -> RootSpec {
    let one = |k: &SigningKey| RoleKeys { threshold: 1, keys: vec![pk(k)] };
    RootSpec {
        version,
        expires: NOW + 365 * DAY,
        roles: [
            RoleKeys { threshold, keys: root_keys.iter().map(|k| pk(k)).collect() },
            one(targets),
            one(&key(20)),
            one(&key(30)),
        ],
    }
}

fn signed(meta: Vec<u8>, role: Role, keys: &[&SigningKey]) -> Vec<u8> {
    keys.iter().fold(meta, |m, k| make::sign(&m, role, k).expect("sign"))
}

fn repo() -> Repo {
    let r = make::root(&root_spec(1, &[&key(1), &key(2), &key(3)], 2, &key(10))).expect("root");
    Repo { root: signed(r, Role::Root, &[&key(1), &key(2)]), targets_key: key(10) }
}

/// Release options.
#[derive(Clone)]
struct Rel {
    version: u32,
    model: u64,
    target: &'static str,
    expires: u64,
    payload: Vec<u8>,
}

fn rel() -> Rel {
    Rel { version: 3, model: 7, target: "cortex-m4", expires: NOW + DAY, payload: b"MOTEPAY1 model bytes".to_vec() }
}

/// `(targets, snapshot, timestamp)` signed for `r`.
fn metadata(repo: &Repo, r: &Rel) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let entries =
        [EntrySpec::of("kws", r.model, r.target, &r.payload), EntrySpec::of("vww", 2, "cortex-m4", b"another model")];
    let t = signed(make::targets(r.version, r.expires, &entries).unwrap(), Role::Targets, &[&repo.targets_key]);
    let s = signed(
        make::pointer(Role::Snapshot, r.version, r.expires, &t, r.version).unwrap(),
        Role::Snapshot,
        &[&key(20)],
    );
    let ts = signed(
        make::pointer(Role::Timestamp, r.version, r.expires, &s, r.version).unwrap(),
        Role::Timestamp,
        &[&key(30)],
    );
    (t, s, ts)
}

fn package(repo: &Repo, r: &Rel) -> Vec<u8> {
    let (t, s, ts) = metadata(repo, r);
    make::package(&[], &t, &s, &ts, &r.payload).unwrap()
}

fn dev() -> Device<'static> {
    Device { name: "kws", target: "cortex-m4", now: NOW, max_metadata: 64 << 10, max_payload: 1 << 20 }
}

fn check(pkg: &[u8], root: &[u8], trusted: &Trusted, d: &Device<'_>) -> Result<(), VerifyError> {
    verify(pkg, root, trusted, d).map(|_| ())
}

#[test]
fn a_valid_package_verifies() {
    let repo = repo();
    let r = rel();
    let pkg = package(&repo, &r);
    let v = verify(&pkg, &repo.root, &Trusted::default(), &dev()).expect("valid");
    assert_eq!(v.payload, r.payload.as_slice());
    assert_eq!((v.entry.name, v.entry.model_version, v.entry.target), ("kws", 7, "cortex-m4"));
    assert_eq!(v.trusted, Trusted { timestamp: 3, snapshot: 3, targets: 3, model: 7 });
    assert!(v.new_root.is_none());
    // The same package again (a re-check at boot) is accepted.
    check(&pkg, &repo.root, &v.trusted, &dev()).expect("re-verify");
}

#[test]
fn tampered_payload() {
    let repo = repo();
    let r = rel();
    let (t, s, ts) = metadata(&repo, &r);
    let mut other = r.payload.clone();
    other[12] ^= 1;
    let pkg = make::package(&[], &t, &s, &ts, &other).unwrap();
    assert_eq!(check(&pkg, &repo.root, &Trusted::default(), &dev()), Err(VerifyError::PayloadHash));
    other.push(0);
    let pkg = make::package(&[], &t, &s, &ts, &other).unwrap();
    let e = check(&pkg, &repo.root, &Trusted::default(), &dev()).unwrap_err();
    assert!(matches!(e, VerifyError::PayloadLength { .. }), "{e}");
    assert!(e.to_string().contains("tampered payload"));
}

#[test]
fn unknown_key_bad_signature_and_threshold() {
    let repo = repo();
    let r = rel();
    // Targets signed by a key the root does not list (then pointed to by valid snapshot and timestamp).
    let stranger = Repo { root: Vec::new(), targets_key: key(99) };
    let (t, _, _) = metadata(&stranger, &r);
    let s = signed(make::pointer(Role::Snapshot, 3, r.expires, &t, 3).unwrap(), Role::Snapshot, &[&key(20)]);
    let ts = signed(make::pointer(Role::Timestamp, 3, r.expires, &s, 3).unwrap(), Role::Timestamp, &[&key(30)]);
    let pkg = make::package(&[], &t, &s, &ts, &r.payload).unwrap();
    let e = check(&pkg, &repo.root, &Trusted::default(), &dev()).unwrap_err();
    assert_eq!(e, VerifyError::UnknownKey { role: Role::Targets });
    assert!(e.to_string().starts_with("unknown key"));

    // A signed targets file altered afterwards (snapshot and timestamp re-pointed at it).
    let (mut t, _, _) = metadata(&repo, &r);
    let at = t.len() - 97 - 40; // inside the last entry's hash
    t[at] ^= 0x40;
    let s = signed(make::pointer(Role::Snapshot, 3, r.expires, &t, 3).unwrap(), Role::Snapshot, &[&key(20)]);
    let ts = signed(make::pointer(Role::Timestamp, 3, r.expires, &s, 3).unwrap(), Role::Timestamp, &[&key(30)]);
    let pkg = make::package(&[], &t, &s, &ts, &r.payload).unwrap();
    assert_eq!(
        check(&pkg, &repo.root, &Trusted::default(), &dev()),
        Err(VerifyError::BadSignature { role: Role::Targets })
    );

    // A root update signed by one of the two root keys it needs.
    let next = make::root(&root_spec(2, &[&key(1), &key(2), &key(3)], 2, &key(11))).unwrap();
    let next = signed(next, Role::Root, &[&key(1)]);
    let (t, s, ts) = metadata(&repo, &r);
    let pkg = make::package(&[&next], &t, &s, &ts, &r.payload).unwrap();
    let e = check(&pkg, &repo.root, &Trusted::default(), &dev()).unwrap_err();
    assert_eq!(e, VerifyError::BelowThreshold { role: Role::Root, valid: 1, need: 2 });
    // The same key twice still counts once.
    let twice = signed(
        make::root(&root_spec(2, &[&key(1), &key(2), &key(3)], 2, &key(11))).unwrap(),
        Role::Root,
        &[&key(1), &key(1)],
    );
    let pkg = make::package(&[&twice], &t, &s, &ts, &r.payload).unwrap();
    assert!(matches!(check(&pkg, &repo.root, &Trusted::default(), &dev()), Err(VerifyError::BelowThreshold { .. })));
}

#[test]
fn key_rotation() {
    let repo = repo();
    // Root 2 replaces root key 3 by 4 and the targets key 10 by 11, signed by two old root
    // keys and two of its own.
    let spec = root_spec(2, &[&key(1), &key(2), &key(4)], 2, &key(11));
    let next = signed(make::root(&spec).unwrap(), Role::Root, &[&key(1), &key(2), &key(4)]);
    let new = Repo { root: next.clone(), targets_key: key(11) };
    let r = rel();
    let (t, s, ts) = metadata(&new, &r);
    let pkg = make::package(&[&next], &t, &s, &ts, &r.payload).unwrap();
    let v = verify(&pkg, &repo.root, &Trusted::default(), &dev()).expect("rotated");
    assert_eq!(v.new_root, Some(next.as_slice()));
    // Targets signed with the retired key are now refused.
    let (t, s, ts) = metadata(&repo, &r);
    let pkg = make::package(&[&next], &t, &s, &ts, &r.payload).unwrap();
    assert_eq!(
        check(&pkg, &repo.root, &Trusted::default(), &dev()),
        Err(VerifyError::UnknownKey { role: Role::Targets })
    );
    // A new root not signed by its own new key set's threshold (only old keys 1 and 3) is refused.
    let half = signed(make::root(&spec).unwrap(), Role::Root, &[&key(1), &key(3)]);
    let (t, s, ts) = metadata(&new, &r);
    let pkg = make::package(&[&half], &t, &s, &ts, &r.payload).unwrap();
    assert_eq!(
        check(&pkg, &repo.root, &Trusted::default(), &dev()),
        Err(VerifyError::BelowThreshold { role: Role::Root, valid: 1, need: 2 })
    );
    // Skipping a version, or going back to version 1, is refused.
    let skip =
        signed(make::root(&root_spec(3, &[&key(1), &key(2)], 2, &key(11))).unwrap(), Role::Root, &[&key(1), &key(2)]);
    let pkg = make::package(&[&skip], &t, &s, &ts, &r.payload).unwrap();
    assert_eq!(
        check(&pkg, &repo.root, &Trusted::default(), &dev()),
        Err(VerifyError::RootVersion { trusted: 1, got: 3 })
    );
    let pkg = make::package(&[&repo.root], &t, &s, &ts, &r.payload).unwrap();
    assert!(matches!(
        check(&pkg, &repo.root, &Trusted::default(), &dev()),
        Err(VerifyError::Rollback { what: "root", .. })
    ));
    // A pinned root short of its own threshold is not trusted either.
    let one =
        signed(make::root(&root_spec(1, &[&key(1), &key(2), &key(3)], 2, &key(10))).unwrap(), Role::Root, &[&key(1)]);
    let pkg = package(&repo, &rel());
    assert!(matches!(
        check(&pkg, &one, &Trusted::default(), &dev()),
        Err(VerifyError::BelowThreshold { role: Role::Root, .. })
    ));
}

#[test]
fn rollback_freeze_and_mix_and_match() {
    let repo = repo();
    let r = rel();
    let pkg = package(&repo, &r);
    // Metadata older than trusted.
    let t = Trusted { timestamp: 4, ..Trusted::default() };
    let e = check(&pkg, &repo.root, &t, &dev()).unwrap_err();
    assert_eq!(e, VerifyError::Rollback { what: "timestamp", trusted: 4, got: 3 });
    assert!(e.to_string().starts_with("rollback"));
    // A model older than the one installed.
    let t = Trusted { model: 8, ..Trusted::default() };
    assert_eq!(check(&pkg, &repo.root, &t, &dev()), Err(VerifyError::Rollback { what: "model", trusted: 8, got: 7 }));
    // Freeze: the timestamp has expired (a server withholding updates replays old metadata).
    let later = Device { now: NOW + 2 * DAY, ..dev() };
    let e = check(&pkg, &repo.root, &Trusted::default(), &later).unwrap_err();
    assert!(matches!(e, VerifyError::Expired { role: Role::Timestamp, .. }), "{e}");
    assert!(e.to_string().starts_with("freeze"));
    // Mix-and-match: an older, validly signed targets file with the current snapshot.
    let old = Rel { version: 2, model: 6, ..rel() };
    let (t_old, _, _) = metadata(&repo, &old);
    let (_, s, ts) = metadata(&repo, &r);
    let pkg = make::package(&[], &t_old, &s, &ts, &old.payload).unwrap();
    let e = check(&pkg, &repo.root, &Trusted::default(), &dev()).unwrap_err();
    assert_eq!(e, VerifyError::MixAndMatch { role: Role::Targets, signed_by: Role::Snapshot });
    assert!(e.to_string().starts_with("mix-and-match"));
}

#[test]
fn endless_data_wrong_target_and_unlisted() {
    let repo = repo();
    let big = Rel { payload: vec![7u8; 4096], ..rel() };
    let pkg = package(&repo, &big);
    let small = Device { max_payload: 1024, ..dev() };
    let e = check(&pkg, &repo.root, &Trusted::default(), &small).unwrap_err();
    assert!(matches!(e, VerifyError::TooLarge { what: "the payload", len: 4096, cap: 1024 }), "{e}");
    let tiny_meta = Device { max_metadata: 100, ..dev() };
    assert!(matches!(check(&pkg, &repo.root, &Trusted::default(), &tiny_meta), Err(VerifyError::TooLarge { .. })));
    // A section header claiming 4 GiB is refused before anything is read.
    let mut huge = pkg.clone();
    huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(check(&huge, &repo.root, &Trusted::default(), &dev()), Err(VerifyError::TooLarge { .. })));

    let arm = Rel { target: "aarch64", ..rel() };
    let e = check(&package(&repo, &arm), &repo.root, &Trusted::default(), &dev()).unwrap_err();
    assert_eq!(e.to_string(), "wrong target: the package is for `aarch64`, this device is `cortex-m4`");
    let other = Device { name: "ad", ..dev() };
    let e = check(&package(&repo, &rel()), &repo.root, &Trusted::default(), &other).unwrap_err();
    assert!(matches!(e, VerifyError::NotListed { .. }), "{e}");
}

#[test]
fn no_single_byte_change_passes() {
    let repo = repo();
    let pkg = package(&repo, &rel());
    check(&pkg, &repo.root, &Trusted::default(), &dev()).expect("valid");
    for i in 0..pkg.len() {
        for bit in [0x01u8, 0x80] {
            let mut p = pkg.clone();
            p[i] ^= bit;
            assert!(check(&p, &repo.root, &Trusted::default(), &dev()).is_err(), "flipping byte {i} ({bit:#x}) passed");
        }
    }
    for n in 0..pkg.len() {
        assert!(check(&pkg[..n], &repo.root, &Trusted::default(), &dev()).is_err(), "truncated to {n} passed");
    }
}
