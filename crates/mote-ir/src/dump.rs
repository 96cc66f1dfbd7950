//! A readable text form of a graph, for `mote inspect --dump` and test failures.
//!
//! ```text
//! graph main
//!   in    input: f32[N,3,224,224]
//!   const w0: f32[32,3,3,3]
//!   conv0: f32[N,32,112,112] = Conv(input, w0, b0) { strides: [2, 2], .. }   # node conv0
//!   out   logits: f32[N,1000]
//! ```

use std::fmt::Write;

use crate::graph::{Graph, ValueId};

/// Renders `g` and its subgraphs.
pub fn dump(g: &Graph) -> String {
    let mut s = String::new();
    write_graph(g, 0, &mut s);
    s
}

fn name(g: &Graph, id: ValueId) -> &str {
    g.values.get(id.index()).map(|v| v.name.as_str()).unwrap_or("<invalid>")
}

fn write_graph(g: &Graph, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(s, "{pad}graph {}", if g.name.is_empty() { "<unnamed>" } else { &g.name });
    for &i in &g.inputs {
        let v = g.value(i);
        let default = if v.init.is_some() { " (has default)" } else { "" };
        let _ = writeln!(s, "{pad}  in    {}: {}{default}", v.name, v.ty);
    }
    for r in &g.outer_refs {
        let v = g.value(r.inner);
        let _ = writeln!(s, "{pad}  outer {}: {}", v.name, v.ty);
    }
    for (id, t) in g.constants() {
        let _ = writeln!(s, "{pad}  const {}: {}{:?}", name(g, id), t.dtype(), t.shape());
    }
    for node in &g.nodes {
        let outs: Vec<String> = node
            .outputs
            .iter()
            .map(|o| match o {
                Some(id) => format!("{}: {}", name(g, *id), g.value(*id).ty),
                None => "_".to_string(),
            })
            .collect();
        let ins: Vec<&str> = node.inputs.iter().map(|i| i.map(|id| name(g, id)).unwrap_or("_")).collect();
        let attrs = node.op.describe();
        let attrs = if attrs.is_empty() { String::new() } else { format!(" {attrs}") };
        let _ = writeln!(
            s,
            "{pad}  {} = {}({}){attrs}   # node {}",
            outs.join(", "),
            node.op.name(),
            ins.join(", "),
            node.name
        );
        for sub in node.op.subgraphs() {
            write_graph(sub, depth + 2, s);
        }
    }
    for &o in &g.outputs {
        let _ = writeln!(s, "{pad}  out   {}: {}", name(g, o), g.value(o).ty);
    }
}
