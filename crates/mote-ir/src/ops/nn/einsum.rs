//! Einsum equations: parsing and output-shape rules.

use crate::infer::InferError;
use crate::infer_err;

/// One subscript: a letter or the ellipsis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    Letter(u8),
    Ellipsis,
}

/// A parsed einsum equation. The output is always explicit: for the implicit form (no `->`)
/// it is the ellipsis (if any) followed by the letters used exactly once, in alphabetical order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equation {
    pub inputs: Vec<Vec<Label>>,
    pub output: Vec<Label>,
}

fn parse_term(s: &str) -> Result<Vec<Label>, InferError> {
    let b = s.trim().as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                if b.get(i..i + 3) != Some(b"...") {
                    return Err(infer_err!("Einsum: a lone '.' in term {s:?}"));
                }
                if out.contains(&Label::Ellipsis) {
                    return Err(infer_err!("Einsum: term {s:?} has two ellipses"));
                }
                out.push(Label::Ellipsis);
                i += 3;
            }
            c if c.is_ascii_alphabetic() => {
                out.push(Label::Letter(c));
                i += 1;
            }
            b' ' => i += 1,
            c => return Err(infer_err!("Einsum: unexpected character {:?} in term {s:?}", c as char)),
        }
    }
    Ok(out)
}

impl Equation {
    /// Parses `"ij,jk->ik"`-style equations (explicit or implicit output, `...` allowed).
    pub fn parse(eq: &str) -> Result<Equation, InferError> {
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (eq, None),
        };
        let inputs = lhs.split(',').map(parse_term).collect::<Result<Vec<_>, _>>()?;
        let output = match rhs {
            Some(r) => {
                let out = parse_term(r)?;
                for (i, l) in out.iter().enumerate() {
                    if out[..i].contains(l) {
                        return Err(infer_err!("Einsum: output subscript {l:?} repeated in {eq:?}"));
                    }
                    if !inputs.iter().any(|t| t.contains(l)) {
                        return Err(infer_err!("Einsum: output subscript {l:?} does not appear in an input of {eq:?}"));
                    }
                }
                out
            }
            None => {
                let mut out = Vec::new();
                if inputs.iter().any(|t| t.contains(&Label::Ellipsis)) {
                    out.push(Label::Ellipsis);
                }
                let mut letters: Vec<u8> = inputs
                    .iter()
                    .flatten()
                    .filter_map(|l| match l {
                        Label::Letter(c) => Some(*c),
                        Label::Ellipsis => None,
                    })
                    .collect();
                letters.sort_unstable();
                for &c in &letters {
                    if letters.iter().filter(|&&d| d == c).count() == 1 {
                        out.push(Label::Letter(c));
                    }
                }
                out
            }
        };
        Ok(Equation { inputs, output })
    }

    /// Number of axes the ellipsis stands for in input `i` of rank `rank`.
    pub fn ellipsis_rank(&self, i: usize, rank: usize) -> Result<usize, InferError> {
        let term = &self.inputs[i];
        let letters = term.iter().filter(|l| matches!(l, Label::Letter(_))).count();
        let has_ellipsis = term.contains(&Label::Ellipsis);
        if (has_ellipsis && rank < letters) || (!has_ellipsis && rank != letters) {
            return Err(infer_err!("Einsum: input {i} has rank {rank} but its subscripts name {letters} axes"));
        }
        Ok(rank - letters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn implicit_output_is_sorted_singletons() {
        let e = Equation::parse("ji,jk").unwrap();
        assert_eq!(e.output, vec![Letter(b'i'), Letter(b'k')]);
        let e = Equation::parse("...ii").unwrap();
        assert_eq!(e.output, vec![Ellipsis]);
        let e = Equation::parse("ij->").unwrap();
        assert!(e.output.is_empty());
    }

    #[test]
    fn errors() {
        assert!(Equation::parse("ij->k").is_err());
        assert!(Equation::parse("i.j").is_err());
        assert!(Equation::parse("ij->ii").is_err());
    }
}
