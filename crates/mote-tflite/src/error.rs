//! Import errors. Operator-level problems are collected, so one run names them all.

use std::fmt;
use std::path::PathBuf;

/// Why a `.tflite` model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The bytes are not a valid TFLite flatbuffer (corrupt, truncated, or not TFLite at all).
    #[error("`{}` is not a valid TFLite model: {msg}", path.display())]
    Decode { path: PathBuf, msg: String },
    /// The flatbuffer is valid but breaks TFLite's rules (or Mote's limits) outside any operator:
    /// an index out of range, a buffer whose size does not match its tensor, bad quantization.
    #[error("`{}`: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    /// One or more operators could not be imported.
    #[error("{}", OpProblems { path, problems })]
    Ops { path: PathBuf, problems: Vec<OpProblem> },
}

impl ImportError {
    /// The unsupported-operator problems, if that is what this error is about.
    pub fn unsupported(&self) -> Vec<&OpProblem> {
        match self {
            ImportError::Ops { problems, .. } => {
                problems.iter().filter(|p| p.kind == ProblemKind::Unsupported).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether an operator problem is a gap in Mote or a fault in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// A valid TFLite operator, option or type that Mote does not import (yet).
    Unsupported,
    /// The operator is malformed: missing options, wrong input count, bad values.
    Invalid,
}

/// A problem with one operator of subgraph 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpProblem {
    pub kind: ProblemKind,
    /// The builtin name (`CONV_2D`), or `CUSTOM:<custom_code>` for a custom op.
    pub op: String,
    /// Index of the operator in the subgraph.
    pub index: usize,
    /// Empty when the whole op is unsupported.
    pub detail: String,
}

impl fmt::Display for OpProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at operator {}", self.op, self.index)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

struct OpProblems<'a> {
    path: &'a PathBuf,
    problems: &'a [OpProblem],
}

impl fmt::Display for OpProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unsup, invalid): (Vec<&OpProblem>, Vec<&OpProblem>) =
            self.problems.iter().partition(|p| p.kind == ProblemKind::Unsupported);
        let path = self.path.display();
        if !unsup.is_empty() {
            let mut ops: Vec<&str> = unsup.iter().map(|p| p.op.as_str()).collect();
            ops.sort();
            ops.dedup();
            writeln!(f, "`{path}` uses {} unsupported operator(s): {}", unsup.len(), ops.join(", "))?;
            for line in group_problems(&unsup) {
                writeln!(f, "  - {line}")?;
            }
        }
        if !invalid.is_empty() {
            writeln!(f, "`{path}` has {} invalid operator(s):", invalid.len())?;
            for line in group_problems(&invalid) {
                writeln!(f, "  - {line}")?;
            }
        }
        write!(f, "see docs/TFLITE.md for the supported operators")
    }
}

/// One line per distinct (op, detail), with the operator indices (the first few, then a
/// count), in first-seen order.
pub fn group_problems(problems: &[&OpProblem]) -> Vec<String> {
    const SHOWN: usize = 6;
    let mut groups: Vec<(&OpProblem, Vec<usize>)> = Vec::new();
    for p in problems {
        match groups.iter_mut().find(|(q, _)| q.op == p.op && q.detail == p.detail) {
            Some((_, idx)) => idx.push(p.index),
            None => groups.push((p, vec![p.index])),
        }
    }
    groups
        .into_iter()
        .map(|(p, idx)| {
            let shown: Vec<String> = idx.iter().take(SHOWN).map(|i| i.to_string()).collect();
            let more = if idx.len() > SHOWN { format!(" and {} more", idx.len() - SHOWN) } else { String::new() };
            let at = if idx.len() == 1 { "operator" } else { "operators" };
            let detail = if p.detail.is_empty() { String::new() } else { format!(": {}", p.detail) };
            format!("{} at {at} {}{more}{detail}", p.op, shown.join(", "))
        })
        .collect()
}

/// An `(Invalid, message)` problem of one operator.
macro_rules! invalid {
    ($($t:tt)*) => { ($crate::error::ProblemKind::Invalid, format!($($t)*)) };
}
/// An `(Unsupported, message)` problem of one operator.
macro_rules! unsupported {
    ($($t:tt)*) => { ($crate::error::ProblemKind::Unsupported, format!($($t)*)) };
}
pub(crate) use {invalid, unsupported};
