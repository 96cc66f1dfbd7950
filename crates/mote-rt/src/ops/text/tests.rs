//! The string kernels' pieces against `std` (the steps themselves are tested against the
//! reference interpreter through compiled models in `mote-compile/tests/text_ops.rs`).

extern crate std;

use std::string::{String, ToString};
use std::vec::Vec;

use proptest::prelude::*;

use super::case::{CASE_EXPANSION, lowercase_chars, uppercase_chars};

#[test]
fn case_changes_grow_a_string_at_most_threefold() {
    let mut worst = 0.0f64;
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let s = c.to_string();
        for changed in [s.to_uppercase(), s.to_lowercase()] {
            worst = worst.max(changed.len() as f64 / s.len() as f64);
        }
    }
    assert_eq!(worst, CASE_EXPANSION as f64);
}

#[test]
fn word_final_sigma_lowers_as_std() {
    for s in ["ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "Σ", "ΑΣ'", "ΑΣ'Β", "Α.Σ", "ΣΑ", "aΣ\u{301}", "ǅΣ", "1Σ"] {
        assert_eq!(lowercase_chars(s).collect::<String>(), s.to_lowercase(), "{s}");
    }
}

fn text() -> impl Strategy<Value = String> {
    // ASCII letters and spaces, Greek (with sigma), case-ignorable marks, wide characters.
    let alphabet: Vec<char> = "aZ Σσ\tΑβ.':ß\u{301}\u{2019}İǅ的\u{A0}-".chars().collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..12).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn case_mapping_matches_std(s in text()) {
        prop_assert_eq!(lowercase_chars(&s).collect::<String>(), s.to_lowercase());
        prop_assert_eq!(uppercase_chars(&s).collect::<String>(), s.to_uppercase());
    }

}
