//! Import errors. Every node-level problem is collected, so one run names them all.

use std::fmt;
use std::path::PathBuf;

/// Why a model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The bytes are not a valid ONNX model (corrupt, truncated, or not ONNX at all).
    #[error("`{}` is not a valid ONNX model: {msg}", path.display())]
    Decode { path: PathBuf, msg: String },
    /// The model is valid protobuf but breaks ONNX's rules (or Mote's limits) outside any node.
    #[error("`{}`: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    /// One or more nodes could not be imported.
    #[error("{}", NodeProblems { path, problems })]
    Nodes { path: PathBuf, problems: Vec<NodeProblem> },
}

impl ImportError {
    /// The unsupported-op problems, if that is what this error is about.
    pub fn unsupported(&self) -> Vec<&NodeProblem> {
        match self {
            ImportError::Nodes { problems, .. } => {
                problems.iter().filter(|p| p.kind == ProblemKind::Unsupported).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether a node problem is a gap in Mote or a fault in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// A valid ONNX op, attribute or type that Mote does not support (yet).
    Unsupported,
    /// The node is malformed: missing required attribute, wrong attribute type, bad value.
    Invalid,
}

/// A problem with one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProblem {
    pub kind: ProblemKind,
    pub op_type: String,
    /// `ai.onnx` for the default domain.
    pub domain: String,
    pub opset: i64,
    pub node: String,
    /// Empty when the whole op is unsupported.
    pub detail: String,
}

impl fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} opset {}) at node `{}`", self.op_type, self.domain, self.opset, self.node)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

struct NodeProblems<'a> {
    path: &'a PathBuf,
    problems: &'a [NodeProblem],
}

impl fmt::Display for NodeProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unsup, invalid): (Vec<&NodeProblem>, Vec<&NodeProblem>) =
            self.problems.iter().partition(|p| p.kind == ProblemKind::Unsupported);
        let path = self.path.display();
        if !unsup.is_empty() {
            let mut ops: Vec<&str> = unsup.iter().map(|p| p.op_type.as_str()).collect();
            ops.sort();
            ops.dedup();
            writeln!(f, "`{path}` uses {} unsupported node(s); unsupported op types: {}", unsup.len(), ops.join(", "))?;
            for line in group_problems(&unsup) {
                writeln!(f, "  - {line}")?;
            }
        }
        if !invalid.is_empty() {
            writeln!(f, "`{path}` has {} invalid node(s):", invalid.len())?;
            for line in group_problems(&invalid) {
                writeln!(f, "  - {line}")?;
            }
        }
        write!(f, "run `mote ops` to list the supported ops")
    }
}

/// One line per distinct (op type, domain, opset, detail), with the node names (the first
/// few, then a count), in first-seen order.
pub fn group_problems(problems: &[&NodeProblem]) -> Vec<String> {
    const NAMES: usize = 4;
    let mut groups: Vec<(&NodeProblem, Vec<&str>)> = Vec::new();
    for p in problems {
        match groups
            .iter_mut()
            .find(|(q, _)| q.op_type == p.op_type && q.domain == p.domain && q.opset == p.opset && q.detail == p.detail)
        {
            Some((_, names)) => names.push(&p.node),
            None => groups.push((p, vec![&p.node])),
        }
    }
    groups
        .into_iter()
        .map(|(p, names)| {
            let shown: Vec<String> = names.iter().take(NAMES).map(|n| format!("`{n}`")).collect();
            let more = if names.len() > NAMES { format!(" and {} more", names.len() - NAMES) } else { String::new() };
            let nodes = if names.len() == 1 { "node".to_string() } else { format!("{} nodes", names.len()) };
            let detail = if p.detail.is_empty() { String::new() } else { format!(": {}", p.detail) };
            format!("{} ({} opset {}){detail} at {nodes} {}{more}", p.op_type, p.domain, p.opset, shown.join(", "))
        })
        .collect()
}
