//! Structural checks on a graph: ids in range, single definition, topological order, outputs
//! defined, subgraph references valid. Every problem is reported, not just the first.

use std::fmt;

use crate::graph::{Graph, ValueId};

/// One structural problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Where: `graph/node` path.
    pub at: String,
    pub msg: String,
}

/// All problems found in a graph.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct VerifyError(pub Vec<Problem>);

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the graph is invalid ({} problem(s)):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  {}: {}", p.at, p.msg)?;
        }
        Ok(())
    }
}

/// Checks `g` and all nested subgraphs.
pub fn verify(g: &Graph) -> Result<(), VerifyError> {
    let mut problems = Vec::new();
    check(g, &g.name, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(VerifyError(problems)) }
}

struct Checker<'g> {
    g: &'g Graph,
    defined: Vec<bool>,
    out: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, at: &str, msg: String) {
        self.out.push(Problem { at: at.to_string(), msg });
    }

    fn define(&mut self, id: ValueId, at: &str, what: &str) {
        let n = self.g.values.len();
        if id.index() >= n {
            self.problem(at, format!("{what} refers to value {id:?}, but the graph has {n} values"));
        } else if self.defined[id.index()] {
            let name = &self.g.values[id.index()].name;
            self.problem(at, format!("value `{name}` is defined more than once ({what})"));
        } else {
            self.defined[id.index()] = true;
        }
    }

    fn is_defined(&self, id: ValueId) -> bool {
        self.defined.get(id.index()).copied().unwrap_or(false)
    }

    fn name(&self, id: ValueId) -> &str {
        self.g.values.get(id.index()).map(|v| v.name.as_str()).unwrap_or("<out of range>")
    }
}

fn check(g: &Graph, path: &str, out: &mut Vec<Problem>) {
    let mut c = Checker { g, defined: vec![false; g.values.len()], out: Vec::new() };
    for &i in &g.inputs {
        c.define(i, path, "graph input");
    }
    for r in &g.outer_refs {
        c.define(r.inner, path, "outer reference");
    }
    for (i, v) in g.values.iter().enumerate() {
        let id = ValueId(i as u32);
        if v.init.is_some() && !g.inputs.contains(&id) {
            c.define(id, path, "initializer");
        }
    }
    for node in &g.nodes {
        let at = format!("{path}/{}", node.name);
        for (k, inp) in node.inputs.iter().enumerate() {
            if let Some(id) = *inp
                && !c.is_defined(id)
            {
                let msg = format!("input {k} `{}` is used before it is defined", c.name(id));
                c.problem(&at, msg);
            }
        }
        for sub in node.op.subgraphs() {
            for r in &sub.outer_refs {
                if !c.is_defined(r.outer) {
                    let msg = format!(
                        "subgraph `{}` captures `{}`, which is not defined before this node",
                        sub.name,
                        c.name(r.outer)
                    );
                    c.problem(&at, msg);
                }
            }
            check(sub, &at, &mut c.out);
        }
        for o in node.outputs.iter().flatten() {
            c.define(*o, &at, "node output");
        }
    }
    for (k, &o) in g.outputs.iter().enumerate() {
        if !c.is_defined(o) {
            let msg = format!("graph output {k} `{}` is never defined", c.name(o));
            c.problem(path, msg);
        }
    }
    out.append(&mut c.out);
}
