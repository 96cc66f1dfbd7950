//! The runtime's code and RAM on a target besides the model, as `scripts/footprint.sh`
//! measured them (`thumbv7em.tsv`): the core (format reader, validation, executor) and each
//! op's kernels, so a model's flash is its file plus the code of exactly the ops it uses.

use mote_format::OpCode;

/// Measured sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeSizes {
    /// `.text + .rodata` of the runtime with no ops.
    pub core: u64,
    /// RAM the runtime needs besides the arena: its state and the stack at its deepest.
    pub ram: u64,
    table: &'static str,
}

impl CodeSizes {
    pub fn thumbv7em() -> CodeSizes {
        CodeSizes::parse(include_str!("thumbv7em.tsv"))
    }

    fn parse(table: &'static str) -> CodeSizes {
        let field =
            |key: &str| rows(table).find(|r| r.len() == 2 && r[0] == key).and_then(|r| r[1].parse().ok()).unwrap_or(0);
        CodeSizes { core: field("core"), ram: field("ram"), table }
    }

    /// The measured code of `op`'s kernels (`None`: not measured on this target).
    pub fn op(&self, op: OpCode) -> Option<u64> {
        let name = format!("{op:?}");
        rows(self.table).find(|r| r.len() == 3 && r[0] == "op" && r[1] == name).and_then(|r| r[2].parse().ok())
    }
}

/// The tab-separated rows of `table`, `#` comments skipped.
fn rows(table: &str) -> impl Iterator<Item = Vec<&str>> {
    table.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.split('\t').collect())
}
