//! Deltas: byte-level round trips (payloads that are not `.mote`), the full-package fallback,
//! and every refusal on apply. Tensor-aware deltas of compiled models are tested end to end in
//! `mote-cli` (`packages_are_signed_and_verified`) and measured by `scripts/delta-bench.sh`.

use mote_pkg::delta::{ApplyError, Delta, apply, make};

/// A pseudo-random payload of `n` bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (s >> 56) as u8
        })
        .collect()
}

fn patch(old: &[u8], new: &[u8]) -> Vec<u8> {
    match make(old, new).expect("make") {
        Delta::Patch(d, _) => d,
        Delta::Full { delta_len, .. } => panic!("expected a patch, the delta is {delta_len} bytes"),
    }
}

#[test]
fn a_small_change_round_trips_small() {
    let old = noise(200_000, 1);
    let mut new = old.clone();
    new[1000..1100].copy_from_slice(&noise(100, 2));
    new.extend_from_slice(b"appended");
    let d = patch(&old, &new);
    assert!(d.len() < 1_000, "delta of a 108-byte change is {} bytes", d.len());
    assert_eq!(apply(&old, &d, 1 << 20).expect("apply"), new);
}

#[test]
fn unrelated_payloads_fall_back_to_the_full_package() {
    let (old, new) = (noise(50_000, 3), noise(50_000, 4));
    assert!(matches!(make(&old, &new).expect("make"), Delta::Full { .. }));
}

#[test]
fn apply_refuses_what_it_cannot_trust() {
    let old = noise(100_000, 5);
    let mut new = old.clone();
    new[500] ^= 0xff;
    let d = patch(&old, &new);
    // Another base payload.
    let mut other = old.clone();
    other[0] ^= 1;
    assert_eq!(apply(&other, &d, 1 << 20), Err(ApplyError::WrongBase));
    // The target hash altered: the rebuilt payload does not match it.
    let mut bad = d.clone();
    bad[50] ^= 1;
    assert_eq!(apply(&old, &bad, 1 << 20), Err(ApplyError::Mismatch));
    // A corrupted compressed stream, a truncated delta, no magic, a new length over the cap.
    let mut corrupt = d.clone();
    let last = corrupt.len() - 3;
    corrupt[last] ^= 0x5a;
    assert!(apply(&old, &corrupt, 1 << 20).is_err());
    assert!(matches!(apply(&old, &d[..60], 1 << 20), Err(ApplyError::Malformed(_))));
    assert!(matches!(
        apply(&old, b"not a delta at all, but long enough to have a header of eighty bytes.....", 1 << 20),
        Err(ApplyError::Malformed(_))
    ));
    assert!(matches!(apply(&old, &d, 1000), Err(ApplyError::Malformed(m)) if m.contains("cap")));
}
