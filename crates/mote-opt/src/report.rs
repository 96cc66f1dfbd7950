//! What the passes did: counts per rewrite, and graph statistics before and after.

use std::collections::BTreeMap;
use std::fmt;

use mote_ir::Graph;

/// Counts of the rewrites one pass made, by rewrite name (`folded`, `identity_removed`, ...).
/// Empty when the pass changed nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rewrites(BTreeMap<&'static str, usize>);

impl Rewrites {
    /// Counts `n` more of `what`.
    pub fn add(&mut self, what: &'static str, n: usize) {
        if n > 0 {
            *self.0.entry(what).or_insert(0) += n;
        }
    }

    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        !self.0.is_empty()
    }

    /// How many of `what` were made.
    pub fn get(&self, what: &str) -> usize {
        self.0.get(what).copied().unwrap_or(0)
    }

    /// Every rewrite with its count, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        self.0.iter().map(|(k, v)| (*k, *v))
    }

    /// Adds all counts of `other`.
    pub fn merge(&mut self, other: &Rewrites) {
        for (k, v) in other.iter() {
            self.add(k, v);
        }
    }
}

impl fmt::Display for Rewrites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("nothing");
        }
        let parts: Vec<String> = self.iter().map(|(k, v)| format!("{k} {v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Size of a graph, nested subgraphs included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Nodes, in all subgraphs too.
    pub nodes: usize,
    /// Node count per op name.
    pub ops: BTreeMap<&'static str, usize>,
    /// Values, in all subgraphs too.
    pub values: usize,
    /// Constant tensors (values with data that are not graph inputs).
    pub constants: usize,
    /// Bytes of constant data (strings count their length).
    pub constant_bytes: usize,
}

impl GraphStats {
    /// Measures `g`.
    pub fn of(g: &Graph) -> GraphStats {
        let mut s = GraphStats::default();
        g.walk(&mut |sub| {
            s.nodes += sub.nodes.len();
            s.values += sub.values.len();
            for node in &sub.nodes {
                *s.ops.entry(node.op.name()).or_insert(0) += 1;
            }
            for (_, t) in sub.constants() {
                s.constants += 1;
                s.constant_bytes += match t.strings() {
                    Some(v) => v.iter().map(String::len).sum(),
                    None => t.len() * t.dtype().size().unwrap_or(1),
                };
            }
        });
        s
    }

    /// How many nodes run `op`.
    pub fn count(&self, op: &str) -> usize {
        self.ops.get(op).copied().unwrap_or(0)
    }
}

/// What [`crate::optimize`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The graph as given.
    pub before: GraphStats,
    /// The optimized graph.
    pub after: GraphStats,
    /// Per pass, in the order passes run, the rewrites over all rounds.
    pub passes: Vec<(&'static str, Rewrites)>,
    /// Rounds run (the last one changed nothing, unless `max_rounds` stopped the loop).
    pub rounds: usize,
}

impl Report {
    /// The rewrites of pass `name` (empty if it did not run).
    pub fn pass(&self, name: &str) -> Rewrites {
        self.passes.iter().find(|(n, _)| *n == name).map(|(_, r)| r.clone()).unwrap_or_default()
    }

    pub(crate) fn record(&mut self, pass: &'static str, r: &Rewrites) {
        match self.passes.iter_mut().find(|(n, _)| *n == pass) {
            Some((_, acc)) => acc.merge(r),
            None => self.passes.push((pass, r.clone())),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, a) = (&self.before, &self.after);
        writeln!(f, "nodes      {} -> {}", b.nodes, a.nodes)?;
        writeln!(f, "constants  {} ({} B) -> {} ({} B)", b.constants, b.constant_bytes, a.constants, a.constant_bytes)?;
        writeln!(f, "rounds     {}", self.rounds)?;
        for (pass, r) in &self.passes {
            writeln!(f, "{pass:<15}{r}")?;
        }
        let mut ops: Vec<&str> = b.ops.keys().chain(a.ops.keys()).copied().collect();
        ops.sort_unstable();
        ops.dedup();
        let changed: Vec<String> = ops
            .iter()
            .filter(|op| b.count(op) != a.count(op))
            .map(|op| format!("{op} {} -> {}", b.count(op), a.count(op)))
            .collect();
        if !changed.is_empty() {
            writeln!(f, "ops        {}", changed.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_summarizes_passes_and_changed_ops() {
        let mut before = GraphStats { nodes: 3, constants: 2, constant_bytes: 40, ..GraphStats::default() };
        before.ops.insert("Conv", 1);
        before.ops.insert("BatchNormalization", 1);
        before.ops.insert("Relu", 1);
        let mut after = GraphStats { nodes: 2, constants: 2, constant_bytes: 24, ..GraphStats::default() };
        after.ops.insert("Conv", 1);
        after.ops.insert("Relu", 1);
        let mut r = Report { before, after, rounds: 2, ..Report::default() };
        let mut bn = Rewrites::default();
        bn.add("bn_folded", 1);
        bn.add("ignored", 0);
        r.record("fold_batchnorm", &bn);
        r.record("fold_batchnorm", &bn);
        r.record("dce", &Rewrites::default());
        assert_eq!(r.pass("fold_batchnorm").get("bn_folded"), 2);
        assert!(!r.pass("simplify").changed());
        let text = r.to_string();
        assert_eq!(
            text,
            "nodes      3 -> 2\nconstants  2 (40 B) -> 2 (24 B)\nrounds     2\nfold_batchnorm bn_folded 2\n\
             dce            nothing\nops        BatchNormalization 1 -> 0\n"
        );
    }
}
