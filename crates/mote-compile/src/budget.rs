//! Does a compiled model fit its target? RAM (arena, runtime state and stack, I/O buffers),
//! flash (the file, which runs in place, and the code of the ops it uses) and the ops the
//! target's runtime lacks, read from the `.mote` bytes: `mote compile --target` refuses a file
//! that does not fit, and `mote inspect --target` shows the same for any model or `.mote`.

use std::fmt;

use mote_core::DType;
use mote_format::{Model, OpCode, Storage};

use crate::target::{Profile, Target};

/// RAM and flash budgets in bytes (`None`: the profile's default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Budgets {
    pub ram: Option<u64>,
    pub flash: Option<u64>,
}

/// How a model uses a target.
#[derive(Clone, Debug)]
pub struct Fit {
    pub profile: Profile,
    pub ram: Ram,
    pub flash: Flash,
    pub ram_budget: Option<u64>,
    pub flash_budget: Option<u64>,
    /// The step where the most arena bytes are live, and what is live there.
    pub peak: Peak,
    /// The largest weights (name, bytes), largest first.
    pub largest_weights: Vec<(String, u64)>,
    /// Steps whose op or element type the target's runtime lacks.
    pub lacks: Vec<Lack>,
    /// What the numbers leave out or what runs slowly there (not failures).
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ram {
    pub arena: u64,
    /// Runtime state and stack (measured on the target; 0 where not measured).
    pub runtime: u64,
    /// Input and output buffers outside the arena: none, they live in it.
    pub io: u64,
}

impl Ram {
    pub fn total(&self) -> u64 {
        self.arena + self.runtime + self.io
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flash {
    /// The `.mote` file (steps, tensor records, weights), read in place.
    pub file: u64,
    /// The runtime core and the kernels of the ops used (`None` where not measured).
    pub code: Option<u64>,
    /// Ops used whose code size was not measured (left out of `code`).
    pub unmeasured: Vec<String>,
}

impl Flash {
    pub fn total(&self) -> u64 {
        self.file + self.code.unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peak {
    pub step: usize,
    pub name: String,
    pub op: String,
    /// Live bytes at the step (tensors and scratch).
    pub bytes: u64,
    /// The live tensors (name, bytes), largest first.
    pub live: Vec<(String, u64)>,
    pub scratch: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lack {
    pub step: usize,
    pub name: String,
    pub op: String,
    pub why: String,
}

/// Most tensors listed in a report line.
const LIST: usize = 5;

/// Checks the compiled model `bytes` against `target` with `budgets` (the profile's defaults
/// where `None`).
pub fn check(bytes: &[u8], target: Target, budgets: Budgets) -> Result<Fit, String> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let model = Model::parse(buf.as_ref()).map_err(|e| e.to_string())?;
    let profile = target.profile();
    let code = profile.code();
    let mut fit = Fit {
        profile,
        ram: Ram { arena: model.plan().arena_size, runtime: code.map_or(0, |c| c.ram), io: 0 },
        flash: Flash { file: bytes.len() as u64, code: code.map(|c| c.core), unmeasured: Vec::new() },
        ram_budget: budgets.ram.or(profile.ram),
        flash_budget: budgets.flash.or(profile.flash),
        peak: peak(&model)?,
        largest_weights: largest_weights(&model),
        lacks: Vec::new(),
        notes: Vec::new(),
    };
    let mut ops: Vec<OpCode> = Vec::new();
    for i in 0..model.step_count() {
        let s = model.step(i).ok_or("a step record is missing")?;
        if !ops.contains(&s.op) {
            ops.push(s.op);
        }
        let strings = (0..s.n_inputs())
            .filter_map(|k| s.input(k))
            .chain((0..s.n_outputs()).filter_map(|k| s.output(k)))
            .filter_map(|t| model.tensor(t))
            .any(|t| t.dtype == DType::String);
        if !profile.strings && (mote_rt::ops::TEXT_OPS & mote_rt::ops::op_bit(s.op) != 0 || strings) {
            fit.lacks.push(Lack {
                step: i,
                name: s.name.to_string(),
                op: format!("{:?}", s.op),
                why: format!("string tensors and text ops are not in the {} runtime", target.name()),
            });
        }
    }
    if let Some(c) = code {
        for &op in &ops {
            match c.op(op) {
                Some(n) => fit.flash.code = fit.flash.code.map(|k| k + n),
                None => fit.flash.unmeasured.push(format!("{op:?}")),
            }
        }
        if !fit.flash.unmeasured.is_empty() {
            fit.notes.push(format!(
                "the code of {} is not measured on this target (docs/FOOTPRINT.md): flash leaves it out",
                fit.flash.unmeasured.join(", ")
            ));
        }
    } else {
        fit.notes.push("code size and runtime RAM are measured for microcontroller targets only".into());
    }
    let f64s = (0..model.tensor_count() as u32).filter_map(|t| model.tensor(t)).any(|t| t.dtype == DType::F64);
    if f64s && !profile.f64_in_hardware {
        fit.notes.push(format!("f64 tensors: {} has a single-precision FPU, f64 math runs in software", target.name()));
    }
    Ok(fit)
}

impl Fit {
    /// What breaks the budgets or the target, one message each (empty: it fits).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let name = self.profile.target.name();
        if let Some(b) = self.ram_budget.filter(|&b| self.ram.total() > b) {
            let p = &self.peak;
            out.push(format!(
                "RAM: needs {} (arena {} + runtime {}), the {name} budget is {}: over by {}. \
                 At the peak, step {} '{}' ({}), {} are live: {}{}. Quantize to int8 (`mote quantize`), \
                 use a smaller input, or raise --ram",
                bytes(self.ram.total()),
                bytes(self.ram.arena),
                bytes(self.ram.runtime),
                bytes(b),
                bytes(self.ram.total() - b),
                p.step,
                p.name,
                p.op,
                bytes(p.bytes),
                list(&p.live),
                if p.scratch > 0 { format!(", scratch {}", bytes(p.scratch)) } else { String::new() },
            ));
        }
        if let Some(b) = self.flash_budget.filter(|&b| self.flash.total() > b) {
            out.push(format!(
                "flash: needs {} (file {} + code {}), the {name} budget is {}: over by {}. \
                 Largest weights: {}. Quantize to int8, prune, or raise --flash",
                bytes(self.flash.total()),
                bytes(self.flash.file),
                bytes(self.flash.code.unwrap_or(0)),
                bytes(b),
                bytes(self.flash.total() - b),
                list(&self.largest_weights),
            ));
        }
        for l in &self.lacks {
            out.push(format!("step {} '{}' ({}): {}", l.step, l.name, l.op, l.why));
        }
        out
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let budget = |b: Option<u64>, used: u64| match b {
            Some(b) => format!(" of {} ({:.1}%)", bytes(b), used as f64 * 100.0 / b.max(1) as f64),
            None => String::new(),
        };
        writeln!(f, "target {}: {}", self.profile.target.name(), self.profile.describe)?;
        writeln!(
            f,
            "  RAM   {}{}: arena {}, runtime {}, I/O buffers {} (in the arena)",
            bytes(self.ram.total()),
            budget(self.ram_budget, self.ram.total()),
            bytes(self.ram.arena),
            bytes(self.ram.runtime),
            bytes(self.ram.io)
        )?;
        let code = self.flash.code.map_or("not measured".to_string(), bytes);
        writeln!(
            f,
            "  flash {}{}: file {}, code {code}",
            bytes(self.flash.total()),
            budget(self.flash_budget, self.flash.total()),
            bytes(self.flash.file)
        )?;
        let p = &self.peak;
        writeln!(f, "  peak  step {} '{}' ({}): {} live: {}", p.step, p.name, p.op, bytes(p.bytes), list(&p.live))?;
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        let problems = self.problems();
        if problems.is_empty() {
            write!(f, "  fits")
        } else {
            write!(f, "  does not fit:")?;
            for p in problems {
                write!(f, "\n  - {p}")?;
            }
            Ok(())
        }
    }
}

/// The step with the most live arena bytes ([`timeline`]).
fn peak(model: &Model<'_>) -> Result<Peak, String> {
    let mut best = Peak::default();
    for (i, l) in timeline(model)?.into_iter().enumerate() {
        if l.bytes > best.bytes || i == 0 {
            let s = model.step(i).ok_or("a step record is missing")?;
            best = Peak {
                step: i,
                name: s.name.to_string(),
                op: format!("{:?}", s.op),
                bytes: l.bytes,
                live: l.tensors,
                scratch: l.scratch,
            };
        }
    }
    Ok(best)
}

/// What is live in the arena at one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Live {
    /// Tensor and scratch bytes.
    pub bytes: u64,
    pub scratch: u64,
    /// The live tensors (name, bytes), largest first; views and in-place results once.
    pub tensors: Vec<(String, u64)>,
}

/// The arena at each step: tensors live from the first to the last step that touches them
/// (inputs and outputs as the plan keeps them), plus the scratch from the first to the last
/// step that uses it.
pub fn timeline(model: &Model<'_>) -> Result<Vec<Live>, String> {
    let n = model.step_count();
    let mut life: Vec<Option<(usize, usize)>> = vec![None; model.tensor_count()];
    let mut scratch_users = Vec::new();
    for i in 0..n {
        for (t, _) in touches(model, i) {
            let l = &mut life[t as usize];
            *l = Some(l.map_or((i, i), |(a, z)| (a.min(i), z.max(i))));
        }
        if mote_rt::exec::step_scratch(model, i).map_err(|e| e.to_string())?.0 > 0 {
            scratch_users.push(i);
        }
    }
    // As the plan has them (`crate::plan`): inputs to their last use when a run consumes them,
    // else to the end; outputs from the step that writes them to the end. Views share their
    // tensor's bytes, so the steps are found by range: an input's last use is the last step
    // reading inside its bytes before a step writes there (nothing writes an input: the next
    // occupant of its bytes), an output's write the last step writing inside its bytes.
    let (last, consumed) =
        (n.saturating_sub(1), model.meta_value(mote_rt::exec::META_INPUTS) == Some(mote_rt::exec::INPUTS_CONSUMED));
    let tensor = |t: u32| model.tensor(t).filter(|t| t.storage == Storage::Arena);
    let inside = |t: u32, outer: u32| match (tensor(t), tensor(outer)) {
        (Some(t), Some(o)) => o.offset <= t.offset && t.offset + t.nbytes <= o.offset + o.nbytes,
        _ => t == outer,
    };
    for io in model.inputs() {
        let reused = (0..n).find(|&i| touches(model, i).iter().any(|&(t, w)| w && inside(t, io.tensor))).unwrap_or(n);
        let z = (0..reused).rev().find(|&i| touches(model, i).iter().any(|&(t, _)| inside(t, io.tensor)));
        life[io.tensor as usize] = Some((0, if consumed { z.unwrap_or(last) } else { last }));
    }
    for io in model.outputs() {
        let a = (0..n).rev().find(|&i| touches(model, i).iter().any(|&(t, w)| w && inside(t, io.tensor)));
        life[io.tensor as usize] = Some((a.unwrap_or(0), last));
    }
    let scratch = model.plan().scratch_size;
    let in_scratch =
        |i: usize| scratch_users.first().is_some_and(|&a| a <= i) && scratch_users.last().is_some_and(|&z| i <= z);
    (0..n)
        .map(|i| {
            let live: Vec<(String, u64, u64)> = (0..model.tensor_count() as u32)
                .filter(|&t| life[t as usize].is_some_and(|(a, z)| a <= i && i <= z))
                .filter_map(|t| model.tensor(t))
                .filter(|t| t.storage == Storage::Arena && t.nbytes > 0)
                .map(|t| (t.name.to_string(), t.offset, t.nbytes))
                .collect();
            let live = maximal(live);
            let sc = if in_scratch(i) { scratch } else { 0 };
            let bytes = live.iter().map(|(_, _, b)| b).sum::<u64>() + sc;
            let mut tensors: Vec<(String, u64)> = live.into_iter().map(|(n, _, b)| (n, b)).collect();
            tensors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Ok(Live { bytes, scratch: sc, tensors })
        })
        .collect()
}

/// The tensors step `i` reads (`false`) and writes (`true`).
fn touches(model: &Model<'_>, i: usize) -> Vec<(u32, bool)> {
    let Some(s) = model.step(i) else { return Vec::new() };
    let reads = (0..s.n_inputs()).filter_map(|k| s.input(k)).map(|t| (t, false));
    reads.chain((0..s.n_outputs()).filter_map(|k| s.output(k)).map(|t| (t, true))).collect()
}

/// The byte ranges not inside another (views and in-place results counted once), with the
/// name of the first tensor covering each.
fn maximal(mut ranges: Vec<(String, u64, u64)>) -> Vec<(String, u64, u64)> {
    ranges.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
    let mut out: Vec<(String, u64, u64)> = Vec::new();
    for r in ranges {
        match out.last() {
            Some(l) if r.1 + r.2 <= l.1 + l.2 => {}
            _ => out.push(r),
        }
    }
    out
}

fn largest_weights(model: &Model<'_>) -> Vec<(String, u64)> {
    let mut w: Vec<(String, u64, u64)> = (0..model.tensor_count() as u32)
        .filter_map(|t| model.tensor(t))
        .filter(|t| t.storage == Storage::Weights && t.nbytes > 0)
        .map(|t| (t.name.to_string(), t.offset, t.nbytes))
        .collect();
    w = maximal(w);
    let mut named: Vec<(String, u64)> = w.into_iter().map(|(n, _, b)| (n, b)).collect();
    named.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    named
}

/// `a 8,000 B, b 490 B, ...` for the first [`LIST`] entries.
fn list(items: &[(String, u64)]) -> String {
    let mut s: Vec<String> = items.iter().take(LIST).map(|(n, b)| format!("'{n}' {}", bytes(*b))).collect();
    if items.len() > LIST {
        s.push(format!("and {} more", items.len() - LIST));
    }
    s.join(", ")
}

/// `17,258 B`.
pub fn bytes(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + " B"
}

/// `256K`, `1M`, `1.5M`, `300000`: bytes (K and M are 1024 and 1024²; KB/KiB and MB/MiB too).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    let (num, mult) = [
        ("KIB", 1u64 << 10),
        ("MIB", 1 << 20),
        ("KB", 1 << 10),
        ("MB", 1 << 20),
        ("K", 1 << 10),
        ("M", 1 << 20),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suf, m)| upper.strip_suffix(suf).map(|n| (n.trim().to_string(), *m)))
    .unwrap_or((upper.clone(), 1));
    let v: f64 =
        num.parse().map_err(|_| format!("`{s}` is not a size: give bytes, or a number with K or M (e.g. 256K, 1M)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("`{s}` is not a size"));
    }
    Ok((v * mult as f64).round() as u64)
}
