//! `--target`, `--ram`, `--flash` of `mote compile` and `mote inspect`: does the compiled model
//! fit the target (`mote_compile::budget`)?

use anyhow::{Context, Result, anyhow};
use mote_compile::Target;
use mote_compile::budget::{Budgets, Fit, parse_bytes};
use serde_json::{Value, json};

/// The budget flags, shared by `compile` and `inspect`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BudgetArgs {
    /// RAM budget (bytes, or with K/M: 256K, 1M); default: the target profile's (cortex-m4
    /// 256K, cortex-m7 512K, cortex-m33 256K; none for the others).
    #[arg(long, value_name = "SIZE")]
    pub ram: Option<String>,
    /// Flash budget (the .mote file plus the runtime's code); default: the target profile's
    /// (cortex-m4 1M, cortex-m7 2M, cortex-m33 1M; none for the others).
    #[arg(long, value_name = "SIZE")]
    pub flash: Option<String>,
}

impl BudgetArgs {
    pub fn budgets(&self) -> Result<Budgets> {
        let size = |flag: &str, s: &Option<String>| -> Result<Option<u64>> {
            s.as_deref().map(|s| parse_bytes(s).map_err(|e| anyhow!("--{flag}: {e}"))).transpose()
        };
        Ok(Budgets { ram: size("ram", &self.ram)?, flash: size("flash", &self.flash)? })
    }

    pub fn given(&self) -> bool {
        self.ram.is_some() || self.flash.is_some()
    }
}

/// `--target NAME` as a [`Target`], listing the names when unknown.
pub fn parse_target(s: &str) -> Result<Target> {
    Target::parse(s).with_context(|| {
        let names: Vec<&str> = Target::ALL.iter().map(|(n, _)| *n).collect();
        format!("unknown --target `{s}`; one of: {}", names.join(", "))
    })
}

pub fn fit_json(f: &Fit) -> Value {
    let pairs = |v: &[(String, u64)]| v.iter().map(|(n, b)| json!({"name": n, "bytes": b})).collect::<Vec<_>>();
    json!({
        "target": f.profile.target.name(),
        "fits": f.problems().is_empty(),
        "problems": f.problems(),
        "ram": {"total": f.ram.total(), "arena": f.ram.arena, "runtime": f.ram.runtime, "io": f.ram.io, "budget": f.ram_budget},
        "flash": {"total": f.flash.total(), "file": f.flash.file, "code": f.flash.code, "unmeasured_ops": f.flash.unmeasured, "budget": f.flash_budget},
        "peak": {"step": f.peak.step, "name": f.peak.name, "op": f.peak.op, "bytes": f.peak.bytes, "scratch": f.peak.scratch, "live": pairs(&f.peak.live)},
        "largest_weights": pairs(&f.largest_weights[..f.largest_weights.len().min(10)]),
        "lacks": f.lacks.iter().map(|l| json!({"step": l.step, "name": l.name, "op": l.op, "why": l.why})).collect::<Vec<_>>(),
        "notes": f.notes,
    })
}
