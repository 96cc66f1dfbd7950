//! Compile errors: everything the compiler cannot lower is listed at once, by node.

use std::fmt;

/// One node the compiled path cannot take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub node: String,
    pub op: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Shape inference or constant folding failed.
    #[error("shape inference failed: {0}")]
    Infer(String),
    /// Nodes that cannot be compiled, all of them.
    #[error("{} node(s) cannot be compiled:\n{}", .0.len(), list(.0))]
    Unsupported(Vec<Unsupported>),
    /// The graph's interface cannot be compiled (e.g. a non-tensor input).
    #[error("{0}")]
    Interface(String),
    /// The container writer refused the program (a size limit).
    #[error("writing the .mote file: {0}")]
    Write(String),
    /// The runtime refused the compiled file: a compiler bug.
    #[error("the compiled file does not load in the runtime (compiler bug): {0}")]
    SelfCheck(String),
}

fn list(v: &[Unsupported]) -> String {
    let mut s = String::new();
    for u in v {
        s.push_str(&format!("  {} ({}): {}\n", u.node, u.op, u.reason));
    }
    s
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.node, self.op, self.reason)
    }
}
