//! The Mote compiler: a [`mote_ir::Graph`] from any importer to a `.mote` file.
//!
//! Stages: static shape inference with constant folding ([`mote_interp::infer`]), lowering to
//! runtime steps ([`lower`]: views become aliases, data movement strided copies, activations
//! fused into the op before them, element-wise ops in place where their input dies), the static
//! memory plan ([`plan`]: greedy by size over lifetimes), and the container ([`emit`]). The
//! result is loaded back into the runtime before it is returned, so a file the compiler writes
//! always passes the runtime's validation.

pub mod budget;
pub mod dynamic;
pub mod emit;
pub mod energy;
pub mod error;
pub mod f16_weights;
pub mod host;
pub mod lir;
pub mod lower;
pub mod plan;
pub mod shape_inputs;
pub mod target;

use std::collections::BTreeMap;
use std::fmt;

use mote_ir::Graph;

pub use error::{CompileError, Unsupported};
pub use lower::seqlist::Structure;
pub use shape_inputs::{bind_shape_inputs, shape_inputs};
pub use target::Target;

/// What to compile for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub target: Target,
    /// Input name -> shape, for inputs with symbolic dims.
    pub shapes: BTreeMap<String, Vec<usize>>,
    /// Symbolic dim name -> size, everywhere it appears.
    pub dims: BTreeMap<String, usize>,
    /// Input name -> value: the input becomes a constant (e.g. silero_vad's `sr`).
    pub constants: BTreeMap<String, mote_ir::Tensor>,
    /// Keep every tensor in NCHW (no channel-blocked convolutions; see `lower::layout`).
    pub nchw_only: bool,
    /// Input name -> the length of a sequence input or the presence of an optional input
    /// (`lower::seqlist`); an optional tensor input not listed is present.
    pub structures: BTreeMap<String, Structure>,
    /// Pool capacity in bytes of every string input (`None`: 64 bytes per element, at least
    /// 256); the results of string ops are sized from their inputs. `mote compile --string-bytes`.
    pub string_bytes: Option<usize>,
    /// Most pieces StringSplit may give one string (`None`: 64, or `maxsplit + 1` when
    /// smaller). `mote compile --string-pieces`.
    pub string_pieces: Option<usize>,
    /// Dynamic int8 quantization of the Conv, MatMul, Gemm and one-step LSTM weights
    /// ([`dynamic`]; `mote compile --dynamic-int8`).
    pub dynamic_int8: Option<dynamic::DynamicInt8>,
    /// Store the f32 weights as f16, widened by `Cast` steps at run time ([`f16_weights`];
    /// `mote compile --weights f16`).
    pub weights_f16: bool,
    /// Keep pruned weights on the dense kernels (no `SparseGemm` steps; `mote compile
    /// --no-sparse`).
    pub no_sparse: bool,
}

/// Numbers about the compiled file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Nodes after graph optimization (what was lowered).
    pub nodes: usize,
    pub steps: usize,
    pub fused_activations: usize,
    pub in_place: usize,
    pub arena_bytes: usize,
    pub scratch_bytes: usize,
    pub peak_live_bytes: usize,
    pub weights_bytes: usize,
    pub file_bytes: usize,
    /// What the graph optimizer did (`mote_opt::Report`'s summary).
    pub optimizer: String,
    /// What dynamic int8 quantization did (empty without it).
    pub dynamic: dynamic::DynamicReport,
    /// QDQ graphs: the nodes that run as integer steps (`name`, op) ...
    pub int8: Vec<(String, String)>,
    /// ... and the nodes between Dequantize and Quantize that stay float (`name`, op, why).
    pub float_in_qdq: Vec<(String, String, String)>,
}

impl Report {
    /// `Conv 52, Add 10` for a list of (name, op).
    pub fn op_counts<'a>(ops: impl Iterator<Item = &'a str>) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for op in ops {
            match counts.iter_mut().find(|(o, _)| *o == op) {
                Some((_, c)) => *c += 1,
                None => counts.push((op, 1)),
            }
        }
        counts.iter().map(|(o, c)| format!("{o} {c}")).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} nodes -> {} steps ({} activations fused, {} in place)",
            self.nodes, self.steps, self.fused_activations, self.in_place
        )?;
        writeln!(
            f,
            "arena {} bytes (peak live {} bytes, {:.2}x; scratch {} bytes)",
            self.arena_bytes,
            self.peak_live_bytes,
            self.arena_bytes as f64 / self.peak_live_bytes.max(1) as f64,
            self.scratch_bytes
        )?;
        writeln!(f, "weights {} bytes, file {} bytes", self.weights_bytes, self.file_bytes)?;
        if !self.int8.is_empty() {
            writeln!(
                f,
                "int8: {} nodes ({})",
                self.int8.len(),
                Report::op_counts(self.int8.iter().map(|(_, o)| o.as_str()))
            )?;
        }
        for (name, op, why) in &self.float_in_qdq {
            writeln!(f, "float: {op} '{name}' reads int8 activations but runs in f32 ({why})")?;
        }
        write!(f, "optimizer: {}", self.optimizer.trim_end())
    }
}

/// A compiled model.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub bytes: Vec<u8>,
    pub report: Report,
}

/// Compiles `graph`.
pub fn compile(mut graph: Graph, opts: &Options) -> Result<Compiled, CompileError> {
    // Sequence and optional inputs become their tensors (`lower::seqlist`).
    let in_groups = lower::seqlist::bind_inputs(&mut graph, &opts.structures).map_err(CompileError::Interface)?;
    let mut o = mote_opt::Options::default();
    o.bindings.shapes = opts.shapes.clone();
    o.bindings.dims = opts.dims.clone();
    o.bindings.constants = opts.constants.clone();
    let optimized = mote_opt::optimize(&mut graph, &o).map_err(|e| match e {
        mote_opt::OptError::UnknownInput { .. }
        | mote_opt::OptError::UnknownSymbol { .. }
        | mote_opt::OptError::Bind { .. } => CompileError::Interface(e.to_string()),
        e => CompileError::Infer(e.to_string()),
    })?;
    // Once shapes are static, FlexAttention becomes primitive ops (its modifier graphs inlined),
    // ops with run-time operands the lowering takes as constants become element-wise ops
    // (`lower/expand.rs`), Scan/Loop with static trip counts are unrolled, and sequence and
    // optional ops become compile-time lists; the result is optimized again (a trip count, a
    // position or an `If` condition may become constant on the way).
    for _ in 0..MAX_EXPAND_ROUNDS {
        let changed = lower::flex::expand(&mut graph)
            + lower::expand::expand(&mut graph)
            + lower::unroll::unroll(&mut graph)
            + lower::seqlist::rewrite(&mut graph);
        if changed == 0 {
            break;
        }
        mote_opt::optimize(&mut graph, &mote_opt::Options::default())
            .map_err(|e| CompileError::Infer(e.to_string()))?;
    }
    let leftovers = lower::seqlist::leftovers(&graph);
    if !leftovers.is_empty() {
        return Err(CompileError::Unsupported(leftovers));
    }
    let dynamic = match &opts.dynamic_int8 {
        Some(d) => {
            let r = dynamic::rewrite(&mut graph, d);
            mote_opt::optimize(&mut graph, &mote_opt::Options::default())
                .map_err(|e| CompileError::Infer(e.to_string()))?;
            r
        }
        None => dynamic::DynamicReport::default(),
    };
    let out_groups = lower::seqlist::expand_outputs(&mut graph).map_err(CompileError::Unsupported)?;
    // `If`s left have a run-time condition: both branches become steps behind a `Branch`.
    let branches = lower::branch::inline(&mut graph);
    let known = mote_interp::infer(&mut graph).map_err(|e| CompileError::Infer(e.to_string()))?;
    let nodes = graph.nodes.len();
    // The channel-blocked layout is not planned across branches (kept NCHW when there are any).
    let blocked = !opts.nchw_only && branches.is_empty();
    let mut l = lower::Lowerer::new(&graph, known, blocked, !opts.no_sparse).with_branches(branches);
    l.strings = lower::StringLimits { input_bytes: opts.string_bytes, pieces: opts.string_pieces };
    l.run().map_err(CompileError::Unsupported)?;
    let (in_place, fused) = (l.in_place, l.n_fused);
    let (int8, float_in_qdq) = l.int8_summary();
    let mut p = l.p;
    if opts.weights_f16 {
        f16_weights::to_f16(&mut p);
    }
    for g in in_groups {
        let pos = |name: &str| p.inputs.iter().position(|(_, n)| n == name);
        let first = g.following.iter().find_map(|n| pos(n)).unwrap_or(p.inputs.len());
        if g.elems.iter().enumerate().any(|(k, e)| pos(e) != Some(first + k)) {
            return Err(CompileError::Interface(format!(
                "the tensors of input `{}` must stay run-time inputs (one is bound as a constant)",
                g.name
            )));
        }
        p.groups.push((true, g.shape, g.name, first, g.count));
    }
    for g in out_groups {
        p.groups.push((false, g.shape, g.name, g.first, g.count));
    }
    let mut meta = vec![
        ("producer".to_string(), format!("mote-compile {}", env!("CARGO_PKG_VERSION"))),
        ("graph".to_string(), graph.name.clone()),
        ("target".to_string(), opts.target.name().to_string()),
    ];
    if opts.target.is_mcu() {
        meta.push((mote_rt::exec::META_INPUTS.to_string(), mote_rt::exec::INPUTS_CONSUMED.to_string()));
    }
    // Size the scratch: write once without a plan, ask the runtime what each step needs.
    let trial = plan::MemPlan {
        offsets: vec![0; p.bufs.len()],
        arena: p.bufs.iter().map(|b| b.bytes).max().unwrap_or(0),
        ..Default::default()
    };
    let bytes = emit::emit(&p, &trial, &meta)?;
    let needs = {
        let buf = mote_rt::host::AlignedBuf::from_bytes(&bytes);
        let model = mote_format::Model::parse(buf.as_ref()).map_err(|e| CompileError::SelfCheck(e.to_string()))?;
        (0..p.steps.len())
            .map(|i| mote_rt::exec::step_scratch(&model, i).map_err(|e| CompileError::SelfCheck(step_error(&p, e))))
            .collect::<Result<Vec<(usize, usize)>, CompileError>>()?
    };
    let m = if opts.target.is_mcu() {
        mcu_plan(&p, &needs)
    } else {
        plan::plan(&p, &needs.iter().map(|n| n.1).collect::<Vec<_>>(), false)
    };
    let bytes = emit::emit(&p, &m, &meta)?;
    let buf = mote_rt::host::AlignedBuf::from_bytes(&bytes);
    mote_rt::Runtime::load(buf.as_ref()).map_err(|e| CompileError::SelfCheck(step_error(&p, e)))?;
    let report = Report {
        nodes,
        steps: p.steps.len(),
        fused_activations: fused,
        in_place,
        arena_bytes: m.arena,
        scratch_bytes: m.scratch_size,
        peak_live_bytes: m.peak_live,
        weights_bytes: mote_format::Model::parse(buf.as_ref()).map_or(0, |m| m.weights().len()),
        file_bytes: bytes.len(),
        optimizer: optimized.to_string(),
        int8,
        float_in_qdq,
        dynamic,
    };
    Ok(Compiled { bytes, report })
}

/// Most rounds of unrolling, list rewriting and re-optimization.
const MAX_EXPAND_ROUNDS: usize = 16;

/// A runtime error with the step's node name.
fn step_error(p: &lir::Program, e: mote_rt::RtError) -> String {
    match e {
        mote_rt::RtError::Step { step, .. } => {
            let s = &p.steps[step as usize];
            format!("{e} (node '{}', {:?})", s.name, s.op)
        }
        e => e.to_string(),
    }
}

/// A microcontroller's plan (same results as any other): the kernels' smallest scratch, or
/// twice it (int8 convolutions in blocks of 4 rows, not 2: fewer passes per row block) when
/// that costs under 1% more arena; then the scratch grows into the arena's alignment slack
/// when that costs no byte. `needs` is each step's scratch `(min, max)`.
fn mcu_plan(p: &lir::Program, needs: &[(usize, usize)]) -> plan::MemPlan {
    let with = |cap: &dyn Fn(usize, usize) -> usize| {
        let scratch: Vec<usize> =
            needs.iter().map(|&(min, max)| if min > 0 { cap(min, max).min(max).max(min) } else { 0 }).collect();
        plan::plan(p, &scratch, true)
    };
    let small = with(&|min, _| min);
    let double = with(&|min, _| 2 * min);
    let m = if double.arena * 100 < small.arena * 101 { double } else { small };
    let grown = m.scratch_size + m.arena.saturating_sub(m.peak_live);
    let m2 = with(&|_, max| max.min(grown));
    if m2.arena <= m.arena { m2 } else { m }
}
