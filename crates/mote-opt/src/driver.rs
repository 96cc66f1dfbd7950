//! The driver: specialization once, then the passes to a fixpoint.

use mote_ir::Graph;

use crate::error::OptError;
use crate::options::Options;
use crate::report::{GraphStats, Report, Rewrites};

/// Optimizes `graph` in place:
///
/// 1. verifies it (an invalid graph is [`OptError::InvalidInput`]) and runs [`crate::specialize()`] with `opts.bindings`;
/// 2. repeats rounds of [`crate::fold_constants()`], [`crate::simplify()`],
///    [`crate::fuse_patterns()`], [`crate::fold_batchnorm()`] and [`crate::dce()`] (those enabled in `opts.passes`) until a
///    round changes nothing or `opts.max_rounds` rounds ran;
/// 3. re-runs inference so every value's type reflects the final graph.
///
/// With `opts.verify`, the graph is checked with `mote_ir::verify::verify` after every pass; a
/// failure is [`OptError::InvalidAfter`] naming the pass. The final graph is always checked. On error the graph may be partly
/// rewritten (callers keep a copy if they need the original).
///
/// ```no_run
/// # fn f(mut graph: mote_ir::Graph) -> Result<(), mote_opt::OptError> {
/// let opts = mote_opt::Options::default()
///     .bind_shape("input", [1, 576])
///     .bind_const("sr", mote_ir::Tensor::scalar(16000i64));
/// let report = mote_opt::optimize(&mut graph, &opts)?;
/// println!("{report}");
/// # Ok(()) }
/// ```
pub fn optimize(graph: &mut Graph, opts: &Options) -> Result<Report, OptError> {
    mote_ir::verify::verify(graph).map_err(OptError::InvalidInput)?;
    let mut report = Report { before: GraphStats::of(graph), ..Report::default() };
    let r = crate::specialize(graph, &opts.bindings)?;
    check(graph, opts, "specialize")?;
    report.record("specialize", &r);

    let p = opts.passes;
    for _ in 0..opts.max_rounds {
        report.rounds += 1;
        let mut changed = false;
        let mut step = |name: &'static str,
                        on: bool,
                        graph: &mut Graph,
                        f: &dyn Fn(&mut Graph) -> Result<Rewrites, OptError>|
         -> Result<(), OptError> {
            if !on {
                return Ok(());
            }
            let r = f(graph)?;
            check(graph, opts, name)?;
            changed |= r.changed();
            report.record(name, &r);
            Ok(())
        };
        step("fold_constants", p.fold_constants, graph, &|g| crate::fold_constants(g, &opts.fold))?;
        step("simplify", p.simplify, graph, &|g| Ok(crate::simplify(g)))?;
        // Patterns first: folding a spelled-out HardSwish's trailing `/ 6` into the next
        // convolution would hide it.
        step("fuse_patterns", p.simplify, graph, &|g| Ok(crate::fuse_patterns(g)))?;
        step("fold_batchnorm", p.fold_batchnorm, graph, &|g| Ok(crate::fold_batchnorm(g)))?;
        step("dce", p.dce, graph, &|g| Ok(crate::dce(g)))?;
        if !changed {
            break;
        }
    }
    mote_interp::infer(graph).map_err(|source| OptError::Infer { pass: "optimize", source })?;
    // The final graph is always checked (cheap: linear in its size).
    mote_ir::verify::verify(graph).map_err(|source| OptError::InvalidAfter { pass: "optimize", source })?;
    report.after = GraphStats::of(graph);
    Ok(report)
}

fn check(g: &Graph, opts: &Options, pass: &'static str) -> Result<(), OptError> {
    if opts.verify {
        mote_ir::verify::verify(g).map_err(|source| OptError::InvalidAfter { pass, source })?;
    }
    Ok(())
}
