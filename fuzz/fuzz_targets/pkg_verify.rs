//! Package verification and delta application on hostile bytes: never a panic, and never a
//! payload accepted that is not the signed one. The input mutates a valid package (or delta)
//! built once at start-up, so the fuzzer reaches every check without a seed corpus; the first
//! byte chooses the mode (mutated package, raw bytes as a package, mutated delta).
#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use mote_pkg::make::{self, EntrySpec, RoleKeys, RootSpec};
use mote_pkg::{Device, Role, Trusted};

struct Fixture {
    root: Vec<u8>,
    package: Vec<u8>,
    payload: Vec<u8>,
    old: Vec<u8>,
    delta: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = |i: u8| SigningKey::from_bytes(&[i; 32]);
        let one = |k: u8| RoleKeys { threshold: 1, keys: vec![key(k).verifying_key().to_bytes()] };
        let spec = RootSpec {
            version: 1,
            expires: u64::MAX,
            roles: [RoleKeys { threshold: 2, keys: vec![key(1).verifying_key().to_bytes(), key(2).verifying_key().to_bytes()] }, one(3), one(4), one(5)],
        };
        let sign = |m: Vec<u8>, r: Role, ks: &[u8]| ks.iter().fold(m, |m, &k| make::sign(&m, r, &key(k)).unwrap());
        let root = sign(make::root(&spec).unwrap(), Role::Root, &[1, 2]);
        let old: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut payload = old.clone();
        payload[100..140].fill(9);
        let t = sign(make::targets(2, u64::MAX, &[EntrySpec::of("m", 3, "x86_64", &payload)]).unwrap(), Role::Targets, &[3]);
        let s = sign(make::pointer(Role::Snapshot, 2, u64::MAX, &t, 2).unwrap(), Role::Snapshot, &[4]);
        let ts = sign(make::pointer(Role::Timestamp, 2, u64::MAX, &s, 2).unwrap(), Role::Timestamp, &[5]);
        let package = make::package(&[], &t, &s, &ts, &payload).unwrap();
        let delta = match mote_pkg::delta::make(&old, &payload).unwrap() {
            mote_pkg::delta::Delta::Patch(d, _) => d,
            mote_pkg::delta::Delta::Full { .. } => panic!("the fixture's delta must be a patch"),
        };
        Fixture { root, package, payload, old, delta }
    })
}

/// `base` truncated to the first two bytes of `data` (as a length) and XORed at the offsets and
/// values of the following three-byte groups.
fn mutate(base: &[u8], data: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    if data.len() >= 2 {
        let cut = u16::from_le_bytes([data[0], data[1]]) as usize;
        if cut < b.len() && cut % 7 == 0 {
            b.truncate(cut);
        }
    }
    for g in data.get(2..).unwrap_or(&[]).chunks_exact(3) {
        let at = u16::from_le_bytes([g[0], g[1]]) as usize;
        if let Some(x) = b.get_mut(at % base.len().max(1)) {
            *x ^= g[2];
        }
    }
    b
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let dev = Device { name: "m", target: "x86_64", now: 0, max_metadata: 1 << 16, max_payload: 1 << 20 };
    let (mode, rest) = data.split_first().map_or((0, &[][..]), |(m, r)| (*m, r));
    match mode % 3 {
        0 | 1 => {
            let pkg = if mode % 3 == 0 { mutate(&f.package, rest) } else { rest.to_vec() };
            if let Ok(v) = mote_pkg::verify(&pkg, &f.root, &Trusted::default(), &dev) {
                // Accepted only if it is the signed payload.
                assert_eq!(v.payload, f.payload.as_slice());
                let _ = mote_pkg::payload::split(v.payload);
            }
        }
        _ => {
            let d = mutate(&f.delta, rest);
            if let Ok(new) = mote_pkg::delta::apply(&f.old, &d, 1 << 20) {
                assert_eq!(new, f.payload, "a mutated delta rebuilt another payload");
            }
        }
    }
});
