//! The runtime proper: [`Runtime::load`] validates a `.mote` file once (container, then every
//! step against its tensors, the aliasing rules and the scratch size); [`Runtime::invoke`] runs
//! the steps in the caller's arena without allocating.

use mote_core::DType;
use mote_format::{Model, Storage, TensorRef};

use mote_kernels::fast::{Cpu, Parallel, Sequential};

use crate::error::{RtError, StepFault};
use crate::mem::{Mem, overlaps};
use crate::ops::{AllOps, Io, OpSet, RunFault, Step, same};

/// The alignment the arena must have.
pub const ARENA_ALIGN: usize = 64;

/// The meta key saying what a run does to the inputs, and its value when it may overwrite
/// them ([`Runtime::inputs_consumed`]).
pub const META_INPUTS: &str = "inputs";
pub const INPUTS_CONSUMED: &str = "consumed";

/// A graph input or output: name, element type and shape.
#[derive(Clone, Copy, Debug)]
pub struct TensorInfo<'a> {
    pub name: &'a str,
    pub dtype: DType,
    pub tensor: TensorRef<'a>,
}

impl TensorInfo<'_> {
    pub fn dims(&self) -> &[u32] {
        self.tensor.dims()
    }

    pub fn nbytes(&self) -> usize {
        self.tensor.nbytes as usize
    }
}

/// Called around every step by [`Runtime::invoke_observed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Begin(u32),
    End(u32),
}

/// A validated model, ready to run, by a build with the kernels of the op set `S` (every op by
/// default).
#[derive(Debug)]
pub struct Runtime<'a, S = AllOps> {
    model: Model<'a>,
    cpu: Cpu,
    /// The largest scratch of any step: what every thread but the caller needs.
    thread_scratch: usize,
    /// With an allocator, every step as decoded at load (its parameters: up to ~0.7 KB), so that
    /// [`Runtime::invoke`] does not decode them again; without, each run decodes each step.
    #[cfg(feature = "alloc")]
    prepared: alloc::vec::Vec<Kept<'a>>,
    ops: core::marker::PhantomData<fn() -> S>,
}

/// With an allocator: a step as decoded at load, and its tensor records resolved once (so a
/// run reads them, not the file's records).
#[cfg(feature = "alloc")]
#[derive(Debug)]
struct Kept<'a> {
    p: Prepared<'a>,
    tensors: alloc::vec::Vec<Option<TensorRef<'a>>>,
}

/// A step decoded once: its tensors, parameters and scratch need (kept only with an allocator).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
struct Prepared<'a> {
    io: Io<'a>,
    step: Step,
    scratch: usize,
}

impl<'a> Runtime<'a> {
    /// Parses and validates `bytes` (8-byte aligned; see [`Model::parse`]). After this, no
    /// sequence of bytes in the file can make [`Runtime::invoke`] read or write out of bounds.
    pub fn load(bytes: &'a [u8]) -> Result<Runtime<'a>, RtError> {
        Runtime::load_with(bytes, Cpu::detect())
    }

    /// [`Runtime::load`] with the kernels' instruction set chosen by the caller
    /// (`Cpu::scalar()` runs the portable kernels everywhere).
    pub fn load_with(bytes: &'a [u8], cpu: Cpu) -> Result<Runtime<'a>, RtError> {
        Runtime::load_ops(bytes, cpu)
    }
}

impl<'a, S: OpSet> Runtime<'a, S> {
    /// [`Runtime::load_with`] in a build with the kernels of the op set `S` only: a step of
    /// another op is refused ([`StepFault::NotInOpSet`]).
    pub fn load_ops(bytes: &'a [u8], cpu: Cpu) -> Result<Runtime<'a, S>, RtError> {
        let model = Model::parse(bytes)?;
        let plan = model.plan();
        let scratch = (plan.scratch_offset, plan.scratch_size);
        let mut thread_scratch = 0;
        #[cfg(feature = "alloc")]
        let mut prepared = alloc::vec::Vec::with_capacity(model.step_count());
        for i in 0..model.step_count() {
            #[cfg(feature = "alloc")]
            let keep = &mut |p: Prepared<'a>| prepared.push(Kept { tensors: p.io.resolve(), p });
            #[cfg(not(feature = "alloc"))]
            let keep = &mut |_| {};
            let need =
                check_step::<S>(&model, i, scratch, keep).map_err(|fault| RtError::Step { step: i as u32, fault })?;
            thread_scratch = thread_scratch.max(need);
        }
        Ok(Runtime {
            model,
            cpu,
            thread_scratch,
            #[cfg(feature = "alloc")]
            prepared,
            ops: core::marker::PhantomData,
        })
    }

    /// Scratch bytes each thread other than the caller needs to run this model's steps with a
    /// [`Parallel`] (the caller uses the arena's scratch): a thread pool allocates this much per
    /// worker.
    pub fn thread_scratch_bytes(&self) -> usize {
        self.thread_scratch
    }

    /// The instruction set the kernels use.
    pub fn cpu(&self) -> Cpu {
        self.cpu
    }

    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Bytes the arena needs (64-byte aligned).
    pub fn arena_size(&self) -> usize {
        self.model.plan().arena_size as usize
    }

    /// `true` when a run may overwrite the inputs (files compiled for a microcontroller reuse
    /// their bytes once read, as TFLite Micro's planner does): set the inputs before every run.
    pub fn inputs_consumed(&self) -> bool {
        self.model.meta_value(META_INPUTS) == Some(INPUTS_CONSUMED)
    }

    pub fn inputs(&self) -> impl Iterator<Item = TensorInfo<'a>> + '_ {
        self.model.inputs().filter_map(|io| self.info(io.tensor, io.name))
    }

    pub fn outputs(&self) -> impl Iterator<Item = TensorInfo<'a>> + '_ {
        self.model.outputs().filter_map(|io| self.info(io.tensor, io.name))
    }

    fn info(&self, t: u32, name: &'a str) -> Option<TensorInfo<'a>> {
        let tensor = self.model.tensor(t)?;
        Some(TensorInfo { name, dtype: tensor.dtype, tensor })
    }

    fn check_arena(&self, arena: &[u8]) -> Result<(), RtError> {
        let needed = self.model.plan().arena_size;
        let aligned = (arena.as_ptr() as usize).is_multiple_of(ARENA_ALIGN);
        if (arena.len() as u64) < needed || !aligned {
            return Err(RtError::Arena { needed, got: arena.len() as u64, aligned });
        }
        Ok(())
    }

    /// Input `i`'s bytes in the arena, to fill before [`Runtime::invoke`].
    pub fn input_mut<'r>(&self, arena: &'r mut [u8], i: usize) -> Result<&'r mut [u8], RtError> {
        self.check_arena(arena)?;
        let t = self.inputs().nth(i).ok_or(RtError::NoSuchIo { index: i as u32 })?.tensor;
        let (o, n) = (t.offset as usize, t.nbytes as usize);
        Ok(&mut arena[o..o + n])
    }

    /// Output `i`'s bytes after [`Runtime::invoke`] (in the arena, or in the weights for a
    /// constant output).
    pub fn output<'r>(&self, arena: &'r [u8], i: usize) -> Result<&'r [u8], RtError>
    where
        'a: 'r,
    {
        self.check_arena(arena)?;
        let t = self.outputs().nth(i).ok_or(RtError::NoSuchIo { index: i as u32 })?.tensor;
        let (o, n) = (t.offset as usize, t.nbytes as usize);
        Ok(match t.storage {
            Storage::Arena => &arena[o..o + n],
            Storage::Weights => self.model.weight_bytes(&t).unwrap_or(&[]),
        })
    }

    /// For an output whose length depends on the data (a SIGNATURE record of kind Bounded,
    /// e.g. NonMaxSuppression): `Some((axis, count))` after [`Runtime::invoke`], the valid
    /// length along `axis` (the values are the first elements of [`Runtime::output`]'s bytes,
    /// contiguous in that shape). `None` for outputs of static shape.
    pub fn output_count(&self, arena: &[u8], i: usize) -> Result<Option<(usize, usize)>, RtError> {
        self.check_arena(arena)?;
        let t = self.outputs().nth(i).ok_or(RtError::NoSuchIo { index: i as u32 })?.tensor;
        let Some(sig) = self.model.output_signature(i).filter(|s| s.kind == mote_format::OutputKind::Bounded) else {
            return Ok(None);
        };
        let c = sig.keys;
        let bytes = match c.storage {
            Storage::Arena => arena.get(c.offset as usize..c.offset as usize + 8),
            Storage::Weights => self.model.weight_bytes(&c).and_then(|b| b.get(..8)),
        };
        let count = bytes.map_or(0, |b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
        let axis = sig.axis as usize;
        let cap = t.dims().get(axis).map_or(0, |&d| d as usize);
        Ok(Some((axis, count.clamp(0, cap as i64) as usize)))
    }

    /// Runs every step on the calling thread. Never allocates; the arena holds the inputs (see
    /// [`Runtime::input_mut`]) and receives every intermediate and output.
    pub fn invoke(&self, arena: &mut [u8]) -> Result<(), RtError> {
        self.invoke_with(arena, &Sequential, &mut |_| {})
    }

    /// [`Runtime::invoke`] with the heavy steps split into tasks on `par` (e.g. the `std`
    /// layer's [`ThreadPool`](crate::pool::ThreadPool)). The outputs are bit-identical for
    /// every thread count.
    pub fn invoke_par(&self, arena: &mut [u8], par: &dyn Parallel) -> Result<(), RtError> {
        self.invoke_with(arena, par, &mut |_| {})
    }

    /// [`Runtime::invoke`], calling `observe` before and after each step (profiling).
    pub fn invoke_observed(&self, arena: &mut [u8], observe: &mut dyn FnMut(Event)) -> Result<(), RtError> {
        self.invoke_with(arena, &Sequential, observe)
    }

    /// [`Runtime::invoke_par`], calling `observe` before and after each step (profiling).
    pub fn invoke_with(
        &self,
        arena: &mut [u8],
        par: &dyn Parallel,
        observe: &mut dyn FnMut(Event),
    ) -> Result<(), RtError> {
        self.check_arena(arena)?;
        if par.threads() > 1 && par.scratch_floats().saturating_mul(4) < self.thread_scratch {
            let got = par.scratch_floats().saturating_mul(4) as u64;
            return Err(RtError::ThreadScratch { needed: self.thread_scratch as u64, got });
        }
        // A failure left from another use of `par` is not this run's.
        let _ = par.take_failure();
        let mem = Mem::new(arena, self.model.weights());
        let mut next = 0;
        while next < self.model.step_count() {
            let i = next;
            next += 1;
            next += match self.prepared(i) {
                Some((io, step, scratch)) => self.run_step(i, &io, step, scratch, &mem, par, observe)?,
                None => self.decode_and_run(i, &mem, par, observe)?,
            };
        }
        Ok(())
    }

    /// Without the steps kept from load: decodes step `i` and runs it (the decoded step stays
    /// in this frame, not copied).
    fn decode_and_run(
        &self,
        i: usize,
        mem: &Mem<'_>,
        par: &dyn Parallel,
        observe: &mut dyn FnMut(Event),
    ) -> Result<usize, RtError> {
        let err = |fault| RtError::Step { step: i as u32, fault };
        let s = self.model.step(i).ok_or(err(StepFault::Arity))?;
        // Borrowed from the results, not moved out of them: a move copies kilobytes of stack.
        let io = Io::new(&self.model, &s);
        let io = match &io {
            Ok(io) => io,
            Err(fault) => return Err(err(*fault)),
        };
        let step = Step::decode_in::<S>(&s, io);
        let step = match &step {
            Ok(step) => step,
            Err(fault) => return Err(err(*fault)),
        };
        self.run_step(i, io, step, scratch_given::<S>(step, self.model.plan().scratch_size), mem, par, observe)
    }

    /// Runs step `i`; returns how many of the following steps to skip.
    #[allow(clippy::too_many_arguments)]
    fn run_step(
        &self,
        i: usize,
        io: &Io<'_>,
        step: &Step,
        need: usize,
        mem: &Mem<'_>,
        par: &dyn Parallel,
        observe: &mut dyn FnMut(Event),
    ) -> Result<usize, RtError> {
        let scratch: &mut [f32] = if need > 0 {
            // SAFETY: load checked the region lies in the plan's scratch (inside the arena,
            // 8-byte aligned) and overlaps no tensor of this step.
            unsafe { mem.scratch(self.model.plan().scratch_offset as usize, need) }
        } else {
            &mut []
        };
        observe(Event::Begin(i as u32));
        let ran = step.run_in::<S>(mem, io, scratch, self.cpu, par);
        if let Some(fault) = par.take_failure() {
            return Err(RtError::Task { step: i as u32, fault });
        }
        ran.map_err(|f| match f {
            RunFault::Data(what) => RtError::Data { step: i as u32, what },
            RunFault::StringCapacity { output } => {
                let tensor = self.model.step(i).and_then(|s| s.output(output)).unwrap_or(u32::MAX);
                let capacity = io.output(output).ok().and_then(|t| t.string_capacity()).unwrap_or(0);
                RtError::StringCapacity { step: i as u32, tensor, capacity }
            }
        })?;
        // `Branch` / `Jump`: the steps of the branch not taken are skipped.
        let skip = step.skip(mem, io);
        observe(Event::End(i as u32));
        Ok(skip)
    }
}

impl<'a, S> Runtime<'a, S> {
    /// Step `i` as decoded at load, when the runtime keeps them: its tensors (resolved), its
    /// parameters and the scratch it runs with.
    #[cfg(feature = "alloc")]
    fn prepared(&self, i: usize) -> Option<(Io<'_>, &Step, usize)> {
        self.prepared.get(i).map(|k| (k.p.io.with_resolved(&k.tensors), &k.p.step, k.p.scratch))
    }

    /// Step `i` as decoded at load, when the runtime keeps them (never without an allocator).
    #[cfg(not(feature = "alloc"))]
    fn prepared(&self, _: usize) -> Option<(Io<'_>, &Step, usize)> {
        None
    }
}

/// The scratch bytes a step runs with in a plan's scratch of `planned` bytes (load checked
/// `scratch_min_bytes <= planned`): all it can use, up to what the plan has, in whole i32s.
fn scratch_given<S: OpSet>(step: &Step, planned: u64) -> usize {
    let planned = usize::try_from(planned).unwrap_or(usize::MAX) & !3;
    step.scratch_bytes_in::<S>().min(planned.max(step.scratch_min_bytes_in::<S>()))
}

/// Validates step `i` (its tensors, parameters, aliasing, scratch region and constant tables)
/// and hands it to `keep` as decoded; returns the most scratch it uses. Out of line, so the
/// decoded step is on the stack only while this runs, not through all of `load`.
#[inline(never)]
fn check_step<'a, S: OpSet>(
    model: &Model<'a>,
    i: usize,
    scratch: (u64, u64),
    keep: &mut dyn FnMut(Prepared<'a>),
) -> Result<usize, StepFault> {
    let s = model.step(i).ok_or(StepFault::Arity)?;
    let io = Io::new(model, &s)?;
    let step = Step::decode_in::<S>(&s, &io)?;
    // A skip must end inside the step list.
    if step.skip_span().is_some_and(|n| n >= model.step_count() - i) {
        return Err(StepFault::Attrs);
    }
    check_aliasing(&step, &io)?;
    let given = scratch_given::<S>(&step, scratch.1);
    let min = step.scratch_min_bytes_in::<S>() as u64;
    if min > 0 {
        if min > scratch.1 || !scratch.0.is_multiple_of(8) {
            return Err(StepFault::Scratch);
        }
        let region = (scratch.0, given as u64);
        let clash = io
            .inputs()
            .map(|(_, t)| t)
            .chain(io.outputs())
            .any(|t| t.storage == Storage::Arena && overlaps(region, (t.offset, t.nbytes)));
        if clash {
            return Err(StepFault::Aliasing);
        }
    }
    // Constant tables the kernels trust (Resize indices, tree links): checked once here.
    step.check_constants_in::<S>(model, &io)?;
    keep(Prepared { io, step, scratch: given });
    Ok(step.scratch_bytes_in::<S>())
}

/// The scratch bytes step `i` of `model` uses at most (the compiler sizes the plan's scratch
/// with it for a fast run) and the fewest it runs in (for a small one, e.g. a
/// microcontroller's): `(min, max)`.
pub fn step_scratch(model: &Model<'_>, i: usize) -> Result<(usize, usize), RtError> {
    let err = |fault| RtError::Step { step: i as u32, fault };
    let s = model.step(i).ok_or(err(StepFault::Arity))?;
    let io = Io::new(model, &s).map_err(err)?;
    let step = Step::decode(&s, &io).map_err(err)?;
    Ok((step.scratch_min_bytes(), step.scratch_bytes()))
}

/// Multiply-accumulates of step `i` (for the profiler).
pub fn step_macs(model: &Model<'_>, i: usize) -> Result<u64, RtError> {
    let err = |fault| RtError::Step { step: i as u32, fault };
    let s = model.step(i).ok_or(err(StepFault::Arity))?;
    let io = Io::new(model, &s).map_err(err)?;
    Ok(Step::decode(&s, &io).map_err(err)?.macs())
}

/// Outputs live in the arena, overlap nothing else of the step, except output 0 being exactly
/// input 0 for ops that work in place (same element type).
fn check_aliasing(step: &Step, io: &Io<'_>) -> Result<(), StepFault> {
    let region = |t: &TensorRef<'_>| (t.offset, t.nbytes);
    for (k, o) in io.outputs().enumerate() {
        if o.storage != Storage::Arena {
            return Err(StepFault::Aliasing);
        }
        for (k2, o2) in io.outputs().enumerate() {
            if k2 != k && overlaps(region(&o), region(&o2)) {
                return Err(StepFault::Aliasing);
            }
        }
        for (i, t) in io.inputs() {
            if t.storage != Storage::Arena || !overlaps(region(&o), region(&t)) {
                continue;
            }
            let in_place = k == 0 && i == 0 && step.in_place() && same(&o, &t) && o.dtype == t.dtype;
            let read_again =
                io.inputs().any(|(j, u)| j != i && u.storage == Storage::Arena && overlaps(region(&o), region(&u)));
            if !in_place || read_again {
                return Err(StepFault::Aliasing);
            }
        }
    }
    Ok(())
}
