//! RegexFullMatch's pattern compiled into the runtime's DFA tables (`mote_rt::ops::text`,
//! op 73): a dense DFA from `regex-automata` (the same syntax and Unicode semantics as the
//! interpreter's `regex`), walked from its anchored start state over one representative byte
//! per byte class and renumbered so the start is state 0; a state accepts when the DFA matches
//! at the end of the text. No regex engine is needed on the device.

use std::collections::HashMap;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

use mote_rt::ops::text::{DFA_ACCEPT, DFA_QUIT};

/// Largest automaton compiled (states), to keep the table a few megabytes at most.
pub const MAX_STATES: usize = 1 << 16;
/// Byte budget of the DFA while it is built.
const BUILD_LIMIT: usize = 64 << 20;

/// The runtime's tables: byte classes `[256]`, transitions `[states, classes]`, flags `[states]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DfaTables {
    pub classes: Vec<u8>,
    pub n_classes: usize,
    pub next: Vec<u32>,
    pub flags: Vec<u8>,
}

/// Compiles `pattern` (RE2 syntax as the `regex` crate reads it) for full matches.
pub fn compile(pattern: &str) -> Result<DfaTables, String> {
    let config = dense::Config::new()
        .match_kind(MatchKind::All)
        .start_kind(StartKind::Anchored)
        // `\b` is decided on ASCII text; other bytes make the walk quit (a run-time error).
        .unicode_word_boundary(true)
        .dfa_size_limit(Some(BUILD_LIMIT))
        .determinize_size_limit(Some(BUILD_LIMIT));
    let dfa = dense::Builder::new()
        .configure(config)
        .build(&format!(r"\A(?:{pattern})\z"))
        .map_err(|e| format!("RegexFullMatch: cannot compile {pattern:?} to a DFA: {e}"))?;
    let byte_classes = dfa.byte_classes();
    let mut classes = vec![0u8; 256];
    let mut reps: Vec<u8> = Vec::new();
    for b in 0..=255u8 {
        let c = byte_classes.get(b);
        classes[b as usize] = c;
        if c as usize >= reps.len() {
            reps.resize(c as usize + 1, b);
        }
    }
    let k = reps.len();
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::Yes))
        .map_err(|e| format!("RegexFullMatch: no start state for {pattern:?}: {e}"))?;
    let mut ids: HashMap<StateID, u32> = HashMap::from([(start, 0)]);
    let mut order = vec![start];
    let mut quit: Option<u32> = None;
    let (mut next, mut flags) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < order.len() {
        let s = order[i];
        i += 1;
        flags.push(if dfa.is_match_state(dfa.next_eoi_state(s)) { DFA_ACCEPT } else { 0 });
        for &b in &reps {
            let t = dfa.next_state(s, b);
            let id = if dfa.is_quit_state(t) {
                *quit.get_or_insert(u32::MAX)
            } else {
                let fresh = order.len() as u32;
                *ids.entry(t).or_insert_with(|| {
                    order.push(t);
                    fresh
                })
            };
            next.push(id);
        }
        if order.len() > MAX_STATES {
            return Err(format!("RegexFullMatch: {pattern:?} needs more than {MAX_STATES} DFA states"));
        }
    }
    if quit.is_some() {
        // The quit state: last, absorbing.
        let q = order.len() as u32;
        next.iter_mut().filter(|t| **t == u32::MAX).for_each(|t| *t = q);
        next.extend(std::iter::repeat_n(q, k));
        flags.push(DFA_QUIT);
    }
    Ok(DfaTables { classes, n_classes: k, next, flags })
}

/// Whether the tables fully match `text` (the runtime's walk; `None` on the quit state).
#[cfg(test)]
fn full_match(t: &DfaTables, text: &[u8]) -> Option<bool> {
    let s = text.iter().fold(0usize, |s, &b| t.next[s * t.n_classes + t.classes[b as usize] as usize] as usize);
    (t.flags[s] & DFA_QUIT == 0).then_some(t.flags[s] & DFA_ACCEPT != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_as_the_regex_crate() {
        for (pattern, texts) in [
            (r"a+b?", &["", "a", "aab", "b", "aabb", "ba"][..]),
            (r"(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)", &["account@gmail.com", "x@yahoo.com ", "a@hotmail.com"]),
            (r"\d{3}-\d{4}", &["555-1234", "555-12345", "٣٣٣-٣٣٣٣", "55-1234"]),
            (r"www\.[\w.-]+\.\bcom\b", &["www.google.com", "www.bbc.co.uk", "www.a.com"]),
            (r"(?i)straße|é+", &["STRASSE", "strasse", "STRAẞE", "éÉ", "e"]),
        ] {
            let t = compile(pattern).unwrap();
            let re = regex::Regex::new(&format!(r"\A(?:{pattern})\z")).unwrap();
            for s in texts {
                assert_eq!(full_match(&t, s.as_bytes()), Some(re.is_match(s)), "{pattern} on {s:?}");
            }
        }
    }

    #[test]
    fn a_unicode_word_boundary_quits_on_non_ascii_text() {
        let t = compile(r"\bé\b").unwrap();
        assert_eq!(full_match(&t, "é".as_bytes()), None);
        assert_eq!(full_match(&t, b"e"), Some(false));
    }

    #[test]
    fn invalid_patterns_are_compile_errors() {
        assert!(compile("(").unwrap_err().contains("cannot compile"));
    }
}
