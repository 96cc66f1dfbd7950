//! Case mapping without allocation: Unicode's default (locale-independent) full case mapping
//! of `core`'s `char::to_lowercase` / `char::to_uppercase`, plus the one context rule of
//! `str::to_lowercase`: a capital sigma at the end of a word becomes `ς`.
//!
//! `core` does not expose the Unicode properties that rule uses (Cased, Case_Ignorable), so
//! they are approximated here: Cased is `is_lowercase() || is_uppercase()` or one of the 31
//! titlecase letters (exact), and Case_Ignorable is the set below (the ASCII and Latin-1 ones,
//! spacing modifier letters and combining diacritical marks, Greek tonos and numeral signs,
//! quotes and format characters), which covers Greek text; a word-final sigma followed or
//! preceded by another script's combining mark may differ from `str::to_lowercase`.

/// Titlecase letters (general category Lt), which are Cased without being upper or lower.
const TITLECASE: [(char, char); 10] = [
    ('\u{01C5}', '\u{01C5}'),
    ('\u{01C8}', '\u{01C8}'),
    ('\u{01CB}', '\u{01CB}'),
    ('\u{01F2}', '\u{01F2}'),
    ('\u{1F88}', '\u{1F8F}'),
    ('\u{1F98}', '\u{1F9F}'),
    ('\u{1FA8}', '\u{1FAF}'),
    ('\u{1FBC}', '\u{1FBC}'),
    ('\u{1FCC}', '\u{1FCC}'),
    ('\u{1FFC}', '\u{1FFC}'),
];

/// The Case_Ignorable characters recognized (see the module doc).
const CASE_IGNORABLE: [(char, char); 20] = [
    ('\'', '\''),
    ('.', '.'),
    (':', ':'),
    ('^', '^'),
    ('`', '`'),
    ('\u{A8}', '\u{A8}'),
    ('\u{AD}', '\u{AD}'),
    ('\u{AF}', '\u{AF}'),
    ('\u{B4}', '\u{B4}'),
    ('\u{B7}', '\u{B8}'),
    ('\u{2B0}', '\u{36F}'),
    ('\u{374}', '\u{375}'),
    ('\u{37A}', '\u{37A}'),
    ('\u{384}', '\u{385}'),
    ('\u{387}', '\u{387}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{2024}', '\u{2024}'),
    ('\u{2027}', '\u{2027}'),
    ('\u{FEFF}', '\u{FEFF}'),
];

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|&(a, b)| a <= c && c <= b)
}

fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase() || in_ranges(c, &TITLECASE)
}

fn is_case_ignorable(c: char) -> bool {
    in_ranges(c, &CASE_IGNORABLE)
}

/// Whether the first character that is not case-ignorable is cased.
fn ignorable_then_cased(mut it: impl Iterator<Item = char>) -> bool {
    it.find(|&c| !is_case_ignorable(c)).is_some_and(is_cased)
}

/// The lowercase of `s`, character by character (as `str::to_lowercase`).
pub fn lowercase_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.char_indices().flat_map(move |(i, c)| {
        let mut low = c.to_lowercase();
        if c == 'Σ' {
            let after = &s[i + 'Σ'.len_utf8()..];
            let word_final = ignorable_then_cased(s[..i].chars().rev()) && !ignorable_then_cased(after.chars());
            low = if word_final { 'ς' } else { 'σ' }.to_lowercase();
        }
        low
    })
}

/// The uppercase of `s`, character by character (as `str::to_uppercase`).
pub fn uppercase_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_uppercase)
}

/// How many times longer (in UTF-8 bytes) a string can get by changing its case (either way):
/// the compiler sizes a case-changed result's pool with it (tested over every `char`).
pub const CASE_EXPANSION: usize = 3;
